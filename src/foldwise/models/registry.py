"""The model registry: the model names, their settings and the estimators they construct.

Settings from params.yaml are checked against the estimator's own parameters (an unknown key
names the closest real one) and keys foldwise sets itself (early stopping, categorical
columns) are refused. :class:`EstimatorMixin` gives :class:`~foldwise.models.TabularModel`
the unfitted estimator of its name, task, seed and settings.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

from catboost import CatBoostClassifier, CatBoostRegressor
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge

try:
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # a private module; without it only the key naming is lost
    InvalidParameterError = TypeError  # type: ignore[misc,assignment]

from foldwise.errors import FoldwiseError
from foldwise.metrics import Task

MODEL_NAMES = (
    "catboost",
    "logistic_regression",
    "random_forest",
    "hist_gradient_boosting",
    "dummy",
)
EARLY_STOPPING_MODELS = frozenset({"catboost", "hist_gradient_boosting"})

# CatBoost accepts several names for one parameter and rejects two names set at once, so a
# default is only added when the user set none of its aliases.
_CATBOOST_ALIASES: dict[str, frozenset[str]] = {
    "iterations": frozenset({"iterations", "num_boost_round", "n_estimators", "num_trees"}),
    "learning_rate": frozenset({"learning_rate", "eta"}),
    "random_seed": frozenset({"random_seed", "random_state"}),
    "thread_count": frozenset({"thread_count"}),
    "verbose": frozenset({"verbose", "logging_level", "silent", "verbose_eval"}),
    "allow_writing_files": frozenset({"allow_writing_files"}),
    "loss_function": frozenset({"loss_function", "objective"}),
}
_ITERATION_KEY = {"catboost": "iterations", "hist_gradient_boosting": "max_iter"}
_EARLY_STOPPING_KEYS = {
    "catboost": frozenset(
        {"early_stopping_rounds", "od_wait", "od_type", "od_pval", "use_best_model"}
    ),
    "hist_gradient_boosting": frozenset(
        {"early_stopping", "n_iter_no_change", "validation_fraction", "scoring"}
    ),
}
_CATEGORICAL_KEYS = {
    "catboost": frozenset({"cat_features"}),
    "hist_gradient_boosting": frozenset({"categorical_features"}),
}


def _unknown_setting(name: str, key: str, estimator: str, allowed: list[str]) -> FoldwiseError:
    hint = difflib.get_close_matches(key, allowed, n=1)
    tip = f"; did you mean {hint[0]!r}?" if hint else ""
    listing = f" (allowed: {', '.join(sorted(allowed))})" if len(allowed) <= 30 else ""
    return FoldwiseError(f"model.{name}.{key} is not a setting of {estimator}{tip}{listing}")


def _check_reserved(name: str, settings: dict[str, Any]) -> None:
    for key in sorted(settings):
        if key in _EARLY_STOPPING_KEYS.get(name, ()):
            raise FoldwiseError(
                f"model.{name}.{key} is set by foldwise (early stopping on a validation part, "
                "rounds from train.early_stopping_rounds); remove it"
            )
        if key in _CATEGORICAL_KEYS.get(name, ()):
            raise FoldwiseError(
                f"model.{name}.{key} is set by foldwise from the schema's categorical "
                "columns; remove it"
            )


def _invalid_parameter(name: str, exc: Exception) -> FoldwiseError:
    """Name the params.yaml key in scikit-learn's parameter-validation message."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    marker = text.split("'")
    key = marker[1] if text.startswith("The '") and len(marker) > 2 else None
    where = f"model.{name}.{key}" if key else f"model.{name}"
    return FoldwiseError(f"{where}: {text}")


class EstimatorMixin:
    """The unfitted estimator of a :class:`~foldwise.models.TabularModel`, settings checked."""

    name: str
    task: Task
    seed: int
    settings: dict | None
    is_classifier: bool

    def _catboost_class(self) -> type:
        return CatBoostClassifier if self.is_classifier else CatBoostRegressor

    def _catboost_params(self) -> dict[str, Any]:
        settings = dict(self.settings or {})
        cls = self._catboost_class()
        allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        for key in sorted(settings):
            if key not in allowed:
                raise _unknown_setting("catboost", key, cls.__name__, allowed)
        _check_reserved("catboost", settings)
        loss = {"binary": "Logloss", "multiclass": "MultiClass", "regression": "RMSE"}[self.task]
        defaults = {
            "iterations": 1000,
            "learning_rate": 0.05,
            "random_seed": self.seed,
            "thread_count": -1,
            "verbose": False,
            "allow_writing_files": False,
            "loss_function": loss,
        }
        params = {
            key: value
            for key, value in defaults.items()
            if not (_CATBOOST_ALIASES[key] & settings.keys())
        }
        params.update(settings)
        return params

    def _sklearn_estimator(self) -> BaseEstimator:
        """The unfitted estimator with defaults, then the user's settings."""
        classify = self.is_classifier
        seed = self.seed
        if self.name == "logistic_regression":
            estimator = (
                LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
                if classify
                else Ridge(alpha=1.0, random_state=seed)
            )
        elif self.name == "random_forest":
            cls = RandomForestClassifier if classify else RandomForestRegressor
            estimator = cls(n_estimators=300, min_samples_leaf=2, n_jobs=-1, random_state=seed)
        elif self.name == "hist_gradient_boosting":
            cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
            estimator = cls(max_iter=500, learning_rate=0.05, random_state=seed)
        elif self.name == "dummy":
            estimator = (
                DummyClassifier(strategy="prior", random_state=seed)
                if classify
                else DummyRegressor(strategy="mean")
            )
        else:
            raise FoldwiseError(
                f"model.name {self.name!r} is not known; allowed: {', '.join(MODEL_NAMES)}"
            )
        settings = dict(self.settings or {})
        allowed = list(estimator.get_params(deep=False))
        for key in sorted(settings):
            if key not in allowed:
                raise _unknown_setting(self.name, key, type(estimator).__name__, allowed)
        _check_reserved(self.name, settings)
        return estimator.set_params(**settings)
