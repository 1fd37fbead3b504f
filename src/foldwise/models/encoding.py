"""Feature encoding of the scikit-learn models, fitted on the training part only.

Numbers are imputed (and scaled for the linear model); categorical columns with few levels are
one-hot encoded, the others target encoded with seeded cross-fitting. HistGradientBoosting
encodes up to :data:`HGB_MAX_CATEGORIES` levels natively. CatBoost takes the model frame as is.
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


class EncodingMixin:
    """The preprocessing of a :class:`~foldwise.models.TabularModel` (scikit-learn models)."""

    name: str
    task: Task
    seed: int
    features: list[dict]
    max_onehot_categories: int

    def _categorical_groups(self, table: pd.DataFrame, limit: int) -> tuple[list[str], list[str]]:
        """Categorical columns with at most ``limit`` categories, and the rest."""
        low: list[str] = []
        high: list[str] = []
        for feature in self.features:
            if feature["kind"] != "categorical":
                continue
            name = str(feature["name"])
            count = feature.get("n_categories")
            if count is None:
                count = table[name].nunique()
            (low if int(count) <= limit else high).append(name)
        return low, high

    def _preprocessor(
        self, table: pd.DataFrame, y: np.ndarray, estimator: BaseEstimator
    ) -> ColumnTransformer | None:
        if self.name == "dummy":
            return None
        numeric = [str(f["name"]) for f in self.features if f["kind"] != "categorical"]
        parts: list[tuple[str, Any, list[str]]] = []
        if self.name == "hist_gradient_boosting":
            limit = min(HGB_MAX_CATEGORIES, int(estimator.get_params()["max_bins"]))
            low, high = self._categorical_groups(table, limit)
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
                parts.append(("target_encoded", _target_encoder(self.task, y, self.seed), high))
        else:
            low, high = self._categorical_groups(table, self.max_onehot_categories)
            scale = self.name == "logistic_regression"
            if numeric:
                imputer = SimpleImputer(strategy="median", add_indicator=True)
                steps = [("impute", imputer)] + ([("scale", StandardScaler())] if scale else [])
                parts.append(("numeric", Pipeline(steps), numeric))
            if low:
                onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
                parts.append(("one_hot", onehot, low))
            if high:
                encoder = _target_encoder(self.task, y, self.seed)
                steps = [("encode", encoder)] + ([("scale", StandardScaler())] if scale else [])
                parts.append(("target_encoded", Pipeline(steps), high))
        return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)
