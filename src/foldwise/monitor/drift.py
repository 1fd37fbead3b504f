"""Data quality and drift of one period's counts against the reference profile.

Drift is judged on two things at once: the size of the change (PSI over the reference bins)
and whether it is more than sampling noise (KS on the binned distribution for numbers and
dates, chi-square on the category counts otherwise, both using both sample sizes). Large
batches make tiny changes significant, small batches make PSI noisy; requiring both keeps
either from raising alarms on its own.

Two rules keep sampling noise from alarming, whatever the batch size:

* **Categories are compared over the top categories plus "other".** A category keeps its own
  bin when the batch holds, or is expected to hold (its training share times the batch's
  rows), at least :data:`MIN_EXPECTED` rows of it, at most :data:`MAX_DRIFT_CATEGORIES`; the
  rest, and categories never seen in training, make one "other" bin. Hundreds of rare cities
  with two or three rows each would otherwise give a PSI of about 0.2 from noise alone at
  2,000 rows, and a chi-square test whose approximation does not hold.
* **PSI must exceed what sampling noise gives.** Between two samples of one distribution
  over B bins, PSI is about a chi-square statistic over the effective sample size: its
  expectation is (B - 1) (1/n + 1/n_ref) (``psi_noise``). A column drifted when PSI >=
  ``monitor.drift_psi`` + ``psi_noise`` (and the test is significant). With 2,000 rows and
  10 bins that adds 0.005; with 200 rows, 0.05.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from foldwise.config import MonitorConfig
from foldwise.monitor.collect import FeatureCounts
from foldwise.profile.reference import is_binned


def reference_counts(profile: dict[str, Any]) -> np.ndarray:
    """The reference counts in the collector's layout (categories get an 'unseen' slot)."""
    counts = np.asarray(profile["counts"], dtype="float64")
    return counts if is_binned(profile["kind"]) else np.append(counts, 0.0)


MIN_EXPECTED = 5.0  # a category keeps its own bin when the batch should hold this many rows
MAX_DRIFT_CATEGORIES = 20  # at most this many categories keep their own bin


