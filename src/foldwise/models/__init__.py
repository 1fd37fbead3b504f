"""The model registry: one scikit-learn-style wrapper that owns preprocessing, model and rounds.

:class:`TabularModel` takes the typed feature frame of :func:`feature_frame` and fits its
preprocessing inside :meth:`TabularModel.fit` only, so within cross-validation every encoder,
imputer and scaler sees the training fold and nothing else.

The code lives in the submodules: ``frame`` (raw rows to the schema's typed frame, then the
estimators' input), ``tabular`` (:class:`TabularModel`, :func:`build_model`), ``registry``
(model names and their backends), one backend per library (``catboost_backend``,
``lightgbm_backend``, ``sklearn_backend`` with ``encoding``), ``settings`` (settings checks),
``known_settings`` (the setting names each estimator accepts, generated), ``persistence`` and
``safe_io`` (saved files), ``ensemble`` (:class:`EnsembleModel`).

The names below are imported from their submodule on first use, so importing the package (or
its light submodules: ``registry``, ``settings``, ``persistence``) imports no model library:
a stage process imports scikit-learn, CatBoost or LightGBM only when it builds, fits or loads
such a model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from foldwise.models.persistence import (
    CATBOOST_FILE,
    LEGACY_PIPELINE_FILE,
    LIGHTGBM_FILE,
    MODEL_FILE,
    PIPELINE_FILE,
    SAVE_FORMAT,
)
from foldwise.models.registry import (
    EARLY_STOPPING_MODELS,
    MODEL_NAMES,
    backend_for,
    saved_model_file,
)

if TYPE_CHECKING:
    from foldwise.models.encoding import HGB_MAX_CATEGORIES
    from foldwise.models.frame import KINDS, MISSING_CATEGORY, feature_frame, model_frame
    from foldwise.models.sklearn_backend import InvalidParameterError
    from foldwise.models.tabular import TabularModel, build_model

__all__ = [
    "CATBOOST_FILE",
    "EARLY_STOPPING_MODELS",
    "HGB_MAX_CATEGORIES",
    "KINDS",
    "LEGACY_PIPELINE_FILE",
    "LIGHTGBM_FILE",
    "MISSING_CATEGORY",
    "MODEL_FILE",
    "MODEL_NAMES",
    "PIPELINE_FILE",
    "SAVE_FORMAT",
    "InvalidParameterError",
    "TabularModel",
    "backend_for",
    "build_model",
    "feature_frame",
    "model_frame",
    "saved_model_file",
]

# The names imported on first use, and their submodule.
_LAZY = {
    "HGB_MAX_CATEGORIES": "encoding",
    "KINDS": "frame",
    "MISSING_CATEGORY": "frame",
    "feature_frame": "frame",
    "model_frame": "frame",
    "InvalidParameterError": "sklearn_backend",
    "TabularModel": "tabular",
    "build_model": "tabular",
}


def __getattr__(name: str) -> Any:
    """Import ``name`` from its submodule the first time it is asked for (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
