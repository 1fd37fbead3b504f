"""The model registry: the model names and the backend that builds, fits and saves each.

Settings from params.yaml are checked by the backend against the estimator's own parameters
(an unknown key names the closest real one); keys foldwise sets itself (early stopping,
categorical columns) are refused.

A backend's module (and its library: CatBoost, LightGBM or scikit-learn) is imported the
first time :func:`backend_for` is asked for one of its models, so a process that never builds
or loads a LightGBM model never imports LightGBM.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from foldwise.errors import FoldwiseError
from foldwise.models.persistence import CATBOOST_FILE, LIGHTGBM_FILE, PIPELINE_FILE

if TYPE_CHECKING:
    from foldwise.models.backend import Backend

__all__ = [
    "EARLY_STOPPING_MODELS",
    "MODEL_NAMES",
    "THREAD_SETTINGS",
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
# The module and class of each model's backend, imported on first use.
_BACKEND_CLASSES: dict[str, tuple[str, str]] = {
    "catboost": ("foldwise.models.catboost_backend", "CatBoostBackend"),
    "lightgbm": ("foldwise.models.lightgbm_backend", "LightGBMBackend"),
    **dict.fromkeys(
        ("logistic_regression", "random_forest", "extra_trees", "hist_gradient_boosting", "dummy"),
        ("foldwise.models.sklearn_backend", "SklearnBackend"),
    ),
}
_BACKENDS: dict[str, Backend] = {}
# The models whose backend early-stops on a validation part (``supports_early_stopping``;
# tests/models/test_known_settings.py checks that they agree, and each backend's model_file).
EARLY_STOPPING_MODELS = frozenset({"catboost", "lightgbm", "hist_gradient_boosting"})
# The models whose fits may run beside each other (the tune stage's concurrent studies), and
# the setting that caps one fit's threads: CatBoost and the forests use every core unless
# told; LightGBM fits on one thread unless num_threads is set. (CatBoost's trees depend on its
# thread count from about 10,000 rows: the study key records it.) Histogram gradient boosting
# (OpenMP threads that spin when a core is busy) and the scikit-learn pipelines (their Python
# parts hold the interpreter lock) are not in it.
THREAD_SETTINGS: dict[str, str | None] = {
    "catboost": "thread_count",
    "random_forest": "n_jobs",
    "extra_trees": "n_jobs",
    "lightgbm": None,
}


def backend_for(name: str) -> Backend:
    """The backend of registry model ``name``; an unknown name is an error naming the key."""
    backend = _BACKENDS.get(name)
    if backend is not None:
        return backend
    try:
        module, cls = _BACKEND_CLASSES[name]
    except KeyError:
        raise FoldwiseError(
            f"model.name {name!r} is not known; allowed: {', '.join(MODEL_NAMES)}"
        ) from None
    backend = getattr(importlib.import_module(module), cls)(name)
    _BACKENDS[name] = backend
    return backend


def saved_model_file(name: str) -> str:
    """The file (inside a saved model's folder) that holds the fitted estimator of ``name``."""
    if name not in _BACKEND_CLASSES:
        backend_for(name)  # the error naming the key
    return {"catboost": CATBOOST_FILE, "lightgbm": LIGHTGBM_FILE}.get(name, PIPELINE_FILE)
