"""The model registry: one scikit-learn-style wrapper that owns preprocessing, model and rounds.

:class:`TabularModel` takes the typed feature frame of :func:`feature_frame` and fits its
preprocessing inside :meth:`TabularModel.fit` only, so within cross-validation every encoder,
imputer and scaler sees the training fold and nothing else.

The code lives in the submodules: ``frame`` (raw rows to the schema's typed frame, then the
estimators' input), ``registry`` (model names, settings checks, estimator construction),
``encoding`` (preprocessing of the scikit-learn models), ``fitting`` (early-stopped fits and
learning curves), ``persistence`` (saved files) and ``tabular`` (:class:`TabularModel`,
:func:`build_model`).
"""

from foldwise.models.encoding import HGB_MAX_CATEGORIES
from foldwise.models.frame import KINDS, MISSING_CATEGORY, feature_frame
from foldwise.models.persistence import (
    CATBOOST_FILE,
    LEGACY_PIPELINE_FILE,
    MODEL_FILE,
    PIPELINE_FILE,
    SAVE_FORMAT,
)
from foldwise.models.registry import EARLY_STOPPING_MODELS, MODEL_NAMES, InvalidParameterError
from foldwise.models.tabular import TabularModel, build_model

__all__ = [
    "CATBOOST_FILE",
    "EARLY_STOPPING_MODELS",
    "HGB_MAX_CATEGORIES",
    "KINDS",
    "LEGACY_PIPELINE_FILE",
    "MISSING_CATEGORY",
    "MODEL_FILE",
    "MODEL_NAMES",
    "PIPELINE_FILE",
    "SAVE_FORMAT",
    "InvalidParameterError",
    "TabularModel",
    "build_model",
    "feature_frame",
]
