"""Data quality: column profiles, the target's distribution, and per-column findings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from scipy import stats

from foldwise.audit.common import infer_kind, make_finding, share_of, to_float
from foldwise.config import AuditConfig

_OUTLIER_IQR = 3.0
_QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)


def column_profiles(
    train: pd.DataFrame, schema: dict[str, Any], kinds: dict[str, str]
) -> dict[str, Any]:
    """Role, kind, missing share, distinct values and numeric summary of every column."""
    roles: dict[str, str] = {schema["target"]: "target"}
    roles.update(dict.fromkeys(schema.get("id_columns") or [], "id"))
    roles.update(dict.fromkeys(schema.get("drop_columns") or [], "drop_column"))
    for key, role in (("time_column", "time"), ("group_column", "group")):
        if schema.get(key):
            roles.setdefault(schema[key], role)
    n = len(train)
    out: dict[str, Any] = {}
    for name in train.columns:
        s = train[name]
        kind = kinds.get(name) or infer_kind(s)
        vc = s.value_counts(dropna=False)
        prof: dict[str, Any] = {
            "role": roles.get(name, "feature" if name in kinds else "unused"),
            "kind": kind,
            "dtype": str(s.dtype),
            "missing_share": share_of(s.isna().sum(), n),
            "unique": int(s.nunique(dropna=True)),
            "top_value_share": share_of(int(vc.iloc[0]), n) if len(vc) else None,
        }
        if kind == "numeric" and not ptypes.is_bool_dtype(s.dtype):
            prof.update(_numeric_profile(to_float(s, kind)))
        out[name] = prof
    return out


def _numeric_profile(x: np.ndarray) -> dict[str, Any]:
    """Summary numbers and the share of values beyond 3×IQR fences (None when IQR is 0)."""
    ok = x[~np.isnan(x)]
    if not ok.size:
        keys = ("mean", "std", "min", "median", "max", "outlier_share")
        return dict.fromkeys(keys)
    q1, med, q3 = np.quantile(ok, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    share = None
    if iqr > 0:
        lo, hi = q1 - _OUTLIER_IQR * iqr, q3 + _OUTLIER_IQR * iqr
        share = float(np.mean((ok < lo) | (ok > hi)))
    return {
        "mean": float(ok.mean()),
        "std": float(ok.std(ddof=1)) if ok.size > 1 else None,
        "min": float(ok.min()),
        "median": float(med),
        "max": float(ok.max()),
        "outlier_share": share,
    }


def target_section(
    train: pd.DataFrame, schema: dict[str, Any], config: AuditConfig
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The target's distribution (classes or quantiles) and its imbalance/outlier findings."""
    name, task = schema["target"], schema["task"]
    y = train[name]
    findings: list[dict[str, Any]] = []
    if task == "regression":
        x = to_float(y, "numeric")
        ok = x[~np.isnan(x)]
        prof = _numeric_profile(x)
        section: dict[str, Any] = {
            "column": name,
            "task": task,
            "rows": int(ok.size),
            "mean": prof["mean"],
            "std": prof["std"],
            "quantiles": (
                {
                    str(q): float(v)
                    for q, v in zip(_QUANTILES, np.quantile(ok, _QUANTILES), strict=True)
                }
                if ok.size
                else {}
            ),
            "skew": float(stats.skew(ok)) if ok.size > 2 else None,
            "outlier_share": prof["outlier_share"],
        }
        if prof["outlier_share"] is not None and prof["outlier_share"] > config.outlier_share:
            findings.append(_outlier_finding(name, prof["outlier_share"], config, target=True))
        return section, findings
    counts = y.value_counts(dropna=True)
    counts_d = {str(k): int(v) for k, v in counts.items()}
    total = sum(counts_d.values())
    ratio = (max(counts_d.values()) / min(counts_d.values())) if counts_d else None
    section = {
        "column": name,
        "task": task,
        "rows": total,
        "counts": counts_d,
        "shares": {k: v / total for k, v in counts_d.items()} if total else {},
        "majority_class": str(counts.index[0]) if len(counts) else None,
        "minority_class": str(counts.index[-1]) if len(counts) else None,
        "imbalance_ratio": ratio,
    }
    if ratio is not None and ratio > config.imbalance_ratio:
        minority = section["minority_class"]
        findings.append(
            make_finding(
                "imbalance",
                name,
                f"The majority class outnumbers the minority class {minority!r} by "
                f"{ratio:.1f} to 1 (threshold {config.imbalance_ratio:g}); prefer ranking "
                "metrics and stratified folds.",
                ratio,
                f"majority/minority ratio {ratio:.1f} > {config.imbalance_ratio:g}",
            )
        )
    return section, findings


def _outlier_finding(
    name: str, share: float, config: AuditConfig, target: bool = False
) -> dict[str, Any]:
    what = "The target" if target else f"Column {name!r}"
    return make_finding(
        "outliers",
        name,
        f"{what} has {share:.1%} of its values beyond 3×IQR from the quartiles "
        f"(threshold {config.outlier_share:.0%}).",
        share,
        f"{share:.1%} beyond 3×IQR > {config.outlier_share:.0%}",
    )


def quality_findings(
    profiles: dict[str, Any], kinds: dict[str, str], config: AuditConfig
) -> list[dict[str, Any]]:
    """Missing, constant, high-cardinality and outlier findings of the features."""
    out: list[dict[str, Any]] = []
    for name in kinds:
        p = profiles[name]
        miss = p["missing_share"] or 0.0
        if miss > config.missing_share:
            out.append(
                make_finding(
                    "missing",
                    name,
                    f"Column {name!r} is missing in {miss:.1%} of training rows "
                    f"(threshold {config.missing_share:.0%}).",
                    miss,
                    f"{miss:.1%} missing > {config.missing_share:.0%}",
                )
            )
        n_values = p["unique"] + (1 if miss > 0 else 0)
        top = p["top_value_share"] or 0.0
        if n_values <= 1:
            out.append(
                make_finding(
                    "constant",
                    name,
                    f"Column {name!r} holds a single value in every training row.",
                    1.0,
                    "a single value",
                )
            )
        elif top >= config.near_constant_share:
            out.append(
                make_finding(
                    "constant",
                    name,
                    f"Column {name!r} is near-constant: its most common value fills {top:.1%} "
                    f"of training rows (threshold {config.near_constant_share:.0%}).",
                    top,
                    f"top value share {top:.1%} >= {config.near_constant_share:.0%}",
                )
            )
        if kinds[name] == "categorical" and p["unique"] > config.high_cardinality:
            out.append(
                make_finding(
                    "high_cardinality",
                    name,
                    f"Categorical column {name!r} has {p['unique']} distinct values "
                    f"(threshold {config.high_cardinality}).",
                    p["unique"],
                    f"{p['unique']} distinct values > {config.high_cardinality}",
                )
            )
        share = p.get("outlier_share")
        if share is not None and share > config.outlier_share:
            out.append(_outlier_finding(name, share, config))
    return out
