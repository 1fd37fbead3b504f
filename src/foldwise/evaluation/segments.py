"""A metric per segment of chosen columns, flagging segments much worse than the whole."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from foldwise.errors import FoldwiseError
from foldwise.evaluation.bootstrap import resample_counts
from foldwise.evaluation.common import UNDEFINED, jsonable
from foldwise.metrics import Task, get_metric, score, score_weighted

# Segment flagging (see segment_report).
SEGMENT_DRAWS = 200
SEGMENT_MIN_Z = 3.0
SEGMENT_MIN_EXCESS_ERROR = 0.10
MISSING = "(missing)"


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
                entry["note"] = f"{metric} undefined: {UNDEFINED.get(metric, 'in this segment')}"
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
    return jsonable(rows_out)
