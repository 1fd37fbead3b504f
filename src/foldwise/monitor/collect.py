"""Summarise production rows per period into counts aligned with the reference profile.

Rows arrive in chunks (record batches of the prediction log, or scored CSV/Parquet batches);
each chunk is reduced to per-period bin counts at once, so memory stays bounded by the chunk
size whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from foldwise.profile.reference import bin_index, calibrate, is_binned, positive_probability


def period_keys(ts: np.ndarray, period: str) -> tuple[np.ndarray, list[str]]:
    """Integer codes of each timestamp's period and the sorted period labels they index."""
    days = ts.astype("datetime64[D]")
    if period == "month":
        raw = days.astype("datetime64[M]")
    elif period == "week":  # weeks start on Monday; 1970-01-01 was a Thursday
        as_int = days.astype("int64")
        raw = (as_int - (as_int + 3) % 7).astype("datetime64[D]")
    else:
        raw = days
    uniques, codes = np.unique(raw, return_inverse=True)
    return codes.reshape(-1), [str(u) for u in uniques]


@dataclass
class FeatureCounts:
    """Counts of one feature in one period, in the reference's bins (plus unseen categories)."""

    counts: np.ndarray
    out_of_range: int = 0
    new_categories: dict[str, int] = field(default_factory=dict)


@dataclass
class PeriodStats:
    """Everything the monitor needs about one period, without its rows."""

    label: str
    rows: int = 0
    features: dict[str, FeatureCounts] = field(default_factory=dict)
    prediction: FeatureCounts | None = None
    score_rows: np.ndarray | None = None  # binary: rows per fine score bin
    score_positive: np.ndarray | None = None  # binary: sum of calibrated P(positive) per bin
    expected_correct: float = 0.0  # classification: sum of P(hard prediction is right)


