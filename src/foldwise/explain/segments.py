"""Where the model fails: per-row out-of-fold loss, the worst rows, and weak segments.

A segment is a slice of one feature (a category, "missing", or a quantile bin of a number) or
of two features (every pair of such slices). Each is tested against the rest of the rows with a
one-sided Welch t-test on the per-row out-of-fold loss (log loss, or squared error for
regression), and the p-values are Holm-corrected for every slice searched, so the chance of
any false flag stays at ``alpha``. A flagged slice must also be clearly worse: its mean loss at
least ``min_ratio`` times the overall mean, and a two-feature slice clearly worse than both of
its one-feature parents (else the parent alone tells the story). Slices that share most of
their rows are one finding, named by the slice with the strongest evidence (the largest
t statistic); the others are listed with it as ``similar``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from foldwise.metrics import score

_EPS = 1e-15
OTHER = "(other)"
MISSING = "(missing)"
PAIR_MIN_GAIN = 1.1  # a pair must be this much worse than its worse parent
MAX_OVERLAP = 0.5  # slices sharing most of their rows are one finding


def row_loss(task: str, y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per-row loss: log loss of the true class, or squared error for regression."""
    if task == "regression":
        return (np.asarray(y, dtype="float64") - scores) ** 2
    p = scores[np.arange(len(y)), np.asarray(y, dtype="int64")]
    return -np.log(np.clip(p, _EPS, 1.0))


@dataclass
class Slices:
    """One feature cut into slices: a code per row and a description per code."""

    feature: str
    codes: np.ndarray
    labels: list[str]


def _number(value: float) -> str:
    return f"{value:.4g}"


