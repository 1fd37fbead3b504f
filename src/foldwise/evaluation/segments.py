"""A metric per segment of chosen columns, flagging segments much worse than the whole."""

from __future__ import annotations

import math
from dataclasses import dataclass
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


def _check_inputs(
    frame: pd.DataFrame, y_true: np.ndarray, columns: list[str], task: Task, metric: str
) -> None:
    """The metric fits the task, the rows line up and every segment column exists."""
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


@dataclass(frozen=True)
class _SegmentJudge:
    """Scores one segment against the whole and against random groups of its size."""

    metric: str
    y_true: np.ndarray
    scores: np.ndarray
    threshold: float
    min_rows: int
    overall: float
    rng: np.random.Generator  # shared by the segments, drawn from in their order

    def judge(self, mask: np.ndarray) -> dict[str, Any]:
        """The entry's value, delta, z, flag and note (only the keys that change)."""
        metric, m, rows = self.metric, get_metric(self.metric), int(mask.sum())
        sign = 1.0 if m.greater_is_better else -1.0
        if rows < self.min_rows:
            return {"note": f"too few rows (< {self.min_rows})"}
        value = score(metric, self.y_true[mask], self.scores[mask], threshold=self.threshold)
        if not math.isfinite(value):
            return {"note": f"{metric} undefined: {UNDEFINED.get(metric, 'in this segment')}"}
        if not math.isfinite(self.overall):
            return {"value": value, "note": f"{metric} undefined on all rows: no comparison"}
        out: dict[str, Any] = {"value": value, "delta": sign * (value - self.overall)}
        draws = resample_counts(self.rng, len(self.y_true), SEGMENT_DRAWS, size=rows)
        null = np.concatenate(
            [
                score_weighted(metric, self.y_true, self.scores, counts, threshold=self.threshold)
                for counts in draws
            ]
        )
        null = null[np.isfinite(null)]
        if len(null) < 2:
            return out | {"note": "too few defined random groups to test"}
        spread = float(null.std(ddof=1))
        shortfall = sign * (float(null.mean()) - value)
        if spread > 0:
            out["z"] = shortfall / spread
            unusual = out["z"] >= SEGMENT_MIN_Z
        else:
            unusual = shortfall > 0
        error_whole = abs(self.overall - m.ideal)
        excess = abs(value - m.ideal) - error_whole
        out["flag"] = bool(unusual and excess > SEGMENT_MIN_EXCESS_ERROR * error_whole)
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
    _check_inputs(frame, y_true, columns, task, metric)
    y_true, proba_or_pred = np.asarray(y_true), np.asarray(proba_or_pred)
    judge = _SegmentJudge(
        metric=metric,
        y_true=y_true,
        scores=proba_or_pred,
        threshold=threshold,
        min_rows=min_rows,
        overall=score(metric, y_true, proba_or_pred, threshold=threshold),
        rng=np.random.default_rng(seed),
    )
    rows_out: list[dict[str, Any]] = []
    for column in dict.fromkeys(columns):
        for label, mask in _segments_of(frame[column], n_bins):
            entry: dict[str, Any] = {
                "column": column,
                "segment": label,
                "rows": int(mask.sum()),
                "value": None,
                "delta": None,
                "z": None,
                "flag": False,
                "note": None,
            }
            rows_out.append(entry | judge.judge(mask))
    return jsonable(rows_out)
