"""The model registry: one scikit-learn-style wrapper that owns preprocessing, model and rounds.

:class:`TabularModel` takes the typed feature frame of :func:`feature_frame` and fits its
preprocessing inside :meth:`TabularModel.fit` only, so within cross-validation every encoder,
imputer and scaler sees the training fold and nothing else.

The code lives in the submodules: ``frame`` (raw rows to the schema's typed frame, then the
estimators' input), ``tabular`` (:class:`TabularModel`, :func:`build_model`), ``registry``
(model names and their backends), one backend per library (``catboost_backend``,
``lightgbm_backend``, ``sklearn_backend`` with ``encoding``), ``settings`` (settings checks),
``persistence`` and ``safe_io`` (saved files), ``ensemble`` (:class:`EnsembleModel`).
"""

from foldwise.models.encoding import HGB_MAX_CATEGORIES
from foldwise.models.frame import KINDS, MISSING_CATEGORY, feature_frame, model_frame
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
    InvalidParameterError,
    backend_for,
    saved_model_file,
)
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
