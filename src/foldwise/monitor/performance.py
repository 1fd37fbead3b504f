"""Realized performance (labels) and estimated performance (no labels), against the CV estimate.

Estimation follows confidence-based performance estimation (NannyML's CBPE): when the model's
probabilities are calibrated, a row scored p is a positive with probability p, so the expected
confusion counts, ROC curve and accuracy of a period follow from its scores alone. The
probabilities are calibrated by Platt scaling fitted on out-of-fold predictions at train time
(multiclass: the probability of the predicted class mapped to how often it was right).
The interval is the spread of the realized metric over labels drawn from those probabilities.
It sees performance change through changed inputs only: when the relationship between features
and target changes while the inputs stay the same (concept change), the estimate cannot move.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from foldwise.evaluation import bootstrap_interval
from foldwise.metrics import get_metric
from foldwise.monitor.collect import PeriodStats
from foldwise.profile.reference import (
    bins_for,
    is_binned,
    n_slots,
    positive_probability,
    residual_profile,
)

MIN_BIN_ROWS = 20  # residuals: bins with fewer labelled rows are left out of the statistic
ESTIMABLE = {"binary": ("roc_auc", "accuracy"), "multiclass": ("accuracy",), "regression": ()}


def _binned_auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """ROC-AUC from positives/negatives per score bin (ascending); ties within a bin count ½.

    ``pos`` and ``neg`` are (B, bins); returns B values (NaN where a class is absent).
    """
    neg_below = np.cumsum(neg, axis=1) - neg
    wins = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
    total = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, wins / total, np.nan)


def estimate(
    stats_: PeriodStats, task: str, n_samples: int, alpha: float, seed: int
) -> dict[str, dict[str, Any]]:
    """Estimated metrics of one period with (1 - alpha) intervals, from scores alone."""
    out: dict[str, dict[str, Any]] = {}
    rng = np.random.default_rng(seed)
    if task == "binary" and stats_.score_rows is not None and stats_.rows:
        rows, pos = stats_.score_rows.astype("float64"), stats_.score_positive
        assert pos is not None
        point = float(_binned_auc(pos[None], (rows - pos)[None])[0])
        rate = np.divide(pos, rows, out=np.zeros_like(pos), where=rows > 0)
        drawn = rng.binomial(stats_.score_rows[None].repeat(n_samples, 0), rate[None])
        sims = _binned_auc(drawn, rows[None] - drawn)
        sims = sims[np.isfinite(sims)]
        low, high = np.quantile(sims, [alpha / 2, 1 - alpha / 2]) if len(sims) else (None, None)
        out["roc_auc"] = {"estimate": point, "low": _f(low), "high": _f(high)}
    if task in ("binary", "multiclass") and stats_.rows:
        acc = stats_.expected_correct / stats_.rows
        half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(max(acc * (1 - acc), 0.0) / stats_.rows)
        out["accuracy"] = {"estimate": acc, "low": acc - half, "high": acc + half}
    return out


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def realized(
    frame: pd.DataFrame,
    task: str,
    metrics: list[str],
    threshold: float | None,
    n_samples: int,
    alpha: float,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """Metrics on one period's labelled rows, each with a bootstrap (1 - alpha) interval."""
    y = frame["y"].to_numpy()
    pred: np.ndarray
    if task == "regression":
        pred = frame["value"].to_numpy(dtype="float64")
    else:
        pred = frame[[c for c in frame.columns if c.startswith("proba_")]].to_numpy("float64")
    out = {}
    for i, metric in enumerate(metrics):
        result = bootstrap_interval(
            metric,
            y,
            pred,
            n_samples=n_samples,
            seed=seed + i,
            alpha=alpha,
            threshold=0.5 if threshold is None else threshold,
        )
        if result["estimate"] is not None:
            out[metric] = {k: result[k] for k in ("estimate", "low", "high")}
    return out


