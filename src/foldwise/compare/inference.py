"""The statistics behind every verdict: a difference ``target - base``, its interval and p-value.

Fold scores are compared with t-tests whose variance carries Nadeau & Bengio's correction
(paired on the same folds, Welch otherwise); test scores of different test rows with
independent bootstraps (the paired bootstrap lives in :mod:`foldwise.evaluation`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from foldwise.evaluation import bootstrap_p_value, percentile_interval, resample_counts
from foldwise.metrics import get_metric, score, score_weighted

Verdict = str  # "better" | "worse" | "within noise" | "not testable"


@dataclass(frozen=True)
class Inference:
    """A difference ``target - base`` with its interval, p-value and verdict."""

    method: str
    delta: float
    low: float | None
    high: float | None
    p_value: float | None
    verdict: Verdict


def verdict_of(low: float | None, high: float | None, greater_is_better: bool) -> Verdict:
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "not testable"
    if low > 0:
        return "better" if greater_is_better else "worse"
    if high < 0:
        return "worse" if greater_is_better else "better"
    return "within noise"


def corrected_paired_ttest(
    base: np.ndarray,
    target: np.ndarray,
    test_train_ratio: float,
    *,
    alpha: float,
    greater_is_better: bool,
) -> Inference:
    """Nadeau & Bengio's corrected resampled t-test on per-fold differences (same folds).

    The variance of the mean difference is ``(1/J + n_test/n_train) * s²`` rather than
    ``s²/J``: folds share training rows, so their scores are correlated and the naive test
    is far too eager to call a difference real.
    """
    d = np.asarray(target, dtype="float64") - np.asarray(base, dtype="float64")
    j = len(d)
    mean = float(d.mean())
    if j < 2:
        return Inference("corrected paired t-test", mean, None, None, None, "not testable")
    var = float(d.var(ddof=1))
    if var == 0.0:
        # The same difference on every fold: no noise to weigh it against.
        p = 1.0 if mean == 0.0 else 0.0
        return Inference(
            "corrected paired t-test",
            mean,
            mean,
            mean,
            p,
            verdict_of(mean, mean, greater_is_better),
        )
    se = math.sqrt((1.0 / j + test_train_ratio) * var)
    t = mean / se
    p = float(2 * stats.t.sf(abs(t), df=j - 1))
    half = float(stats.t.ppf(1 - alpha / 2, df=j - 1)) * se
    low, high = mean - half, mean + half
    return Inference(
        "corrected paired t-test", mean, low, high, p, verdict_of(low, high, greater_is_better)
    )


def corrected_welch_test(
    base: np.ndarray,
    target: np.ndarray,
    ratio_base: float,
    ratio_target: float,
    *,
    alpha: float,
    greater_is_better: bool,
) -> Inference:
    """Unpaired comparison of fold scores from different folds (Welch, corrected variances)."""
    a = np.asarray(base, dtype="float64")
    b = np.asarray(target, dtype="float64")
    delta = float(b.mean() - a.mean())
    if len(a) < 2 or len(b) < 2:
        return Inference(
            "corrected Welch t-test (unpaired)", delta, None, None, None, "not testable"
        )
    va = (1.0 / len(a) + ratio_base) * a.var(ddof=1)
    vb = (1.0 / len(b) + ratio_target) * b.var(ddof=1)
    se2 = va + vb
    if se2 == 0.0:
        p = 1.0 if delta == 0.0 else 0.0
        return Inference(
            "corrected Welch t-test (unpaired)",
            delta,
            delta,
            delta,
            p,
            verdict_of(delta, delta, greater_is_better),
        )
    df_den = (va**2 / (len(a) - 1) if va else 0.0) + (vb**2 / (len(b) - 1) if vb else 0.0)
    df = se2**2 / df_den if df_den else float(len(a) + len(b) - 2)
    se = math.sqrt(se2)
    p = float(2 * stats.t.sf(abs(delta / se), df=df))
    half = float(stats.t.ppf(1 - alpha / 2, df=df)) * se
    low, high = delta - half, delta + half
    return Inference(
        "corrected Welch t-test (unpaired)",
        delta,
        low,
        high,
        p,
        verdict_of(low, high, greater_is_better),
    )


def independent_bootstrap(
    metric: str,
    base: tuple[np.ndarray, np.ndarray, float],
    target: tuple[np.ndarray, np.ndarray, float],
    *,
    n_samples: int,
    seed: int,
    alpha: float,
) -> Inference:
    """``target - base`` when the two runs scored different test rows: resampled separately."""
    m = get_metric(metric)
    rng = np.random.default_rng(seed)
    scores = []
    for y, x, threshold in (base, target):
        resampled = [
            score_weighted(metric, y, x, counts, threshold=threshold)
            for counts in resample_counts(rng, len(y), n_samples)
        ]
        scores.append((score(metric, y, x, threshold=threshold), np.concatenate(resampled)))
    delta = float(scores[1][0] - scores[0][0])
    d = scores[1][1] - scores[0][1]
    d = d[np.isfinite(d)]
    low, high = percentile_interval(d, alpha)
    return Inference(
        "independent bootstrap (different test rows)",
        delta,
        low,
        high,
        bootstrap_p_value(d),
        verdict_of(low, high, m.greater_is_better),
    )
