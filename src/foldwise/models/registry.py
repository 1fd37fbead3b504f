"""The model registry: the model names and the backend that builds, fits and saves each.

Settings from params.yaml are checked by the backend against the estimator's own parameters
(an unknown key names the closest real one); keys foldwise sets itself (early stopping,
categorical columns) are refused.
"""

from __future__ import annotations

from foldwise.errors import FoldwiseError
from foldwise.models.backend import Backend
from foldwise.models.catboost_backend import CatBoostBackend
from foldwise.models.lightgbm_backend import LightGBMBackend
from foldwise.models.settings import InvalidParameterError
from foldwise.models.sklearn_backend import SklearnBackend

__all__ = [
    "EARLY_STOPPING_MODELS",
    "MODEL_NAMES",
    "InvalidParameterError",
    "backend_for",
    "saved_model_file",
]

MODEL_NAMES = (
    "catboost",
    "logistic_regression",
    "random_forest",
    "hist_gradient_boosting",
    "dummy",
    "lightgbm",
    "extra_trees",
)
_BACKENDS: dict[str, Backend] = {
    "catboost": CatBoostBackend("catboost"),
    "lightgbm": LightGBMBackend("lightgbm"),
    **{
        name: SklearnBackend(name)
        for name in (
            "logistic_regression",
            "random_forest",
            "extra_trees",
            "hist_gradient_boosting",
            "dummy",
        )
    },
}
EARLY_STOPPING_MODELS = frozenset(
    name for name, backend in _BACKENDS.items() if backend.supports_early_stopping
)


def backend_for(name: str) -> Backend:
    """The backend of registry model ``name``; an unknown name is an error naming the key."""
    try:
        return _BACKENDS[name]
    except KeyError:
        raise FoldwiseError(
            f"model.name {name!r} is not known; allowed: {', '.join(MODEL_NAMES)}"
        ) from None


def saved_model_file(name: str) -> str:
    """The file (inside a saved model's folder) that holds the fitted estimator of ``name``."""
    return backend_for(name).model_file
