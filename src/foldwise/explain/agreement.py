"""Do other views of the data agree with the model's SHAP ranking?

Two checks: the linear baseline's own SHAP ranking (a model that sees only additive effects)
and permutation importance of the fold models on their held-out rows (model-agnostic: how much
the primary metric drops when a column is shuffled). Each gives a Spearman rank correlation
with the model's ranking, and a plain "investigate" line where a top feature of one is near
the bottom of the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.inspection import permutation_importance

from foldwise.metrics import METRICS, score
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel

INVESTIGATE_TOP = 5


class _OnModelInput:
    """A fitted model or ensemble scoring rows already in model form (``model_input``).

    Permutation importance shuffles the model-form columns: typing and encoding a column is
    done cell by cell, so shuffling after it gives the same rows as shuffling before, and
    the rows are typed once per fold instead of once per shuffle (most of the time before).
    """

    def __init__(self, model: TabularModel | EnsembleModel) -> None:
        self.members = (
            [(m.model, m.weight) for m in model.members]
            if isinstance(model, EnsembleModel)
            else [(model, 1.0)]
        )

    def fit(self, *args: object, **kwargs: object) -> _OnModelInput:
        raise TypeError("the model is already fitted; permutation importance never refits")

    def model_input(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.members[0][0].model_input(X)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(sum(w * m.values_of_model_input(frame) for m, w in self.members))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(sum(w * m.proba_of_model_input(frame) for m, w in self.members))


def ranks(importance: np.ndarray) -> np.ndarray:
    """1 = most important; ties keep column order."""
    order = np.argsort(-np.asarray(importance, dtype="float64"), kind="stable")
    out = np.empty(len(order), dtype="int64")
    out[order] = np.arange(1, len(order) + 1)
    return out


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman correlation of two importance vectors (None if either is constant)."""
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    rho = stats.spearmanr(a, b).statistic
    return float(rho) if np.isfinite(rho) else None


def fold_permutation_importance(
    models: Sequence[TabularModel | EnsembleModel],
    X: pd.DataFrame,
    y: np.ndarray,
    fold_of_row: np.ndarray,
    *,
    metric: str,
    task: str,
    repeats: int,
    seed: int,
) -> np.ndarray:
    """Drop of the primary metric per shuffled column, per fold model on its held-out rows.

    Returns (folds, p); positive = the column helps. Folds without held-out rows are NaN.
    """
    sign = 1.0 if METRICS[metric].greater_is_better else -1.0

    def scorer(estimator: _OnModelInput, X_part: pd.DataFrame, y_part: np.ndarray) -> float:
        predict = estimator.predict if task == "regression" else estimator.predict_proba
        value = score(metric, y_part, np.asarray(predict(X_part), dtype="float64"))
        return sign * value if np.isfinite(value) else 0.0

    out = np.full((len(models), X.shape[1]), np.nan)
    for i, model in enumerate(models):
        rows = np.flatnonzero(fold_of_row == i)
        if len(rows) < 2:
            continue
        scoring = _OnModelInput(model)
        result = permutation_importance(
            scoring,
            scoring.model_input(X.iloc[rows]),
            y[rows],
            scoring=scorer,
            n_repeats=repeats,
            random_state=seed + i,
            n_jobs=1,
        )
        out[i] = result.importances_mean
    return out


def investigate(
    features: list[str],
    main: np.ndarray,
    other: np.ndarray,
    *,
    main_name: str,
    other_name: str,
    top: int = INVESTIGATE_TOP,
) -> list[dict]:
    """Top features of either ranking that sit in the bottom half of the other.

    "Top" is the first ``top`` ranks, at most a third of the features.
    """
    p = len(features)
    top = max(1, min(top, p // 3))
    r_main, r_other = ranks(main), ranks(other)
    half = p / 2
    found = []
    for j, name in enumerate(features):
        if r_main[j] <= top and r_other[j] > half:
            reason = (
                f"`{name}` is #{r_main[j]} for {main_name} but #{r_other[j]} of {p} for "
                f"{other_name}: investigate (a non-linear or interaction effect, or a column the "
                "model leans on without it helping the score)"
            )
        elif r_other[j] <= top and r_main[j] > half:
            reason = (
                f"`{name}` is #{r_other[j]} for {other_name} but #{r_main[j]} of {p} for "
                f"{main_name}: investigate (the model may reach the same signal through "
                "correlated columns, or miss it)"
            )
        else:
            continue
        found.append(
            {
                "feature": name,
                "rank": int(r_main[j]),
                "other_rank": int(r_other[j]),
                "other": other_name,
                "statement": reason,
            }
        )
    return found
