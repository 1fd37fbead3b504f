"""Train-vs-test checks computed by ``prepare`` on label-free frames: drift, adversarial
validation, rows on both sides, temporal and group overlap."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from foldwise.audit.common import (
    design_matrix,
    feature_kinds,
    jsonable,
    one_thread,
    share_of,
    to_float,
)
from foldwise.audit.duplicates import train_test_duplicates
from foldwise.config import AuditConfig

_PSI_BINS = 10
_PSI_TOP_CATEGORIES = 20
_PSI_EPS = 1e-4
_ADV_FOLDS = 5
_TOP_DRIVERS = 5
_ADV_PARAMS: dict[str, Any] = {
    "max_iter": 60,
    "learning_rate": 0.1,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "early_stopping": False,
}


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.clip(expected / max(expected.sum(), 1), _PSI_EPS, None)
    a = np.clip(actual / max(actual.sum(), 1), _PSI_EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _numeric_drift(tr: np.ndarray, te: np.ndarray) -> dict[str, Any]:
    """PSI over train-quantile bins plus a missing bucket, and a two-sample KS test."""
    tr_ok, te_ok = tr[~np.isnan(tr)], te[~np.isnan(te)]
    if tr_ok.size:
        edges = np.unique(np.quantile(tr_ok, np.linspace(0, 1, _PSI_BINS + 1)[1:-1]))
    else:
        edges = np.empty(0)
    nb = edges.size + 1

    def counts(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
        c = np.bincount(np.searchsorted(edges, ok, side="right"), minlength=nb).astype(float)
        return np.append(c, x.size - ok.size)

    out: dict[str, Any] = {"psi": _psi(counts(tr, tr_ok), counts(te, te_ok))}
    if tr_ok.size and te_ok.size:
        ks = stats.ks_2samp(tr_ok, te_ok)
        out["ks_statistic"], out["ks_pvalue"] = float(ks.statistic), float(ks.pvalue)
        out["median_train"], out["median_test"] = float(np.median(tr_ok)), float(np.median(te_ok))
    else:
        out["ks_statistic"] = out["ks_pvalue"] = None
    return out


def _categorical_drift(tr: pd.Series, te: pd.Series) -> dict[str, Any]:
    """PSI over the most frequent train categories, an 'other' bucket and a missing bucket."""
    top = tr.value_counts(dropna=True).index[:_PSI_TOP_CATEGORIES]

    def counts(s: pd.Series) -> np.ndarray:
        vc = s.value_counts(dropna=True)
        known = vc.reindex(top, fill_value=0).to_numpy(dtype=float)
        other = float(vc.sum()) - known.sum()
        return np.append(known, [other, float(s.isna().sum())])

    unseen = int((~te.dropna().isin(set(tr.dropna().unique()))).sum())
    return {
        "psi": _psi(counts(tr), counts(te)),
        "test_rows_unseen_category": unseen,
    }


def _drift(train: pd.DataFrame, test: pd.DataFrame, kinds: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in kinds.items():
        tr, te = train[name], test[name]
        if kind in ("numeric", "datetime"):
            d = _numeric_drift(to_float(tr, kind), to_float(te, kind))
        else:
            d = _categorical_drift(tr, te)
        out[name] = {
            "kind": kind,
            **d,
            "missing_share_train": share_of(tr.isna().sum(), len(tr)),
            "missing_share_test": share_of(te.isna().sum(), len(te)),
        }
    return out


def _adversarial_auc(x: np.ndarray, cat: np.ndarray, y: np.ndarray, seed: int) -> float:
    oof = np.empty(len(y))
    splits = StratifiedKFold(_ADV_FOLDS, shuffle=True, random_state=seed).split(x, y)
    with one_thread():
        for tr, va in splits:
            model = HistGradientBoostingClassifier(
                **_ADV_PARAMS, categorical_features=cat if cat.any() else None, random_state=seed
            )
            model.fit(x[tr], y[tr])
            oof[va] = model.predict_proba(x[va])[:, 1]
    return float(roc_auc_score(y, oof))


def _adversarial(
    train: pd.DataFrame,
    test: pd.DataFrame,
    kinds: dict[str, str],
    drift: dict[str, Any],
    schema: dict[str, Any],
    config: AuditConfig,
    seed: int,
) -> dict[str, Any]:
    """Cross-validated ROC-AUC of a model telling training rows from test rows.

    Under a temporal split the time column separates the sides by construction, so a second
    AUC without it (``roc_auc_without_time_column``) shows whether anything else shifted.
    """
    ranked = sorted(drift, key=lambda c: drift[c]["psi"], reverse=True)
    drivers = [{"column": c, "psi": drift[c]["psi"]} for c in ranked[:_TOP_DRIVERS]]
    base: dict[str, Any] = {"folds": _ADV_FOLDS, "top_features": drivers, "features": len(kinds)}
    if not kinds or min(len(train), len(test)) < _ADV_FOLDS:
        return {**base, "roc_auc": None, "rows_used": 0, "reason": "too few rows or no features"}
    both = pd.concat([train[list(kinds)], test[list(kinds)]], ignore_index=True)
    label = np.r_[np.zeros(len(train), dtype=int), np.ones(len(test), dtype=int)]
    idx = np.arange(len(both))
    if len(both) > config.max_rows:
        idx, _ = train_test_split(
            idx, train_size=config.max_rows, stratify=label, random_state=seed
        )
        idx = np.sort(idx)
    x, cat = design_matrix(both.iloc[idx], kinds)
    used = ~np.isnan(x).all(axis=0)  # an all-missing column cannot be binned
    names = [c for c, u in zip(kinds, used, strict=True) if u]
    x, cat, y = x[:, used], cat[used], label[idx]
    if not names:
        return {**base, "roc_auc": None, "rows_used": 0, "reason": "every feature is missing"}
    out = {**base, "roc_auc": _adversarial_auc(x, cat, y, seed), "rows_used": len(y)}
    time_col = schema.get("time_column")
    temporal = (schema.get("split") or {}).get("strategy") == "temporal"
    if temporal and time_col in names and len(names) > 1:
        keep = np.array([c != time_col for c in names])
        out["roc_auc_without_time_column"] = _adversarial_auc(x[:, keep], cat[keep], y, seed)
    return out


def _time_values(s: pd.Series) -> pd.Series:
    if ptypes.is_datetime64_any_dtype(s.dtype) or ptypes.is_numeric_dtype(s.dtype):
        return s
    return pd.to_datetime(s, errors="coerce")


def _temporal(train: pd.DataFrame, test: pd.DataFrame, column: str | None) -> dict[str, Any] | None:
    """Test rows dated strictly before the last training row, and each side's date range."""
    if not column or column not in train.columns or column not in test.columns:
        return None
    tr, te = _time_values(train[column]).dropna(), _time_values(test[column]).dropna()
    last = tr.max() if len(tr) else None
    n = int((te < last).sum()) if last is not None else 0
    return {
        "column": column,
        "overlap_rows": n,
        "overlap_share": share_of(n, len(test)),
        "train_min": tr.min() if len(tr) else None,
        "train_max": last,
        "test_min": te.min() if len(te) else None,
        "test_max": te.max() if len(te) else None,
    }


