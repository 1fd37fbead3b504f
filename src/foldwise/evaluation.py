"""Reports built from predictions: metrics, decision threshold, bootstrap intervals, segments.

Every function is pure and returns plain JSON (``json.dumps(..., allow_nan=False)`` works):
a metric that is undefined on the rows given becomes ``None`` with a note saying why (MAPE is
left out of the regression report instead), never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from foldwise.errors import FoldwiseError
from foldwise.metrics import (
    METRICS,
    Task,
    as_codes,
    as_proba,
    derive_labels,
    get_metric,
    score,
    score_weighted,
)

# Why a metric can be undefined on a set of rows (its score is NaN).
_UNDEFINED: dict[str, str] = {
    "roc_auc": "y_true holds a single class",
    "average_precision": "y_true has no positive rows",
    "f1": "no positive rows and no positive predictions",
    "r2": "target is constant",
    "mape": "target has zeros",
}
# Cells (resamples x rows) of weights held in memory at once by the bootstrap.
_CHUNK_CELLS = 2_000_000
# Segment flagging (see segment_report).
SEGMENT_DRAWS = 200
SEGMENT_MIN_Z = 3.0
SEGMENT_MIN_EXCESS_ERROR = 0.10
MISSING = "(missing)"


def _jsonable(value: Any) -> Any:
    """Plain Python values for JSON: numpy scalars unwrapped, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _defined(name: str, value: float, notes: list[str]) -> float | None:
    """``value``, or None plus a note when the metric is undefined on these rows."""
    if math.isfinite(value):
        return float(value)
    notes.append(f"{name} undefined: {_UNDEFINED.get(name, 'not computable on these rows')}")
    return None


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den else None


# --- reports -----------------------------------------------------------------------------


