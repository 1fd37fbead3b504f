"""The decision threshold of a binary classifier, chosen on out-of-fold predictions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from foldwise.evaluation.common import jsonable, ratio


def choose_threshold(
    y_true: np.ndarray,
    proba_pos: np.ndarray,
    *,
    objective: str = "f1",
    cost_fp: float = 1.0,
    cost_fn: float = 1.0,
) -> dict[str, Any]:
    """The decision threshold that maximises F1 or minimises expected cost on out-of-fold rows.

    A row is called positive when ``proba_pos >= threshold``. Candidates are the distinct
    predicted probabilities, plus 1.0 (call nothing positive) when no probability reaches it.
    ``"cost"`` minimises ``(cost_fp * FP + cost_fn * FN) / n``, reported as ``value``.
    Ties (equal to 1e-12) go to the highest threshold: the fewest rows called positive.
    Pass out-of-fold predictions, never the test set.
    """
    if objective not in ("f1", "cost"):
        raise ValueError(f"objective must be 'f1' or 'cost', got {objective!r}")
    if not (cost_fp >= 0 and cost_fn >= 0 and math.isfinite(cost_fp + cost_fn)):
        raise ValueError(f"costs must be finite and >= 0, got fp={cost_fp}, fn={cost_fn}")
    y = np.asarray(y_true)
    p = np.asarray(proba_pos, dtype="float64")
    if y.ndim != 1 or p.shape != y.shape:
        raise ValueError(f"expected y_true and proba_pos of shape (n,), got {y.shape}, {p.shape}")
    if not np.isin(y, (0, 1)).all() or len(np.unique(y)) != 2:
        raise ValueError("y_true must hold both class codes 0 and 1")
    if not (np.all(np.isfinite(p)) and p.min() >= 0 and p.max() <= 1):
        raise ValueError("proba_pos must hold probabilities in [0, 1]")

    candidates = np.unique(p)
    if candidates[-1] < 1.0:
        candidates = np.append(candidates, 1.0)
    positive = y == 1
    pos_sorted, neg_sorted = np.sort(p[positive]), np.sort(p[~positive])
    tp = len(pos_sorted) - np.searchsorted(pos_sorted, candidates, side="left")
    fp = len(neg_sorted) - np.searchsorted(neg_sorted, candidates, side="left")
    fn = len(pos_sorted) - tp
    if objective == "f1":
        values = 2 * tp / (2 * tp + fp + fn)
        best = values.max()
    else:
        values = (cost_fp * fp + cost_fn * fn) / len(y)
        best = values.min()
    i = int(np.flatnonzero(np.abs(values - best) <= 1e-12)[-1])
    return jsonable(
        {
            "threshold": float(candidates[i]),
            "objective": objective,
            "value": float(values[i]),
            "precision": ratio(tp[i], tp[i] + fp[i]),
            "recall": ratio(tp[i], tp[i] + fn[i]),
        }
    )
