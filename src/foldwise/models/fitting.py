"""Fitting a :class:`~foldwise.models.TabularModel`'s estimator, early-stopped when possible.

CatBoost and HistGradientBoosting stop on a validation part after
``early_stopping_rounds`` rounds without improvement and keep exactly the best number of
rounds; every boosting fit records its learning curve (the loss per round).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from catboost import CatBoostError
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from foldwise.errors import FoldwiseError
from foldwise.models.registry import InvalidParameterError, _invalid_parameter

# HGB's internal losses are the "half" variants; name what the stored curve really holds.
_HGB_LOSS_NAMES = {
    "squared_error": "half_squared_error",
    "poisson": "half_poisson_deviance",
    "gamma": "half_gamma_deviance",
}


class FittingMixin:
    """The fit of the estimator (CatBoost, or a scikit-learn pipeline) on the model frame.

    Sets ``estimator_``, ``n_iterations_`` and, for boosting models, ``learning_curve_`` and
    (with a validation part) ``best_iteration_``.
    """

    name: str
    features: list[dict]
    early_stopping_rounds: int

    def _fit_catboost(
        self,
        table: pd.DataFrame,
        y: np.ndarray,
        table_val: pd.DataFrame | None,
        y_val: np.ndarray | None,
    ) -> None:
        model = self._catboost_class()(**self._catboost_params())
        cat_features = [str(f["name"]) for f in self.features if f["kind"] == "categorical"]
        fit_args: dict[str, Any] = {"cat_features": cat_features}
        if table_val is not None:
            fit_args.update(
                eval_set=(table_val, y_val),
                early_stopping_rounds=self.early_stopping_rounds,
                use_best_model=True,
            )
        try:
            model.fit(table, y, **fit_args)
        except CatBoostError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
            raise FoldwiseError(
                f"CatBoost could not train (check the model.catboost settings): {first}"
            ) from None
        evals = model.get_evals_result()
        learn = evals.get("learn", {})
        metric = next(iter(learn), None)
        if table_val is not None:
            self.best_iteration_ = int(model.get_best_iteration()) + 1
        validation = evals.get("validation", {}).get(metric) if table_val is not None else None
        self.learning_curve_ = {
            "train": [float(v) for v in learn.get(metric, [])],
            "validation": None if validation is None else [float(v) for v in validation],
            "metric": metric,
        }
        self.n_iterations_ = int(model.tree_count_)
        self.estimator_ = model

    def _fit_sklearn(
        self,
        table: pd.DataFrame,
        y: np.ndarray,
        table_val: pd.DataFrame | None,
        y_val: np.ndarray | None,
    ) -> None:
        estimator = self._sklearn_estimator()
        preprocessor = self._preprocessor(table, y, estimator)
        try:
            matrix = table if preprocessor is None else preprocessor.fit_transform(table, y)
            if self.name == "hist_gradient_boosting":
                estimator = self._fit_hgb(estimator, preprocessor, matrix, y, table_val, y_val)
            else:
                estimator.fit(matrix, y)
        except InvalidParameterError as exc:
            raise _invalid_parameter(self.name, exc) from None
        if self.name == "random_forest":
            # Parallel prediction sums the trees in thread order, which changes the last bits;
            # one thread keeps predictions bit-identical across runs and processes.
            estimator.set_params(n_jobs=1)
        steps = [("model", estimator)]
        if preprocessor is not None:
            steps.insert(0, ("preprocess", preprocessor))
        self.estimator_ = Pipeline(steps)

    def _fit_hgb(
        self,
        estimator: BaseEstimator,
        preprocessor: ColumnTransformer,
        matrix: np.ndarray,
        y: np.ndarray,
        table_val: pd.DataFrame | None,
        y_val: np.ndarray | None,
    ) -> BaseEstimator:
        n_native = sum(
            len(cols)
            for label, _, cols in preprocessor.transformers
            if label == "native_categories"
        )
        mask = np.zeros(matrix.shape[1], dtype=bool)
        mask[:n_native] = True
        estimator.set_params(categorical_features=mask if n_native else None, scoring="loss")
        loss_param = str(estimator.get_params()["loss"])
        metric = _HGB_LOSS_NAMES.get(loss_param, loss_param)
        if table_val is None:
            # "Early stopping" on the training rows with more patience than rounds never stops
            # but makes HGB record the training loss of every round.
            max_iter = int(estimator.get_params()["max_iter"])
            estimator.set_params(
                early_stopping=True, validation_fraction=None, n_iter_no_change=max_iter + 1
            )
            estimator.fit(matrix, y)
            self.learning_curve_ = {
                "train": [-float(s) for s in estimator.train_score_[1:]],
                "validation": None,
                "metric": metric,
            }
            self.n_iterations_ = int(estimator.n_iter_)
            return estimator
        estimator.set_params(early_stopping=True, n_iter_no_change=self.early_stopping_rounds)
        estimator.fit(matrix, y, X_val=preprocessor.transform(table_val), y_val=y_val)
        # sklearn stores scores (negative loss); index 0 is the model before any round.
        train = [-float(s) for s in estimator.train_score_[1:]]
        validation = [-float(s) for s in estimator.validation_score_[1:]]
        best = int(np.argmin(validation)) + 1
        self.best_iteration_ = best
        self.learning_curve_ = {"train": train, "validation": validation, "metric": metric}
        if best < estimator.n_iter_:
            # HGB keeps the rounds after the best one; refit so the model matches best_iteration_.
            estimator = clone(estimator).set_params(max_iter=best, early_stopping=False)
            estimator.fit(matrix, y)
        self.n_iterations_ = int(estimator.n_iter_)
        return estimator