def _categorical_bins(
    values: pa.Array, profile: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Bin per row ([missing, categories..., other, unseen]), dictionary index per row (-1 for
    missing), the dictionary's names and the dictionary ids of categories never seen."""
    k = len(profile["categories"])
    lookup = {name: i + 1 for i, name in enumerate(profile["categories"])}
    encoded = pc.dictionary_encode(values.cast(pa.string()))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    names = encoded.dictionary.to_pylist()
    # A truncated reference lumps rare levels into "other": an unseen name may be one of them.
    unseen_slot = k + 1 if profile["truncated"] else k + 2
    mapping = np.array([lookup.get(n, unseen_slot) for n in names] + [0], dtype="int64")
    idx = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype("int64")
    bins = mapping[np.where(idx < 0, len(names), idx)]
    unseen_ids = np.array([i for i, n in enumerate(names) if n not in lookup], dtype="int64")
    return bins, idx, names, unseen_ids


class Collector:
    """Accumulates :class:`PeriodStats` chunk by chunk."""

    def __init__(self, reference: dict[str, Any], period: str, threshold: float | None) -> None:
        self.reference = reference
        self.period = period
        self.threshold = 0.5 if threshold is None else threshold
        self.stats: dict[str, PeriodStats] = {}

    def _n_bins(self, profile: dict[str, Any]) -> int:
        if is_binned(profile["kind"]):
            return len(profile["counts"])
        return len(profile["counts"]) + 1  # one more slot for categories never seen

    def _period(self, label: str) -> PeriodStats:
        if label not in self.stats:
            self.stats[label] = PeriodStats(label=label)
        return self.stats[label]

    def _count(
        self,
        codes: np.ndarray,
        labels: list[str],
        values: np.ndarray | pa.Array,
        profile: dict[str, Any],
    ) -> list[FeatureCounts]:
        """Per-period counts of one column in its reference bins."""
        n_periods, n_bins = len(labels), self._n_bins(profile)
        out = [FeatureCounts(np.zeros(n_bins, dtype="int64")) for _ in labels]
        if is_binned(profile["kind"]):
            x = np.asarray(values, dtype="float64")
            bins = bin_index(x, np.asarray(profile["edges"], dtype="float64"))
            if profile["min"] is not None:
                outside = (x < profile["min"]) | (x > profile["max"])
                per = np.bincount(codes[outside], minlength=n_periods)
                for i in range(n_periods):
                    out[i].out_of_range = int(per[i])
        else:
            bins, idx, names, unseen_ids = _categorical_bins(values, profile)
            if len(unseen_ids) and not profile["truncated"]:
                hit = np.isin(idx, unseen_ids)
                width = len(names)
                keys, counts = np.unique(codes[hit] * width + idx[hit], return_counts=True)
                for key, c in zip(keys, counts, strict=True):
                    p, j = divmod(int(key), width)
                    out[p].new_categories[names[j]] = int(c)
        table = np.bincount(codes * n_bins + bins, minlength=n_periods * n_bins)
        for i, row in enumerate(table.reshape(n_periods, n_bins)):
            out[i].counts += row
        return out

    def add(
        self,
        ts: np.ndarray | str,
        columns: dict[str, np.ndarray | pa.Array],
        score: np.ndarray | None,
        predicted: pa.Array | None,
        confidence: np.ndarray | None,
    ) -> None:
        """Add one chunk: timestamps, feature columns, the score or predicted labels.

        ``ts`` is a timestamp per row, or one period label for the whole chunk (a batch file
        without a time column is one period named after the file). ``score`` is P(positive)
        (binary) or the value (regression); ``predicted`` the predicted label (multiclass);
        ``confidence`` the probability of the predicted class (multiclass).
        """
        codes, labels = self._chunk_periods(ts, columns, score, predicted)
        if len(codes) == 0:
            return
        periods = [self._period(label) for label in labels]
        per_period = np.bincount(codes, minlength=len(labels))
        for p, n in zip(periods, per_period, strict=True):
            p.rows += int(n)
        for name, profile in self.reference["features"].items():
            for p, counts in zip(
                periods, self._count(codes, labels, columns[name], profile), strict=True
            ):
                self._merge(p.features, name, counts)
        self._add_predictions(codes, labels, periods, score, predicted, confidence)

    def _chunk_periods(
        self,
        ts: np.ndarray | str,
        columns: dict[str, np.ndarray | pa.Array],
        score: np.ndarray | None,
        predicted: pa.Array | None,
    ) -> tuple[np.ndarray, list[str]]:
        """(period code per row, period labels): from the timestamps, or one named period."""
        if not isinstance(ts, str):
            return period_keys(ts, self.period)
        sized = [v for v in (*columns.values(), score, predicted) if v is not None]
        rows = len(sized[0]) if sized else 0
        return np.zeros(rows, dtype="int64"), [ts]

    def _add_predictions(
        self,
        codes: np.ndarray,
        labels: list[str],
        periods: list[PeriodStats],
        score: np.ndarray | None,
        predicted: pa.Array | None,
        confidence: np.ndarray | None,
    ) -> None:
        """Count the predictions per period (and the expected hits for performance estimates)."""
        pred_profile = self.reference["prediction"]
        task = self.reference["task"]
        values = predicted if task == "multiclass" else score
        if values is None:
            return
        for p, counts in zip(
            periods, self._count(codes, labels, values, pred_profile), strict=True
        ):
            if p.prediction is None:
                p.prediction = counts
            else:
                self._merge_into(p.prediction, counts)
        if task == "binary":
            self._add_binary(codes, periods, np.asarray(score, dtype="float64"))
        elif task == "multiclass" and confidence is not None:
            calibration = self.reference["prediction"].get("confidence_calibration")
            if calibration is not None:
                confidence = calibrate(np.asarray(confidence, dtype="float64"), calibration)
            sums = np.bincount(codes, weights=confidence, minlength=len(labels))
            for p, s in zip(periods, sums, strict=True):
                p.expected_correct += float(s)

    def _add_binary(self, codes: np.ndarray, periods: list[PeriodStats], score: np.ndarray) -> None:
        pred = self.reference["prediction"]
        edges = np.asarray(pred["score_edges"], dtype="float64")
        n_bins = len(edges) + 1
        p_cal = positive_probability(score, pred)
        fine = np.searchsorted(edges, score, side="right")
        key = codes * n_bins + fine
        size = len(periods) * n_bins
        rows = np.bincount(key, minlength=size).reshape(len(periods), n_bins)
        pos = np.bincount(key, weights=p_cal, minlength=size).reshape(len(periods), n_bins)
        right = np.where(score >= self.threshold, p_cal, 1.0 - p_cal)
        correct = np.bincount(codes, weights=right, minlength=len(periods))
        for i, p in enumerate(periods):
            if p.score_rows is None:
                p.score_rows = np.zeros(n_bins, dtype="int64")
                p.score_positive = np.zeros(n_bins, dtype="float64")
            p.score_rows += rows[i]
            p.score_positive += pos[i]
            p.expected_correct += float(correct[i])

    @staticmethod
    def _merge_into(target: FeatureCounts, counts: FeatureCounts) -> None:
        target.counts += counts.counts
        target.out_of_range += counts.out_of_range
        for name, c in counts.new_categories.items():
            target.new_categories[name] = target.new_categories.get(name, 0) + c

    def _merge(self, into: dict[str, FeatureCounts], name: str, counts: FeatureCounts) -> None:
        if name in into:
            self._merge_into(into[name], counts)
        else:
            into[name] = counts

    def periods(self) -> list[PeriodStats]:
        """The periods seen, in time order."""
        return [self.stats[k] for k in sorted(self.stats)]
