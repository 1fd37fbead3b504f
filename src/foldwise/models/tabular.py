"""The model wrapper: one scikit-learn-style estimator that owns preprocessing, model and rounds.

:class:`TabularModel` takes the typed feature frame of :func:`feature_frame` and fits its
preprocessing inside :meth:`TabularModel.fit` only, so within cross-validation every encoder,
imputer and scaler sees the training fold and nothing else. What differs between libraries
(building the estimator from the settings, early-stopped fits and learning curves, the saved
files) is delegated to the registry name's backend (:func:`~foldwise.models.registry.backend_for`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from foldwise.errors import FoldwiseError
from foldwise.metrics import TASKS, Task
from foldwise.models.backend import Backend
from foldwise.models.frame import feature_frame, model_frame
from foldwise.models.persistence import read_state, write_state
from foldwise.models.registry import EARLY_STOPPING_MODELS, backend_for
from foldwise.models.settings import ModelSpec


class TabularModel(BaseEstimator):
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

    @property
    def backend(self) -> Backend:
        """The library backend of this model's registry name."""
        return backend_for(self.name)

    def spec(self) -> ModelSpec:
        """The parameters a backend builds and fits from."""
        return ModelSpec(
            name=self.name,
            task=self.task,
            features=list(self.features),
            settings=dict(self.settings or {}),
            seed=self.seed,
            max_onehot_categories=self.max_onehot_categories,
            early_stopping_rounds=self.early_stopping_rounds,
        )

    def check_settings(self) -> None:
        """Raise FoldwiseError for an unknown model, task, or setting; fits nothing."""
        backend = self.backend
        if self.task not in TASKS:
            raise FoldwiseError(f"task {self.task!r} is not one of {', '.join(TASKS)}")
        backend.check(self.spec())

    def with_iterations(self, n: int) -> TabularModel:
        """An unfitted copy that trains exactly ``n`` boosting rounds."""
        if not self.supports_early_stopping:
            raise ValueError(f"model {self.name!r} has no boosting rounds to fix")
        if int(n) < 1:
            raise ValueError(f"the number of rounds must be at least 1, got {n}")
        copy = clone(self)
        copy.set_params(settings=self.backend.with_rounds(dict(self.settings or {}), int(n)))
        return copy

    def model_input(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Raw rows as the fitted estimator's input (the model frame)."""
        check_is_fitted(self, "estimator_")
        return model_frame(feature_frame(frame, self.features), self.features)

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
        table = model_frame(feature_frame(X, self.features), self.features)
        y = self._check_target(y, len(table))
        validation = None
        if X_val is not None and y_val is not None and self.supports_early_stopping:
            table_val = model_frame(feature_frame(X_val, self.features), self.features)
            validation = (table_val, self._check_target(y_val, len(table_val)))
        self._set_classes(y, None if validation is None else validation[1])
        fitted = self.backend.fit(
            self.spec(), table, y, validation, getattr(self, "n_classes_", None)
        )
        self.estimator_ = fitted.estimator
        self.best_iteration_: int | None = fitted.best_iteration
        self.learning_curve_: dict[str, Any] | None = fitted.learning_curve
        self.n_iterations_: int | None = fitted.n_iterations
        self.stopped_by_time_: int | None = fitted.stopped_by_time  # time_budget_s cut it
        self._set_feature_names()
        return self

    def _set_feature_names(self) -> None:
        self.feature_names_in_ = np.array([str(f["name"]) for f in self.features], dtype=object)
        self.n_features_in_ = len(self.features)

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

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities of shape (n, k), one column per class code."""
        return self.proba_of_model_input(self.model_input(X))

    def proba_of_model_input(self, frame: pd.DataFrame) -> np.ndarray:
        """:meth:`predict_proba` of rows already in model form (:meth:`model_input`)."""
        if not self.is_classifier:
            raise ValueError("predict_proba is for classification; this model is a regressor")
        check_is_fitted(self, "estimator_")
        proba = np.asarray(self.estimator_.predict_proba(frame), dtype="float64")
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
        return self.values_of_model_input(self.model_input(X))

    def values_of_model_input(self, frame: pd.DataFrame) -> np.ndarray:
        """A regressor's :meth:`predict` of rows already in model form (:meth:`model_input`)."""
        if self.is_classifier:
            raise ValueError("values_of_model_input is for regression; use proba_of_model_input")
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict(frame), dtype="float64").reshape(-1)

    # ----------------------------------------------------------------- files

    def save(self, directory: Path) -> None:
        """Write the fitted model: the backend's native file(s) plus ``model.json``."""
        check_is_fitted(self, "estimator_")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        backend = self.backend
        params = self.get_params(deep=False)
        backend.save(self.estimator_, directory, params)
        fitted = {
            "n_classes": getattr(self, "n_classes_", None),
            "best_iteration": self.best_iteration_,
            "n_iterations": self.n_iterations_,
            "learning_curve": self.learning_curve_,
        }
        write_state(directory, params, fitted, backend.versions())

    @classmethod
    def load(cls, directory: Path) -> TabularModel:
        """Read a model written by :meth:`save`."""
        directory = Path(directory)
        state = read_state(directory)
        model = cls(**state["params"])
        model.estimator_ = model.backend.load(directory, model.spec())
        fitted = state["fitted"]
        model.best_iteration_ = fitted["best_iteration"]
        model.n_iterations_ = fitted["n_iterations"]
        model.learning_curve_ = fitted["learning_curve"]
        if fitted["n_classes"] is not None:
            model.n_classes_ = int(fitted["n_classes"])
            model.classes_ = np.arange(model.n_classes_)
        model._set_feature_names()
        return model


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
