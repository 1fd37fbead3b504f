"""Cross-validation summaries: per-metric statistics over folds, and each metric's direction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from foldwise.evaluation.common import jsonable
from foldwise.metrics import METRICS


def better_if(names: Iterable[str]) -> dict[str, str]:
    """``{"roc_auc": "higher", "log_loss": "lower"}`` for the registered metrics in ``names``.

    Every metrics file carries this map, so a reader of any report (or of ``dvc exp show``)
    knows each metric's direction without knowing foldwise.
    """
    return {name: METRICS[name].direction for name in names if name in METRICS}


def cv_summary(fold_scores: list[dict[str, float]]) -> dict[str, dict[str, Any]]:
    """Mean, std (ddof=1), min, max and per-fold values of every metric seen in any fold.

    ``values`` keeps fold order, with None where a fold lacks the metric or it is undefined;
    the statistics use the defined values (``n_folds`` of them).
    """
    if not fold_scores:
        raise ValueError("cv_summary needs at least one fold")
    names = dict.fromkeys(name for fold in fold_scores for name in fold)
    summary: dict[str, dict[str, Any]] = {}
    for name in names:
        values = [jsonable(fold.get(name)) for fold in fold_scores]
        defined = np.asarray([v for v in values if v is not None], dtype="float64")
        summary[name] = {
            "mean": float(defined.mean()) if len(defined) else None,
            "std": float(defined.std(ddof=1)) if len(defined) > 1 else None,
            "min": float(defined.min()) if len(defined) else None,
            "max": float(defined.max()) if len(defined) else None,
            "values": values,
            "n_folds": len(defined),
        }
    return jsonable(summary)
