"""Feature encoding of the scikit-learn models, fitted on the training part only.

Numbers are imputed (and scaled for the linear model); categorical columns with few levels are
one-hot encoded, the others target encoded with seeded cross-fitting. HistGradientBoosting
encodes up to :data:`HGB_MAX_CATEGORIES` levels natively (the rest target encoded). Extra trees
and random forests share the one-hot / target encoding; CatBoost and LightGBM take categories
natively.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler, TargetEncoder

from foldwise.metrics import Task
from foldwise.models.settings import ModelSpec

# HistGradientBoosting encodes at most this many categories per feature natively.
HGB_MAX_CATEGORIES = 255


def _sklearn_at_least(major: int, minor: int) -> bool:
    parts = sklearn.__version__.split(".")
    return (int(parts[0]), int(parts[1])) >= (major, minor)


# scikit-learn 1.9 deprecated TargetEncoder(shuffle, random_state) in favour of a cv splitter.
_TARGET_ENCODER_TAKES_SPLITTER = _sklearn_at_least(1, 9)


def _target_encoder(task: Task, y: np.ndarray, seed: int) -> TargetEncoder:
    """A cross-fitted target encoder with seeded folds.

    The target type follows the classes present in ``y``: a multiclass fold that lacks a class
    may hold only two.
    """
    if task == "regression":
        target_type = "continuous"
    else:
        target_type = "multiclass" if len(np.unique(y)) > 2 else "binary"
    if _TARGET_ENCODER_TAKES_SPLITTER:
        splitter = (
            KFold(5, shuffle=True, random_state=seed)
            if task == "regression"
            else StratifiedKFold(5, shuffle=True, random_state=seed)
        )
        return TargetEncoder(target_type=target_type, cv=splitter)
    return TargetEncoder(target_type=target_type, shuffle=True, random_state=seed)


def categorical_groups(
    features: list[dict[str, Any]], table: pd.DataFrame, limit: int
) -> tuple[list[str], list[str]]:
    """Categorical columns with at most ``limit`` categories, and the rest."""
    low: list[str] = []
    high: list[str] = []
    for feature in features:
        if feature["kind"] != "categorical":
            continue
        name = str(feature["name"])
        count = feature.get("n_categories")
        if count is None:
            count = table[name].nunique()
        (low if int(count) <= limit else high).append(name)
    return low, high


def _hgb_parts(
    spec: ModelSpec, table: pd.DataFrame, y: np.ndarray, max_bins: int, numeric: list[str]
) -> list[tuple[str, Any, list[str]]]:
    limit = min(HGB_MAX_CATEGORIES, max_bins)
    low, high = categorical_groups(spec.features, table, limit)
    parts: list[tuple[str, Any, list[str]]] = []
    # Native categories first: the model's categorical mask relies on this order.
    if low:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            max_categories=limit,
        )
        parts.append(("native_categories", encoder, low))
    if numeric:
        parts.append(("numeric", "passthrough", numeric))
    if high:
        parts.append(("target_encoded", _target_encoder(spec.task, y, spec.seed), high))
    return parts


def preprocessor(
    spec: ModelSpec, table: pd.DataFrame, y: np.ndarray, estimator: BaseEstimator
) -> ColumnTransformer | None:
    """The unfitted preprocessing of a scikit-learn model (None for the dummy model)."""
    if spec.name == "dummy":
        return None
    numeric = [str(f["name"]) for f in spec.features if f["kind"] != "categorical"]
    if spec.name == "hist_gradient_boosting":
        max_bins = int(estimator.get_params()["max_bins"])
        parts = _hgb_parts(spec, table, y, max_bins, numeric)
        return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)
    parts = []
    low, high = categorical_groups(spec.features, table, spec.max_onehot_categories)
    scale = spec.name == "logistic_regression"
    if numeric:
        imputer = SimpleImputer(strategy="median", add_indicator=True)
        steps = [("impute", imputer)] + ([("scale", StandardScaler())] if scale else [])
        parts.append(("numeric", Pipeline(steps), numeric))
    if low:
        onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        parts.append(("one_hot", onehot, low))
    if high:
        encoder = _target_encoder(spec.task, y, spec.seed)
        steps = [("encode", encoder)] + ([("scale", StandardScaler())] if scale else [])
        parts.append(("target_encoded", Pipeline(steps), high))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)