def _group_overlap(
    train: pd.DataFrame, test: pd.DataFrame, column: str | None
) -> dict[str, Any] | None:
    if not column or column not in train.columns or column not in test.columns:
        return None
    seen = set(train[column].dropna().unique())
    in_train = test[column].isin(seen)
    return {
        "column": column,
        "test_rows": int(in_train.sum()),
        "test_groups_in_train": int(test.loc[in_train, column].nunique()),
    }


def compute_split_checks(
    train: pd.DataFrame,
    test: pd.DataFrame,
    schema: dict[str, Any],
    config: AuditConfig,
    seed: int,
    train_reference: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Label-free train-vs-test checks: drift, adversarial AUC, duplicates, temporal overlap.

    ``train_reference`` is the training part before duplicate removal, given when the test
    table was not deduplicated alike (a provided test table): the rate at which its rows
    repeat is what a test row is expected to match by chance.
    """
    target = schema["target"]
    sides = [("train", train), ("test", test)]
    if train_reference is not None:
        sides.append(("train_reference", train_reference))
    for side, frame in sides:
        if target in frame.columns:
            raise ValueError(
                f"compute_split_checks got the target column {target!r} in the {side} frame; "
                "drop it first so test labels never leave the evaluate stage"
            )
    kinds = {c: k for c, k in feature_kinds(schema, train).items() if c in test.columns}
    missing = [f["name"] for f in schema.get("features", []) if f["name"] not in kinds]
    drift = _drift(train, test, kinds)
    psis = {c: d["psi"] for c, d in drift.items()}
    max_col = max(psis, key=psis.__getitem__) if psis else None
    ids = set(schema.get("id_columns") or [])
    out = {
        "rows": {"train": len(train), "test": len(test)},
        "split": schema.get("split", {}),
        "features_checked": list(kinds),
        "features_missing": missing,
        "drift": drift,
        "max_psi": psis[max_col] if max_col else None,
        "max_psi_column": max_col,
        "adversarial": _adversarial(train, test, kinds, drift, schema, config, seed),
        "train_test_duplicates": train_test_duplicates(
            train, test, [c for c in kinds if c not in ids], train_reference
        ),
        "temporal": _temporal(train, test, schema.get("time_column")),
        "group_overlap": _group_overlap(train, test, schema.get("group_column")),
    }
    return jsonable(out)
