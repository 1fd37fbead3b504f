"""Bootstrap over rows: resampled counts, percentile intervals and paired differences."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from foldwise.evaluation.common import jsonable
from foldwise.metrics import get_metric, score, score_weighted

# Cells (resamples x rows) of weights held in memory at once by the bootstrap.
_CHUNK_CELLS = 2_000_000


def resample_counts(
    rng: np.random.Generator, n: int, n_samples: int, size: int | None = None
) -> Iterator[np.ndarray]:
    """Chunks of (b, n) row counts, each row one resample of ``size`` rows (default n)."""
    size = n if size is None else size
    step = max(1, _CHUNK_CELLS // max(n, size))
    done = 0
    while done < n_samples:
        b = min(step, n_samples - done)
        idx = rng.integers(0, n, size=(b, size)) + (np.arange(b) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n)
        done += b


def _check_bootstrap(n_samples: int, alpha: float) -> None:
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")


def percentile_interval(values: np.ndarray, alpha: float) -> tuple[float | None, float | None]:
    if len(values) == 0:
        return None, None
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def bootstrap_p_value(deltas: np.ndarray) -> float | None:
    """Two-sided bootstrap p-value of "no difference": twice the smaller share of resampled
    differences on either side of zero (ties count for both sides); None without resamples."""
    if len(deltas) == 0:
        return None
    return float(min(1.0, 2 * min((deltas <= 0).mean(), (deltas >= 0).mean())))


def bootstrap_interval(
    metric: str,
    y_true: np.ndarray,
    proba_or_pred: np.ndarray,
    *,
    n_samples: int = 1000,
    seed: int,
    alpha: float = 0.05,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Percentile bootstrap interval of ``metric`` over rows.

    Resamples where the metric is undefined (e.g. a single class drawn) are skipped;
    ``n_used`` says how many counted. ``estimate`` is the metric on all rows.
    """
    _check_bootstrap(n_samples, alpha)
    get_metric(metric)
    estimate = score(metric, y_true, proba_or_pred, threshold=threshold)
    rng = np.random.default_rng(seed)
    scores = np.concatenate(
        [
            score_weighted(metric, y_true, proba_or_pred, counts, threshold=threshold)
            for counts in resample_counts(rng, len(y_true), n_samples)
        ]
    )
    used = scores[np.isfinite(scores)]
    low, high = percentile_interval(used, alpha)
    return jsonable(
        {
            "metric": metric,
            "estimate": estimate,
            "low": low,
            "high": high,
            "alpha": alpha,
            "n_samples": n_samples,
            "n_used": len(used),
        }
    )


def paired_bootstrap(
    metric: str,
    y_true: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    *,
    n_samples: int = 1000,
    seed: int,
    threshold_a: float = 0.5,
    threshold_b: float = 0.5,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Difference ``b − a`` of ``metric`` between two predictions, resampled on the same rows.

    ``prob_b_better`` is the share of used resamples where b beats a in the metric's direction;
    ``p_value`` is the two-sided bootstrap p-value of "no difference" (twice the smaller share
    of resamples on either side of zero, ties counting for both sides).
    """
    _check_bootstrap(n_samples, alpha)
    m = get_metric(metric)
    score_a = score(metric, y_true, pred_a, threshold=threshold_a)
    score_b = score(metric, y_true, pred_b, threshold=threshold_b)
    rng = np.random.default_rng(seed)
    deltas = []
    for counts in resample_counts(rng, len(y_true), n_samples):
        a = score_weighted(metric, y_true, pred_a, counts, threshold=threshold_a)
        b = score_weighted(metric, y_true, pred_b, counts, threshold=threshold_b)
        deltas.append(b - a)
    delta = np.concatenate(deltas)
    used = delta[np.isfinite(delta)]
    low, high = percentile_interval(used, alpha)
    better = (used > 0) if m.greater_is_better else (used < 0)
    return jsonable(
        {
            "metric": metric,
            "greater_is_better": m.greater_is_better,
            "a": score_a,
            "b": score_b,
            "estimate": score_b - score_a,
            "low": low,
            "high": high,
            "prob_b_better": float(better.mean()) if len(used) else None,
            "p_value": bootstrap_p_value(used),
            "alpha": alpha,
            "n_samples": n_samples,
            "n_used": len(used),
        }
    )
