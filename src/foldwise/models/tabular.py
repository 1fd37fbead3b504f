"""The model wrapper: one scikit-learn-style estimator that owns preprocessing, model and rounds.

:class:`TabularModel` takes the typed feature frame of :func:`feature_frame` and fits its
preprocessing inside :meth:`TabularModel.fit` only, so within cross-validation every encoder,
imputer and scaler sees the training fold and nothing else. Its parts live beside it: the
estimator of each registry name (:mod:`.registry`), the encoding (:mod:`.encoding`), the
early-stopped fits (:mod:`.fitting`) and the saved files (:mod:`.persistence`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from foldwise.errors import FoldwiseError
from foldwise.metrics import TASKS, Task
from foldwise.models.encoding import EncodingMixin
from foldwise.models.fitting import FittingMixin
from foldwise.models.frame import _model_frame, feature_frame
from foldwise.models.persistence import PersistenceMixin
from foldwise.models.registry import (
    _CATBOOST_ALIASES,
    _ITERATION_KEY,
    EARLY_STOPPING_MODELS,
    MODEL_NAMES,
    EstimatorMixin,
)


class TabularModel(EstimatorMixin, EncodingMixin, FittingMixin, PersistenceMixin, BaseEstimator):
    """One registry model with its preprocessing, fitted together on raw feature frames.

    ``n_classes`` is the number of classes of a classification task; when ``None`` it is taken
    from the highest class code seen in ``fit`` (give it when a fold may lack the last class).
    """

    def __init__(
        self,
        name: str,
        task: Task,
        features: list[dict],
        settings: dict | None = None,
        seed: int = 0,
        max_onehot_categories: int = 20,
        early_stopping_rounds: int = 50,
        n_classes: int | None = None,
    ) -> None:
        self.name = name
        self.task = task
        self.features = features
        self.settings = settings
        self.seed = seed
        self.max_onehot_categories = max_onehot_categories
        self.early_stopping_rounds = early_stopping_rounds
        self.n_classes = n_classes

    # ----------------------------------------------------------------- public helpers

    @property
    def supports_early_stopping(self) -> bool:
        return self.name in EARLY_STOPPING_MODELS

    @property
    def is_classifier(self) -> bool:
        return self.task != "regression"

    def check_settings(self) -> None:
        """Raise FoldwiseError for an unknown model, task, or setting; fits nothing."""
        if self.name not in MODEL_NAMES:
            raise FoldwiseError(
                f"model.name {self.name!r} is not known; allowed: {', '.join(MODEL_NAMES)}"
            )
        if self.task not in TASKS:
            raise FoldwiseError(f"task {self.task!r} is not one of {', '.join(TASKS)}")
        if self.name == "catboost":
            self._catboost_params()
        else:
            self._sklearn_estimator()

    def with_iterations(self, n: int) -> TabularModel:
        """An unfitted copy that trains exactly ``n`` boosting rounds."""
        if not self.supports_early_stopping:
            raise ValueError(f"model {self.name!r} has no boosting rounds to fix")
        if int(n) < 1:
            raise ValueError(f"the number of rounds must be at least 1, got {n}")
        key = _ITERATION_KEY[self.name]
        aliases = _CATBOOST_ALIASES["iterations"] if self.name == "catboost" else {key}
        settings = {k: v for k, v in (self.settings or {}).items() if k not in aliases}
        settings[key] = int(n)
        copy = clone(self)
        copy.set_params(settings=settings)
        return copy

    # ----------------------------------------------------------------- fitting

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        *,
        X_val: pd.DataFrame | None = None,
        y_val: np.ndarray | None = None,
    ) -> TabularModel:
        """Fit preprocessing and model on ``X``; early-stop on (X_val, y_val) when supported.

        ``best_iteration_`` is the number of rounds early stopping chose (the fitted model keeps
        exactly that many), or ``None`` when no early stopping ran. ``learning_curve_`` holds the
        loss (lower is better) per round for boosting models, ``validation`` being ``None``
        without a validation part.
        """
        self.check_settings()
        if not self.features:
            raise FoldwiseError("the schema lists no features; a model needs at least one")
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val and y_val must be given together")
        early_stop = X_val is not None and self.supports_early_stopping
        table = _model_frame(feature_frame(X, self.features), self.features)
        y = self._check_target(y, len(table))
        table_val = None
        if early_stop:
            table_val = _model_frame(feature_frame(X_val, self.features), self.features)
            y_val = self._check_target(y_val, len(table_val))
        self._set_classes(y, y_val if early_stop else None)

        self.best_iteration_: int | None = None
        self.learning_curve_: dict[str, Any] | None = None
        self.n_iterations_: int | None = None
        if self.name == "catboost":
            self._fit_catboost(table, y, table_val, y_val)
        else:
            self._fit_sklearn(table, y, table_val, y_val)
        self.feature_names_in_ = np.array([str(f["name"]) for f in self.features], dtype=object)
        self.n_features_in_ = len(self.features)
        return self

    def _check_target(self, y: Any, n_rows: int) -> np.ndarray:
        values = np.asarray(y)
        if values.ndim != 1 or len(values) != n_rows:
            raise ValueError(f"y has shape {values.shape}; expected ({n_rows},)")
        if n_rows == 0:
            raise FoldwiseError("cannot fit a model on zero rows")
        if not self.is_classifier:
            return values.astype("float64")
        codes = values.astype("int64")
        if not np.array_equal(codes, values) or codes.min() < 0:
            raise ValueError("classification targets must be class codes 0..k-1")
        return codes

    def _set_classes(self, y: np.ndarray, y_val: np.ndarray | None) -> None:
        if not self.is_classifier:
            return
        if len(np.unique(y)) < 2:
            raise FoldwiseError(
                "the training rows hold a single class of the target; a classifier needs two"
            )
        seen = max(int(y.max()), int(y_val.max()) if y_val is not None else 0) + 1
        minimum = {"binary": 2, "multiclass": 3}[self.task]
        k = self.n_classes if self.n_classes is not None else max(seen, minimum)
        if seen > k:
            raise ValueError(f"class code {seen - 1} is out of range for {k} classes")
        self.n_classes_ = int(k)
        self.classes_ = np.arange(k)

    # ----------------------------------------------------------------- predicting

    def _model_input(self, frame: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "estimator_")
        return _model_frame(feature_frame(frame, self.features), self.features)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities of shape (n, k), one column per class code."""
        if not self.is_classifier:
            raise ValueError("predict_proba is for classification; this model is a regressor")
        proba = np.asarray(self.estimator_.predict_proba(self._model_input(X)), dtype="float64")
        known = np.asarray(self.estimator_.classes_).astype("int64")
        if proba.shape[1] == self.n_classes_ and np.array_equal(known, self.classes_):
            return proba
        full = np.zeros((proba.shape[0], self.n_classes_), dtype="float64")
        full[:, known] = proba
        return full

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Class codes (argmax of the probabilities) for classification, values for regression."""
        if self.is_classifier:
            return self.predict_proba(X).argmax(axis=1).astype("int64")
        values = self.estimator_.predict(self._model_input(X))
        return np.asarray(values, dtype="float64").reshape(-1)


def build_model(
    name: str,
    *,
    task: Task,
    features: list[dict],
    settings: dict | None = None,
    seed: int = 0,
    max_onehot_categories: int = 20,
    early_stopping_rounds: int = 50,
    n_classes: int | None = None,
) -> TabularModel:
    """An unfitted registry model whose name and settings were checked."""
    model = TabularModel(
        name=name,
        task=task,
        features=features,
        settings=dict(settings or {}),
        seed=seed,
        max_onehot_categories=max_onehot_categories,
        early_stopping_rounds=early_stopping_rounds,
        n_classes=n_classes,
    )
    model.check_settings()
    return model