def top_categories(expected: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Category counts folded to [missing, top categories..., other] (collector layout in).

    ``expected`` and ``actual`` are [missing, categories..., other, unseen]. A category keeps
    its bin when the batch holds, or is expected to hold from its training share, at least
    :data:`MIN_EXPECTED` of its non-missing rows (at most :data:`MAX_DRIFT_CATEGORIES`, the
    largest share first), so a rare category that suddenly takes a large share is seen on
    its own rather than diluted in "other". The others, the reference's own "other" and the
    categories never seen in training are summed into "other".
    """
    categories = expected[1:-2]
    present = actual[1:].sum()
    share = np.maximum(categories / max(expected[1:].sum(), 1.0), actual[1:-2] / max(present, 1.0))
    order = np.argsort(-share, kind="stable")
    kept = order[share[order] * present >= MIN_EXPECTED][:MAX_DRIFT_CATEGORIES]
    rest = np.ones(len(categories), dtype=bool)
    rest[kept] = False

    def fold(counts: np.ndarray) -> np.ndarray:
        cats = counts[1:-2]
        other = cats[rest].sum() + counts[-2:].sum()
        return np.concatenate([counts[:1], cats[kept], [other]])

    return fold(expected), fold(actual)


def psi_noise(expected: np.ndarray, actual: np.ndarray) -> float:
    """The PSI that sampling noise alone gives on average: (bins - 1) (1/n + 1/n_ref).

    Only bins with rows on either side count (as in :func:`psi`).
    """
    n_e, n_a = expected.sum(), actual.sum()
    if n_e == 0 or n_a == 0:
        return 0.0
    bins = int(((expected + actual) > 0).sum())
    return float(max(bins - 1, 0) * (1.0 / n_a + 1.0 / n_e))


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of ``actual`` counts against ``expected`` counts.

    Shares are smoothed with half a count per bin so empty bins stay finite.
    """
    keep = (expected + actual) > 0
    e, a = expected[keep] + 0.5, actual[keep] + 0.5
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def ks_binned(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic on binned values and its asymptotic p-value.

    The statistic is read at the bin edges, so it is at most the exact one (conservative).
    """
    n_e, n_a = expected.sum(), actual.sum()
    if n_e == 0 or n_a == 0:
        return 0.0, 1.0
    d = float(np.max(np.abs(np.cumsum(expected) / n_e - np.cumsum(actual) / n_a)))
    n_eff = n_e * n_a / (n_e + n_a)
    return d, float(stats.kstwobign.sf(d * math.sqrt(n_eff)))


def chi_square(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Chi-square test of homogeneity of the two count vectors (2 x bins table)."""
    keep = (expected + actual) > 0
    if keep.sum() < 2 or expected.sum() == 0 or actual.sum() == 0:
        return 0.0, 1.0
    result = stats.chi2_contingency(np.vstack([expected[keep], actual[keep]]), correction=False)
    return float(result.statistic), float(result.pvalue)


def compare_counts(
    profile: dict[str, Any], counts: FeatureCounts, n_tests: int, config: MonitorConfig
) -> dict[str, Any]:
    """PSI and the type's test for one column; ``drifted`` when both say so.

    Categories are folded to the top categories plus "other" first (:func:`top_categories`);
    PSI counts as drift from ``config.drift_psi`` above the noise level (:func:`psi_noise`).
    """
    expected = reference_counts(profile)
    actual = counts.counts.astype("float64")
    if not is_binned(profile["kind"]):
        expected, actual = top_categories(expected, actual)
    value = psi(expected, actual)
    noise = psi_noise(expected, actual)
    if is_binned(profile["kind"]):
        test = "ks"
        statistic, p = ks_binned(expected[1:], actual[1:])  # values only; missing is checked apart
        if profile["missing_share"] > 0 or actual[0] > 0:
            _, p_missing = chi_square(
                np.array([expected[0], expected[1:].sum()]), np.array([actual[0], actual[1:].sum()])
            )
            p = min(1.0, 2 * min(p, p_missing))
    else:
        test = "chi2"
        statistic, p = chi_square(expected, actual)
    significant = p < config.alpha / max(1, n_tests)
    return {
        "psi": value,
        "psi_noise": noise,
        "psi_threshold": config.drift_psi + noise,
        "bins": int(((expected + actual) > 0).sum()),
        "test": test,
        "statistic": statistic,
        "p_value": p,
        "significant": bool(significant),
        "drifted": bool(significant and value >= config.drift_psi + noise),
    }


def _above(k: int, n: int, rate: float, alpha: float) -> bool:
    """Are ``k`` of ``n`` significantly more than ``rate`` would give (one-sided binomial)?"""
    if rate <= 0:
        return k > 0
    return bool(
        stats.binomtest(int(k), int(n), min(rate, 1.0), alternative="greater").pvalue < alpha
    )


def good_turing_variance(profile: dict[str, Any]) -> float:
    """Variance of the Good-Turing share of unseen categories around the true one.

    Esty (1983): (n1 (1 - n1/n) + 2 n2) / n^2, with n1 and n2 the categories seen once and
    twice among the n non-missing training rows. A profile that kept only its top categories
    (``truncated``) lacks n2: then n1/n^2 from the stored share, the binomial part alone.
    """
    n = max(1, profile["rows"] - profile["counts"][0])
    expected = float(profile.get("unseen_expected", 0.0))
    if profile.get("truncated", False):
        return expected / n
    counts = np.asarray(profile["counts"][1:-1])
    n1, n2 = float((counts == 1).sum()), float((counts == 2).sum())
    return max((n1 * (1 - n1 / n) + 2 * n2) / n**2, expected / n)


def _unseen_above(
    unseen: int, rows: int, expected: float, reference_variance: float, alpha: float
) -> bool:
    """Are ``unseen`` of ``rows`` significantly more than the Good-Turing ``expected`` share?

    The expected share is itself estimated from training, so its variance
    (:func:`good_turing_variance`) is added to the batch's binomial variance; testing against
    it as if it were exact flags honest long-tail months.
    """
    if expected <= 0:
        return unseen > 0
    variance = expected * (1 - expected) / rows + reference_variance
    z = (unseen / rows - expected) / np.sqrt(variance)
    return bool(stats.norm.sf(z) < alpha)


def quality_findings(
    name: str,
    profile: dict[str, Any],
    counts: FeatureCounts,
    config: MonitorConfig,
    n_tests: int = 1,
) -> list[dict[str, Any]]:
    """Missing-share jumps, out-of-range values and unseen categories of one column.

    Each test is at ``config.alpha / n_tests`` (``n_tests``: the number of features, the
    Bonferroni correction the drift tests use too).
    """
    alpha = config.alpha / max(1, n_tests)
    findings: list[dict[str, Any]] = []
    rows = int(counts.counts.sum())
    if rows == 0:
        return findings
    missing = counts.counts[0] / rows
    ref_missing = profile["missing_share"]
    if missing - ref_missing > config.missing_jump:
        _, p = chi_square(
            np.array([profile["counts"][0], profile["rows"] - profile["counts"][0]], dtype=float),
            np.array([counts.counts[0], rows - counts.counts[0]], dtype=float),
        )
        if p < alpha:
            findings.append(
                {
                    "check": "missing_jump",
                    "column": name,
                    "value": float(missing),
                    "reference": float(ref_missing),
                    "message": f"{name}: {missing:.1%} missing vs {ref_missing:.1%} in training",
                }
            )
    present = rows - counts.counts[0]
    if is_binned(profile["kind"]) and present and profile["min"] is not None:
        share = counts.out_of_range / present
        # Even from the training distribution about 2 in n_ref + 1 new values fall outside
        # the training range; flag a share beyond the tolerance and beyond that chance.
        chance = 2.0 / (profile["rows"] - profile["counts"][0] + 1)
        if share > config.out_of_range_share and _above(
            counts.out_of_range, present, chance, alpha
        ):
            findings.append(
                {
                    "check": "out_of_range",
                    "column": name,
                    "value": float(share),
                    "message": f"{name}: {share:.1%} of values outside the training range "
                    f"[{profile['min']:g}, {profile['max']:g}]",
                }
            )
    if counts.new_categories:
        unseen = sum(counts.new_categories.values())
        share = unseen / rows
        # A long tail keeps producing unseen levels; flag only beyond what training predicts.
        expected = profile.get("unseen_expected", 0.0)
        if share > expected + config.new_category_share and _unseen_above(
            unseen, rows, expected, good_turing_variance(profile), alpha
        ):
            top = sorted(counts.new_categories.items(), key=lambda kv: -kv[1])[:5]
            findings.append(
                {
                    "check": "new_categories",
                    "column": name,
                    "value": float(share),
                    "categories": [k for k, _ in top],
                    "message": f"{name}: {share:.1%} of rows have categories never seen in "
                    f"training, e.g. {[k for k, _ in top]}",
                }
            )
    return findings


def feature_drift(
    features: dict[str, FeatureCounts],
    reference: dict[str, Any],
    config: MonitorConfig,
) -> list[dict[str, Any]]:
    """Drift of every feature, ranked by PSI weighted by the model's importance share."""
    importance = reference.get("importance") or {}
    n = len(reference["features"])
    rows = []
    for name, profile in reference["features"].items():
        result = compare_counts(profile, features[name], n, config)
        share = importance.get(name)
        weight = share * n if share is not None else 1.0  # 1 = an average feature
        rows.append(
            {
                "feature": name,
                "kind": profile["kind"],
                "importance": share,
                "relied_on": share is None or share >= config.drift_min_importance,
                "weighted_psi": result["psi"] * weight,
            }
            | result
        )
    return sorted(rows, key=lambda r: (-r["drifted"], -r["weighted_psi"]))
