"""scikit-learn pipelines: the linear model, random forest, extra trees, HGB and the dummy.

Each is a ``Pipeline`` of the preprocessing of :mod:`foldwise.models.encoding` (fitted on the
training part only) and the estimator. HistGradientBoosting stops on a validation part after
``early_stopping_rounds`` rounds without improvement and is refit on exactly the best number
of rounds; every HGB fit records its learning curve. Saved as skops (loading runs no code).

Extra trees (Geurts et al. 2006) draw split thresholds at random instead of searching them:
cheaper than a random forest, smoother, and a different enough view of the data to earn a
weight in an ensemble beside boosted trees (AutoGluon and FLAML ship both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from foldwise.errors import FoldwiseError
from foldwise.metrics import Task
from foldwise.models.backend import Backend, Fitted
from foldwise.models.encoding import preprocessor
from foldwise.models.persistence import PIPELINE_FILE
from foldwise.models.safe_io import dump_pipeline, load_pipeline
from foldwise.models.settings import ModelSpec, invalid_parameter

try:
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # a private module; without it only the key naming is lost
    InvalidParameterError = TypeError

SKLEARN_NAMES = (
    "logistic_regression",
    "random_forest",
    "extra_trees",
    "hist_gradient_boosting",
    "dummy",
)
# Forests predict with one thread: parallel prediction sums the trees in thread order, which
# changes the last bits; one thread keeps predictions bit-identical across runs and processes.
_FORESTS = frozenset({"random_forest", "extra_trees"})
# HGB's internal losses are the "half" variants; name what the stored curve really holds.
_HGB_LOSS_NAMES = {
    "squared_error": "half_squared_error",
    "poisson": "half_poisson_deviance",
    "gamma": "half_gamma_deviance",
}


def default_estimator(name: str, task: Task, seed: int) -> BaseEstimator:
    """The unfitted estimator of ``name`` with foldwise's defaults (before the settings)."""
    classify = task != "regression"
    if name == "logistic_regression":
        if classify:
            return LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
        return Ridge(alpha=1.0, random_state=seed)
    if name == "random_forest":
        forest = RandomForestClassifier if classify else RandomForestRegressor
        return forest(n_estimators=300, min_samples_leaf=2, n_jobs=-1, random_state=seed)
    if name == "extra_trees":
        trees = ExtraTreesClassifier if classify else ExtraTreesRegressor
        # AutoGluon's (300 trees, leaves capped at 15,000 to bound memory on large tables,
        # half the features per split as in its zero-shot portfolio); no bootstrap.
        return trees(
            n_estimators=300, max_leaf_nodes=15000, max_features=0.5, n_jobs=-1, random_state=seed
        )
    if name == "hist_gradient_boosting":
        hgb = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return hgb(max_iter=500, learning_rate=0.05, random_state=seed)
    if name == "dummy":
        if classify:
            return DummyClassifier(strategy="prior", random_state=seed)
        return DummyRegressor(strategy="mean")
    raise FoldwiseError(f"model.name {name!r} is not a scikit-learn model")


