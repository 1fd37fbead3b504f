"""foldwise compare: the corrected t-tests and the bootstrap behind every verdict (fast)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from foldwise.compare.inference import (
    corrected_paired_ttest,
    corrected_welch_test,
    independent_bootstrap,
)


def test_corrected_paired_ttest_matches_the_nadeau_bengio_formula():
    base = np.array([0.80, 0.82, 0.81, 0.83, 0.79])
    d = np.array([0.010, 0.020, 0.015, 0.012, 0.018])
    result = corrected_paired_ttest(base, base + d, 0.25, alpha=0.05, greater_is_better=True)
    se = math.sqrt((1 / 5 + 0.25) * d.var(ddof=1))
    t = d.mean() / se
    assert result.delta == pytest.approx(d.mean())
    assert result.p_value == pytest.approx(2 * stats.t.sf(t, df=4))
    half = stats.t.ppf(0.975, df=4) * se
    assert result.low == pytest.approx(d.mean() - half)
    assert result.high == pytest.approx(d.mean() + half)
    assert result.verdict == "better"


def test_correction_is_more_cautious_than_the_naive_paired_t_test():
    base = np.array([0.80, 0.82, 0.81, 0.83, 0.79])
    d = np.array([0.010, 0.002, 0.008, 0.001, 0.009])
    naive = stats.ttest_rel(base + d, base).pvalue
    result = corrected_paired_ttest(base, base + d, 0.25, alpha=0.05, greater_is_better=True)
    assert naive < 0.05  # the naive test calls it
    assert result.p_value > naive
    assert result.verdict == "within noise"


def test_direction_follows_the_metric():
    base = np.array([0.30, 0.31, 0.29, 0.32, 0.30])
    higher = base + np.array([0.05, 0.06, 0.055, 0.052, 0.058])
    loss = corrected_paired_ttest(base, higher, 0.25, alpha=0.05, greater_is_better=False)
    score = corrected_paired_ttest(base, higher, 0.25, alpha=0.05, greater_is_better=True)
    assert loss.verdict == "worse"
    assert score.verdict == "better"


def test_identical_folds_are_within_noise_and_a_constant_shift_is_not():
    base = np.array([0.7, 0.72, 0.71])
    same = corrected_paired_ttest(base, base.copy(), 0.5, alpha=0.05, greater_is_better=True)
    assert (same.verdict, same.p_value, same.delta) == ("within noise", 1.0, 0.0)
    shifted = corrected_paired_ttest(base, base - 0.01, 0.5, alpha=0.05, greater_is_better=True)
    assert shifted.verdict == "worse"


def test_one_fold_is_not_testable():
    result = corrected_paired_ttest(
        np.array([0.7]), np.array([0.8]), 0.25, alpha=0.05, greater_is_better=True
    )
    assert result.verdict == "not testable"


def test_welch_on_different_folds_sees_a_large_gap_but_not_noise():
    rng = np.random.default_rng(0)
    a = 0.80 + rng.normal(0, 0.005, 5)
    far = 0.86 + rng.normal(0, 0.005, 5)
    near = 0.80 + rng.normal(0, 0.005, 5)
    assert corrected_welch_test(a, far, 0.25, 0.25, alpha=0.05, greater_is_better=True).verdict == (
        "better"
    )
    close = corrected_welch_test(a, near, 0.25, 0.25, alpha=0.05, greater_is_better=True)
    assert close.verdict == "within noise"
    assert close.method.startswith("corrected Welch")


def test_independent_bootstrap_on_different_rows():
    rng = np.random.default_rng(1)
    y_a = rng.integers(0, 2, 400)
    y_b = rng.integers(0, 2, 400)
    good = np.clip(0.5 + 0.4 * (2 * y_b - 1) + rng.normal(0, 0.2, 400), 0.01, 0.99)
    poor = np.clip(0.5 + 0.05 * (2 * y_a - 1) + rng.normal(0, 0.2, 400), 0.01, 0.99)
    result = independent_bootstrap(
        "roc_auc", (y_a, poor, 0.5), (y_b, good, 0.5), n_samples=200, seed=0, alpha=0.05
    )
    assert result.verdict == "better"
    assert result.low > 0