def slice_feature(values: pd.Series, name: str, bins: int, min_rows: int) -> Slices:
    """Quantile bins of a number or date; values with at least ``min_rows`` rows of a category."""
    values = values.reset_index(drop=True)
    missing = values.isna().to_numpy()
    numeric = (
        pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)
    ) and not pd.api.types.is_bool_dtype(values)
    codes = np.full(len(values), -1, dtype="int64")
    labels: list[str] = []
    if numeric and values.nunique() > bins:
        cut = pd.qcut(values, q=bins, duplicates="drop")
        codes = cut.cat.codes.to_numpy().astype("int64")
        dates = pd.api.types.is_datetime64_any_dtype(values)
        for b, interval in enumerate(cut.cat.categories):
            left, right = (
                (str(interval.left.date()), str(interval.right.date()))
                if dates
                else (_number(interval.left), _number(interval.right))
            )
            # qcut opens the first bin just below the minimum: say "<= right" instead
            labels.append(f"{name} <= {right}" if b == 0 else f"{name} in ({left}, {right}]")
    else:
        text = values.astype(object).where(~missing).map(str, na_action="ignore")
        counts = text.value_counts()
        kept = sorted(str(v) for v in counts[counts >= min_rows].index)
        lookup = {v: i for i, v in enumerate(kept)}
        labels = [f"{name} = {v}" for v in kept]
        codes = text.map(lookup).fillna(-1).to_numpy().astype("int64")
        rare = (codes < 0) & ~missing
        if rare.any():
            codes[rare] = len(labels)
            labels.append(f"{name} = {OTHER}")
    if missing.any():
        codes[missing] = len(labels)
        labels.append(f"{name} is missing")
    return Slices(name, codes, labels)


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether most of the rows of the smaller of two slices lie in the other."""
    shared = int((a & b).sum())
    return shared > MAX_OVERLAP * min(int(a.sum()), int(b.sum()))


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values."""
    m = len(p)
    order = np.argsort(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = adjusted
    return out


def _stats(codes: np.ndarray, size: int, loss: np.ndarray) -> tuple[np.ndarray, ...]:
    n = np.bincount(codes, minlength=size).astype("float64")
    s = np.bincount(codes, weights=loss, minlength=size)
    q = np.bincount(codes, weights=loss**2, minlength=size)
    return n, s, q


def _welch(n: np.ndarray, s: np.ndarray, q: np.ndarray, total: tuple[float, float, float]):
    """One-sided p-values of 'slice mean > rest mean' for slices with n rows, sum s, sum sq q."""
    N, S, Q = total
    n_r, s_r, q_r = N - n, S - s, Q - q
    with np.errstate(divide="ignore", invalid="ignore"):
        m, m_r = s / n, s_r / n_r
        v = np.maximum(q / n - m**2, 0.0) * n / np.maximum(n - 1, 1)
        v_r = np.maximum(q_r / n_r - m_r**2, 0.0) * n_r / np.maximum(n_r - 1, 1)
        se2 = v / n + v_r / n_r
        t = (m - m_r) / np.sqrt(se2)
        df = se2**2 / (
            (v / n) ** 2 / np.maximum(n - 1, 1) + (v_r / n_r) ** 2 / np.maximum(n_r - 1, 1)
        )
    p = stats.t.sf(t, np.nan_to_num(df, nan=1.0, posinf=1e6))
    p = np.where(np.isfinite(t), p, np.where(m > m_r, 0.0, 1.0))
    return m, p, np.nan_to_num(t, nan=0.0, posinf=1e12, neginf=-1e12)


def weak_segments(
    frame: pd.DataFrame,
    features: list[str],
    loss: np.ndarray,
    *,
    bins: int,
    min_rows: int,
    alpha: float,
    min_ratio: float,
) -> dict:
    """Slices of one or two features whose out-of-fold loss is significantly worse than the rest."""
    loss = np.asarray(loss, dtype="float64")
    N = float(len(loss))
    total = (N, float(loss.sum()), float((loss**2).sum()))
    overall = total[1] / N
    sliced = [slice_feature(frame[f], f, bins, min_rows) for f in features]
    candidates, singles = _single_slices(sliced, loss, total, min_rows)
    candidates += _pair_slices(sliced, loss, total, min_rows)
    adjusted: np.ndarray | list[float] = (
        _holm(np.asarray([c["p_value"] for c in candidates])) if candidates else []
    )
    flagged = []
    for cand, p_adj in zip(candidates, adjusted, strict=True):
        ratio = cand["mean_loss"] / overall if overall > 0 else float("nan")
        parents = [singles[part] for part in cand["parts"]] if len(cand["parts"]) > 1 else []
        clear = not parents or cand["mean_loss"] >= PAIR_MIN_GAIN * max(parents)
        if p_adj < alpha and ratio >= min_ratio and clear:
            flagged.append(
                {
                    "segment": cand["segment"],
                    "features": [sliced[i].feature for i, _ in cand["parts"]],
                    "rows": cand["rows"],
                    "share": cand["rows"] / N,
                    "mean_loss": cand["mean_loss"],
                    "loss_ratio": ratio,
                    "p_value": cand["p_value"],
                    "p_adjusted": float(p_adj),
                    "t": cand["t"],
                    "parent_loss_ratios": [v / overall for v in parents],
                    "_rows_mask": cand["parts"],
                }
            )
    flagged.sort(key=lambda f: (-f["loss_ratio"], f["p_adjusted"]))
    listed, overlapping = _one_per_cluster(flagged, sliced, len(loss))
    return {
        "overall_loss": overall,
        "slices_tested": len(candidates),
        "flagged": listed,
        "overlapping_left_out": overlapping,
    }


def _single_slices(
    sliced: list[Slices], loss: np.ndarray, total: tuple[float, float, float], min_rows: int
) -> tuple[list[dict], dict[tuple[int, int], float]]:
    """(testable one-feature slices, mean loss of every one-feature slice by (feature, code))."""
    N = total[0]
    candidates: list[dict] = []
    singles: dict[tuple[int, int], float] = {}
    for i, sl in enumerate(sliced):
        n, s, q = _stats(sl.codes, len(sl.labels), loss)
        mean, p, t = _welch(n, s, q, total)
        for c, label in enumerate(sl.labels):
            singles[(i, c)] = float(mean[c]) if n[c] else float("nan")
            if n[c] >= min_rows and N - n[c] >= min_rows:
                candidates.append(
                    {
                        "parts": [(i, c)],
                        "segment": label,
                        "rows": int(n[c]),
                        "mean_loss": float(mean[c]),
                        "p_value": float(p[c]),
                        "t": float(t[c]),
                    }
                )
    return candidates, singles


def _pair_slices(
    sliced: list[Slices], loss: np.ndarray, total: tuple[float, float, float], min_rows: int
) -> list[dict]:
    """Testable slices of two features (every pair of their one-feature slices)."""
    N = total[0]
    candidates: list[dict] = []
    for i in range(len(sliced)):
        for j in range(i + 1, len(sliced)):
            a, b = sliced[i], sliced[j]
            size = len(a.labels) * len(b.labels)
            codes = a.codes * len(b.labels) + b.codes
            n, s, q = _stats(codes, size, loss)
            ok = np.flatnonzero((n >= min_rows) & (N - n >= min_rows))
            if not len(ok):
                continue
            mean, p, t = _welch(n[ok], s[ok], q[ok], total)
            for k, code in enumerate(ok):
                ca, cb = divmod(int(code), len(b.labels))
                candidates.append(
                    {
                        "parts": [(i, ca), (j, cb)],
                        "segment": f"{a.labels[ca]} and {b.labels[cb]}",
                        "rows": int(n[code]),
                        "mean_loss": float(mean[k]),
                        "p_value": float(p[k]),
                        "t": float(t[k]),
                    }
                )
    return candidates


def _one_per_cluster(
    flagged: list[dict], sliced: list[Slices], rows: int
) -> tuple[list[dict], int]:
    """(one slice per group of overlapping flagged slices, how many were left out)."""
    clusters: list[list[dict]] = []
    for entry in flagged:
        mask = np.ones(rows, dtype=bool)
        for i, c in entry.pop("_rows_mask"):
            mask &= sliced[i].codes == c
        entry["mask"] = mask
        home = next((group for group in clusters if _overlap(mask, group[0]["mask"])), None)
        if home is None:
            clusters.append([entry])
        else:
            home.append(entry)
    # One slice per group of overlapping slices: the one with the strongest evidence, the
    # largest t (p-values underflow to 0 on large tables, so they cannot rank them) (a proxy
    # such as a price bin standing in for a plan is named as similar, not listed again).
    listed = []
    for group in clusters:
        best = max(group, key=lambda f: f["t"])
        best["similar"] = [f["segment"] for f in group if f is not best]
        listed.append(best)
    listed.sort(key=lambda f: (-f["loss_ratio"], f["p_adjusted"]))
    return listed, sum(len(group) - 1 for group in clusters)


def segment_metric(
    metric: str, y: np.ndarray, scores: np.ndarray, mask: np.ndarray, threshold: float
) -> float | None:
    """The primary metric on one slice (None where it is undefined there)."""
    value = score(metric, y[mask], scores[mask], threshold=threshold)
    return float(value) if value is not None and np.isfinite(value) else None