class SklearnBackend(Backend):
    """One scikit-learn registry model as a preprocessing + estimator pipeline."""

    model_file = PIPELINE_FILE

    def __init__(self, name: str) -> None:
        super().__init__(name)
        if name == "hist_gradient_boosting":
            self.early_stopping_keys = frozenset(
                {"early_stopping", "n_iter_no_change", "validation_fraction", "scoring"}
            )
            self.categorical_keys = frozenset({"categorical_features"})

    @property
    def supports_early_stopping(self) -> bool:
        return self.name == "hist_gradient_boosting"

    def setting_keys(self, task: Task) -> tuple[str, list[str]]:
        estimator = default_estimator(self.name, task, 0)
        return type(estimator).__name__, list(estimator.get_params(deep=False))

    def estimator(self, spec: ModelSpec) -> BaseEstimator:
        """The unfitted estimator with defaults, then the checked settings."""
        estimator = default_estimator(self.name, spec.task, spec.seed)
        self.check_keys(spec.task, spec.settings)
        return estimator.set_params(**spec.settings)

    def check(self, spec: ModelSpec) -> None:
        self.estimator(spec)

    def check_values(self, task: Task, settings: dict[str, Any]) -> None:
        estimator = default_estimator(self.name, task, 0).set_params(**settings)
        validate = getattr(estimator, "_validate_params", None)
        if validate is None:
            return
        try:
            validate()
        except InvalidParameterError as exc:
            raise invalid_parameter(self.name, exc) from None

    def with_rounds(self, settings: dict[str, Any], n: int) -> dict[str, Any]:
        if not self.supports_early_stopping:
            return super().with_rounds(settings, n)
        return {**{k: v for k, v in settings.items() if k != "max_iter"}, "max_iter": int(n)}

    def fit(
        self,
        spec: ModelSpec,
        table: pd.DataFrame,
        y: np.ndarray,
        validation: tuple[pd.DataFrame, np.ndarray] | None,
        n_classes: int | None,
    ) -> Fitted:
        estimator = self.estimator(spec)
        encoder = preprocessor(spec, table, y, estimator)
        fitted = Fitted(None)
        try:
            matrix = table if encoder is None else encoder.fit_transform(table, y)
            if self.supports_early_stopping and encoder is not None:
                fitted = _fit_hgb(spec, estimator, encoder, matrix, y, validation)
                estimator = fitted.estimator
            else:
                estimator.fit(matrix, y)
        except InvalidParameterError as exc:
            raise invalid_parameter(self.name, exc) from None
        if self.name in _FORESTS:
            estimator.set_params(n_jobs=1)
        steps: list[tuple[str, Any]] = [("model", estimator)]
        if encoder is not None:
            steps.insert(0, ("preprocess", encoder))
        return Fitted(
            Pipeline(steps), fitted.n_iterations, fitted.best_iteration, fitted.learning_curve
        )

    def save(self, estimator: Any, directory: Path, params: dict[str, Any]) -> None:
        dump_pipeline(estimator, directory / PIPELINE_FILE)

    def load(self, directory: Path, spec: ModelSpec) -> Any:
        return load_pipeline(directory / PIPELINE_FILE)


def _fit_hgb(
    spec: ModelSpec,
    estimator: BaseEstimator,
    encoder: ColumnTransformer,
    matrix: Any,
    y: np.ndarray,
    validation: tuple[pd.DataFrame, np.ndarray] | None,
) -> Fitted:
    n_native = sum(
        len(cols) for label, _, cols in encoder.transformers if label == "native_categories"
    )
    mask = np.zeros(matrix.shape[1], dtype=bool)
    mask[:n_native] = True
    estimator.set_params(categorical_features=mask if n_native else None, scoring="loss")
    loss_param = str(estimator.get_params()["loss"])
    metric = _HGB_LOSS_NAMES.get(loss_param, loss_param)
    if validation is None:
        # "Early stopping" on the training rows with more patience than rounds never stops
        # but makes HGB record the training loss of every round.
        max_iter = int(estimator.get_params()["max_iter"])
        estimator.set_params(
            early_stopping=True, validation_fraction=None, n_iter_no_change=max_iter + 1
        )
        estimator.fit(matrix, y)
        train = [-float(s) for s in estimator.train_score_[1:]]
        curve = {"train": train, "validation": None, "metric": metric}
        return Fitted(estimator, int(estimator.n_iter_), None, curve)
    table_val, y_val = validation
    estimator.set_params(early_stopping=True, n_iter_no_change=spec.early_stopping_rounds)
    estimator.fit(matrix, y, X_val=encoder.transform(table_val), y_val=y_val)
    # sklearn stores scores (negative loss); index 0 is the model before any round.
    train = [-float(s) for s in estimator.train_score_[1:]]
    scores = [-float(s) for s in estimator.validation_score_[1:]]
    best = int(np.argmin(scores)) + 1
    if best < estimator.n_iter_:
        # HGB keeps the rounds after the best one; refit so the model matches best_iteration.
        estimator = clone(estimator).set_params(max_iter=best, early_stopping=False)
        estimator.fit(matrix, y)
    curve = {"train": train, "validation": scores, "metric": metric}
    return Fitted(estimator, int(estimator.n_iter_), best, curve)