def drop_against(
    result: dict[str, Any] | None, cv: dict[str, Any] | None, metric: str, tolerance: float
) -> dict[str, Any] | None:
    """Is the metric worse than the CV mean by more than ``tolerance``, beyond its interval?"""
    if not result or not cv or cv.get("mean") is None or result.get("high") is None:
        return None
    greater = get_metric(metric).greater_is_better
    mean = float(cv["mean"])
    worse_by = (mean - result["estimate"]) if greater else (result["estimate"] - mean)
    beyond = result["high"] < mean if greater else result["low"] > mean
    return {
        "metric": metric,
        "cv_mean": mean,
        "worse_by": worse_by,
        "dropped": bool(worse_by > tolerance and beyond),
    }


def _bin_names(profile: dict[str, Any]) -> list[str]:
    if is_binned(profile["kind"]):
        edges = profile["edges"]
        bounds = ["-inf", *[f"{e:g}" for e in edges], "inf"]
        return ["missing", *[f"[{a}, {b})" for a, b in itertools.pairwise(bounds)]]
    return ["missing", *profile["categories"], "other", "unseen"]


def residuals_by_feature(
    frame: pd.DataFrame, reference: dict[str, Any], alpha: float, top: int = 3
) -> list[dict[str, Any]]:
    """Features along which labels depart from the calibrated predictions more than in training.

    Per reference bin of each feature: observed positives O, expected E = sum of calibrated p
    plus the bin's out-of-fold misfit (the model's own error there, from the reference), and
    the variance of both; sum ((O - E)^2 / var) is chi-square with one degree of freedom per
    bin while the relationship holds. A concept change shows up in the feature whose
    relationship with the target changed; a pure covariate shift does not.
    """
    p = positive_probability(frame["value"].to_numpy("float64"), reference["prediction"])
    y = frame["y"].to_numpy("float64")
    rows = []
    n_features = len(reference["features"])
    for name, profile in reference["features"].items():
        ref = profile.get("residual")
        if ref is None:
            continue
        size = n_slots(profile)
        cur = residual_profile(bins_for(frame[f"f:{name}"].to_numpy(), profile), size, y, p)
        n, o, e, v = (np.asarray(cur[k]) for k in ("rows", "observed", "expected", "variance"))
        r_n, r_o, r_e, r_v = (
            np.asarray(ref[k]) for k in ("rows", "observed", "expected", "variance")
        )
        seen = r_n > 0
        offset = np.divide(r_o - r_e, r_n, out=np.zeros(size), where=seen)
        spread = np.divide(r_v, r_n**2, out=np.zeros(size), where=seen)
        expected = e + n * offset
        var = v + n**2 * spread
        # Sparse bins (rare categories) break the chi-square approximation: judge bins with
        # enough rows only.
        ok = (n >= MIN_BIN_ROWS) & (var > 1e-9)
        z = np.zeros(size)
        z[ok] = (o[ok] - expected[ok]) / np.sqrt(var[ok])
        statistic = float(np.sum(z[ok] ** 2))
        p_value = float(stats.chi2.sf(statistic, int(ok.sum()))) if ok.any() else 1.0
        worst = int(np.argmax(np.abs(z)))
        rows.append(
            {
                "feature": name,
                "statistic": statistic,
                "bins": int(ok.sum()),
                "p_value": p_value,
                "significant": bool(p_value < alpha / n_features),
                "worst_bin": _bin_names(profile)[worst],
                "worst_rows": int(n[worst]),
                "observed_rate": float(o[worst] / n[worst]) if n[worst] else None,
                "expected_rate": float(expected[worst] / n[worst]) if n[worst] else None,
            }
        )
    rows.sort(key=lambda r: (r["p_value"], -r["statistic"]))
    return rows[:top]


def metric_names(task: str, primary: str) -> list[str]:
    """The realized metrics to report: the primary one and those that can be estimated."""
    names = [primary, *[m for m in ESTIMABLE[task] if m != primary]]
    return [m for m in names if task in get_metric(m).tasks]