def classification_report(
    y_true: np.ndarray,
    proba: np.ndarray,
    *,
    task: Task,
    classes: list,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Threshold-free and thresholded metrics of a classifier, with its confusion matrix.

    ``y_true`` holds codes into ``classes``; ``proba`` is (n, len(classes)). Binary: column 1
    is the positive class, hard predictions are ``proba[:, 1] >= threshold`` (default 0.5).
    Multiclass: hard predictions are the argmax and ``threshold`` is ignored.
    """
    if task not in ("binary", "multiclass"):
        raise ValueError(f"classification_report needs a binary or multiclass task, got {task!r}")
    p = as_proba(proba)
    k = len(classes)
    if p.shape[1] != k:
        raise ValueError(f"proba has {p.shape[1]} columns but there are {k} classes")
    if (task == "binary") != (k == 2):
        raise ValueError(f"task {task!r} does not fit {k} classes")
    t = 0.5 if threshold is None else float(threshold)
    y = as_codes(y_true, k)
    if len(y) != len(p):
        raise ValueError(f"{len(y)} labels but {len(p)} rows of probabilities")
    pred = derive_labels(p, t)
    notes: list[str] = []

    def metric(name: str) -> float | None:
        return _defined(name, score(name, y, p, threshold=t), notes)

    matrix = np.zeros((k, k), dtype="int64")
    np.add.at(matrix, (y, pred), 1)
    report: dict[str, Any] = {"task": task, "rows": len(y)}
    if task == "binary":
        (tn, fp), (fn, tp) = matrix.tolist()
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        if precision is None:
            notes.append(f"precision undefined: no row reaches the threshold {t}")
        if recall is None:
            notes.append("recall undefined: y_true has no positive rows")
        report |= {
            "positive_label": classes[1],
            "positives": tp + fn,
            "roc_auc": metric("roc_auc"),
            "average_precision": metric("average_precision"),
            "log_loss": metric("log_loss"),
            "brier": metric("brier"),
            "threshold": t,
            "precision": precision,
            "recall": recall,
            "f1": metric("f1"),
            "accuracy": metric("accuracy"),
            "balanced_accuracy": metric("balanced_accuracy"),
            "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        }
    else:
        support, called, hits = matrix.sum(axis=1), matrix.sum(axis=0), np.diag(matrix)
        absent = [str(classes[c]) for c in range(k) if support[c] == 0]
        if absent:
            notes.append(
                f"classes absent from y_true: {absent}; roc_auc averages the classes present"
            )
        never = [str(classes[c]) for c in range(k) if called[c] == 0]
        if never:
            notes.append(f"precision undefined for classes never predicted: {never}")
        per_class = {}
        for c in range(k):
            prec, rec = _ratio(hits[c], called[c]), _ratio(hits[c], support[c])
            f1 = _ratio(2 * hits[c], support[c] + called[c])
            per_class[str(classes[c])] = {
                "precision": prec,
                "recall": rec,
                "f1": f1,
                "support": int(support[c]),
            }
        report |= {
            "accuracy": metric("accuracy"),
            "balanced_accuracy": metric("balanced_accuracy"),
            "macro_f1": metric("macro_f1"),
            "log_loss": metric("log_loss"),
            "roc_auc": metric("roc_auc"),
            "per_class": per_class,
            "confusion": {"labels": [str(c) for c in classes], "matrix": matrix.tolist()},
        }
    report["notes"] = notes
    return _jsonable(report)


def regression_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE, R², MAPE when defined, and a summary of residuals (y_true − y_pred)."""
    notes: list[str] = []
    report: dict[str, Any] = {"task": "regression", "rows": len(y_true)}
    for name in ("rmse", "mae", "r2"):
        report[name] = _defined(name, score(name, y_true, y_pred), notes)
    mape = score("mape", y_true, y_pred)
    if math.isfinite(mape):
        report["mape"] = mape
    else:
        notes.append(f"mape undefined: {_UNDEFINED['mape']}")
    residuals = np.asarray(y_true, dtype="float64") - np.asarray(y_pred, dtype="float64")
    report["residuals"] = {
        "mean": float(residuals.mean()),
        "std": float(residuals.std(ddof=1)) if len(residuals) > 1 else None,
    }
    report["notes"] = notes
    return _jsonable(report)


# --- decision threshold ------------------------------------------------------------------


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
    return _jsonable(
        {
            "threshold": float(candidates[i]),
            "objective": objective,
            "value": float(values[i]),
            "precision": _ratio(tp[i], tp[i] + fp[i]),
            "recall": _ratio(tp[i], tp[i] + fn[i]),
        }
    )


# --- bootstrap ---------------------------------------------------------------------------


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
    return _jsonable(
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
    return _jsonable(
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


# --- segments ----------------------------------------------------------------------------


def _segments_of(series: pd.Series, n_bins: int) -> list[tuple[str, np.ndarray]]:
    """(label, row mask) per segment: one per value, or quantile bins for a numeric column."""
    values = series.reset_index(drop=True)
    missing = values.isna().to_numpy()
    numeric = (
        pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)
    ) and not pd.api.types.is_bool_dtype(values)
    out: list[tuple[str, np.ndarray]] = []
    if numeric and values.nunique() > n_bins:
        bins = pd.qcut(values, q=n_bins, duplicates="drop")
        codes = bins.cat.codes.to_numpy()
        out = [(str(label), codes == i) for i, label in enumerate(bins.cat.categories)]
    else:
        labels = values.astype(object).map(str).to_numpy()
        for label in sorted(set(labels[~missing])):
            out.append((label, (labels == label) & ~missing))
    if missing.any():
        out.append((MISSING, missing))
    return out


def segment_report(
    frame: pd.DataFrame,
    y_true: np.ndarray,
    proba_or_pred: np.ndarray,
    *,
    columns: list[str],
    task: Task,
    metric: str,
    min_rows: int = 30,
    threshold: float = 0.5,
    n_bins: int = 4,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """``metric`` per segment of each column, and whether a segment is much worse than the whole.

    Segments: one per value of a categorical or boolean column (or of a numeric column with
    at most ``n_bins`` values), else ``n_bins`` quantile bins; missing values form "(missing)".
    ``delta`` is the segment minus the whole, signed so that negative means worse.

    ``flag`` is True when both hold:
    * the segment is worse than random groups of the same size: its value is at least
      ``SEGMENT_MIN_Z`` (3) standard deviations on the worse side of the metric over
      ``SEGMENT_DRAWS`` (200) random row samples of that size from the whole (reported as
      ``z``); 3 sigma keeps false flags rare even across dozens of segments;
    * the gap matters: the segment's error (distance from the metric's ideal, e.g. 1 − AUC
      or RMSE) exceeds the whole's by more than ``SEGMENT_MIN_EXCESS_ERROR`` (10 %).
    """
    m = get_metric(metric)
    if task not in m.tasks:
        raise ValueError(f"metric {metric!r} is for {', '.join(m.tasks)}, not {task!r}")
    if len(frame) != len(y_true):
        raise ValueError(f"frame has {len(frame)} rows but y_true has {len(y_true)}")
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        available = ", ".join(map(str, list(frame.columns)[:30]))
        raise FoldwiseError(
            f"evaluate.segments: column {unknown[0]!r} is not in the table; available: {available}"
        )
    y_true, proba_or_pred = np.asarray(y_true), np.asarray(proba_or_pred)
    n = len(y_true)
    overall = score(metric, y_true, proba_or_pred, threshold=threshold)
    sign = 1.0 if m.greater_is_better else -1.0
    rng = np.random.default_rng(seed)
    rows_out: list[dict[str, Any]] = []
    for column in dict.fromkeys(columns):
        for label, mask in _segments_of(frame[column], n_bins):
            rows = int(mask.sum())
            entry: dict[str, Any] = {
                "column": column,
                "segment": label,
                "rows": rows,
                "value": None,
                "delta": None,
                "z": None,
                "flag": False,
                "note": None,
            }
            rows_out.append(entry)
            if rows < min_rows:
                entry["note"] = f"too few rows (< {min_rows})"
                continue
            value = score(metric, y_true[mask], proba_or_pred[mask], threshold=threshold)
            if not math.isfinite(value):
                entry["note"] = f"{metric} undefined: {_UNDEFINED.get(metric, 'in this segment')}"
                continue
            entry["value"] = value
            if not math.isfinite(overall):
                entry["note"] = f"{metric} undefined on all rows: no comparison"
                continue
            entry["delta"] = sign * (value - overall)
            null = np.concatenate(
                [
                    score_weighted(metric, y_true, proba_or_pred, counts, threshold=threshold)
                    for counts in resample_counts(rng, n, SEGMENT_DRAWS, size=rows)
                ]
            )
            null = null[np.isfinite(null)]
            if len(null) < 2:
                entry["note"] = "too few defined random groups to test"
                continue
            spread = float(null.std(ddof=1))
            shortfall = sign * (float(null.mean()) - value)
            if spread > 0:
                entry["z"] = shortfall / spread
                unusual = entry["z"] >= SEGMENT_MIN_Z
            else:
                unusual = shortfall > 0
            error_whole = abs(overall - m.ideal)
            excess = abs(value - m.ideal) - error_whole
            entry["flag"] = bool(unusual and excess > SEGMENT_MIN_EXCESS_ERROR * error_whole)
    return _jsonable(rows_out)


# --- cross-validation --------------------------------------------------------------------


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
        values = [_jsonable(fold.get(name)) for fold in fold_scores]
        defined = np.asarray([v for v in values if v is not None], dtype="float64")
        summary[name] = {
            "mean": float(defined.mean()) if len(defined) else None,
            "std": float(defined.std(ddof=1)) if len(defined) > 1 else None,
            "min": float(defined.min()) if len(defined) else None,
            "max": float(defined.max()) if len(defined) else None,
            "values": values,
            "n_folds": len(defined),
        }
    return _jsonable(summary)


__all__ = [
    "MISSING",
    "SEGMENT_DRAWS",
    "SEGMENT_MIN_EXCESS_ERROR",
    "SEGMENT_MIN_Z",
    "better_if",
    "bootstrap_interval",
    "bootstrap_p_value",
    "choose_threshold",
    "classification_report",
    "cv_summary",
    "paired_bootstrap",
    "percentile_interval",
    "regression_report",
    "resample_counts",
    "segment_report",
]
