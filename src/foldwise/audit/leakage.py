"""Leakage: how well each column alone predicts the target, and which columns stand out."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold

from foldwise.audit.common import (
    MAX_CAT_CODES,
    design_matrix,
    make_finding,
    one_thread,
    ordinal_codes,
    sample_rows,
    to_float,
)
from foldwise.config import AuditConfig

_LEAK_FOLDS = 3
_ROBUST_Z = 5.0
# A column far above the rest is flagged too (classification only: in regression one genuine
# driver often explains most of the variance while the others explain almost none).
_ROBUST_MIN_OTHERS = 5
_ROBUST_MIN_AUC = 0.8
_ROBUST_SCALE_FLOOR = 0.03
# A score over audit.leakage_score must also stand out this far from the other columns,
# unless it is near-perfect.
_STANDS_OUT_Z = 2.0
_NEAR_PERFECT = 0.99
_LEAK_PARAMS: dict[str, Any] = {
    "max_iter": 50,
    "learning_rate": 0.1,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 1,  # each training row is one distinct value, see _aggregate
    "l2_regularization": 1.0,
    "early_stopping": False,
}


def _encode_target(y: pd.Series, task: str) -> np.ndarray:
    if task == "regression":
        return to_float(y, "numeric")
    codes, _ = ordinal_codes(y)
    return codes


def _coarsen(x: np.ndarray) -> np.ndarray:
    """At most 254 distinct values (quantile bins) so fits and predictions work per value."""
    ok = x[~np.isnan(x)]
    if np.unique(ok).size <= MAX_CAT_CODES:
        return x
    edges = np.unique(np.quantile(ok, np.linspace(0, 1, MAX_CAT_CODES + 1)[1:-1]))
    out = np.searchsorted(edges, x, side="right").astype(float)
    out[np.isnan(x)] = np.nan
    return out


def _predict_by_value(predict: Any, x: np.ndarray) -> np.ndarray:
    """Predict once per distinct value of a single column, then spread to the rows."""
    values, inverse = np.unique(x[:, 0], return_inverse=True)
    return predict(values.reshape(-1, 1))[inverse.ravel()]


def _aggregate(x: np.ndarray, y: np.ndarray, by_target: bool) -> tuple[np.ndarray, ...]:
    """Collapse rows to one per distinct value (and class): values, targets, row counts.

    Exact for the boosting loss: log-loss terms of equal rows add up, and squared error of a
    group equals that of its mean up to a constant. It turns each fit into a few hundred rows.
    """
    frame = pd.DataFrame({"x": x[:, 0], "y": y})
    if by_target:
        g = frame.groupby(["x", "y"], dropna=False, sort=False).size()
        keys = g.index.to_frame(index=False)
        return keys["x"].to_numpy(float)[:, None], keys["y"].to_numpy(), g.to_numpy(float)
    stats = frame.groupby("x", dropna=False, sort=False)["y"].agg(["mean", "size"])
    return (
        stats.index.to_numpy(float)[:, None],
        stats["mean"].to_numpy(float),
        stats["size"].to_numpy(float),
    )


def _oof_score(
    x: np.ndarray,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    n_classes: int,
    seed: int,
) -> float:
    """ROC-AUC (macro one-vs-rest if multiclass) or R² (n_classes 0) of out-of-fold predictions."""
    if not n_classes:
        pred = np.empty(len(y))
        for tr, va in folds:
            xs, ys, w = _aggregate(x[tr], y[tr], by_target=False)
            reg = HistGradientBoostingRegressor(**_LEAK_PARAMS, random_state=seed)
            reg.fit(xs, ys, sample_weight=w)
            pred[va] = _predict_by_value(reg.predict, x[va])
        return float(r2_score(y, pred))
    proba = np.zeros((len(y), n_classes))
    for tr, va in folds:
        xs, ys, w = _aggregate(x[tr], y[tr], by_target=True)
        clf = HistGradientBoostingClassifier(**_LEAK_PARAMS, random_state=seed)
        clf.fit(xs, ys, sample_weight=w)
        # a training fold may miss a rare class: place columns by class code
        proba[np.ix_(va, clf.classes_)] = _predict_by_value(clf.predict_proba, x[va])
    if n_classes == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    return float(
        roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=range(n_classes))
    )


def _single_column_scores(
    frame: pd.DataFrame,
    kinds: dict[str, str],
    y: np.ndarray,
    task: str,
    seed: int,
) -> dict[str, float | None]:
    """Out-of-fold score of a small boosted model fitted on each column alone."""
    n = len(y)
    if task != "regression":
        y = y.astype(int)
        n_classes = int(y.max()) + 1 if n else 0
        if n_classes < 2 or np.bincount(y).max() < _LEAK_FOLDS:
            return dict.fromkeys(kinds)
        splitter: Any = StratifiedKFold(_LEAK_FOLDS, shuffle=True, random_state=seed)
    else:
        n_classes = 0
        if n < 2 * _LEAK_FOLDS or np.std(y) == 0:
            return dict.fromkeys(kinds)
        splitter = KFold(_LEAK_FOLDS, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rare classes in StratifiedKFold
        folds = list(splitter.split(np.zeros((n, 1)), y))
    scores: dict[str, float | None] = {}
    with one_thread():
        for name, kind in kinds.items():
            # categories as sorted ordinal codes: with one weighted row per value the
            # native categorical splitter would ignore them (it needs 10 rows per category)
            x = _coarsen(design_matrix(frame[[name]], {name: kind})[0])
            nan = np.isnan(x)
            if nan.all() or (not nan.any() and np.min(x) == np.max(x)):
                scores[name] = None  # no information at all
                continue
            scores[name] = _oof_score(x, y, folds, n_classes, seed)
    return scores


def _robust_z(scores: dict[str, float | None], floor: float) -> dict[str, float | None]:
    """How far each score sits above the other columns' median, in robust (MAD) units."""
    out: dict[str, float | None] = {}
    for name, s in scores.items():
        others = np.array([v for k, v in scores.items() if k != name and v is not None])
        if s is None or others.size < _ROBUST_MIN_OTHERS:
            out[name] = None
            continue
        med = float(np.median(others))
        scale = max(1.4826 * float(np.median(np.abs(others - med))), floor)
        out[name] = (s - med) / scale
    return out


def leakage_section(
    train: pd.DataFrame,
    schema: dict[str, Any],
    kinds: dict[str, str],
    drop_kinds: dict[str, str],
    config: AuditConfig,
    seed: int,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Single-column scores of every feature and dropped column, and the leakage findings."""
    task = schema["task"]
    family = "regression" if task == "regression" else "classification"
    metric = "r2" if family == "regression" else "roc_auc"
    threshold = config.leakage_r2 if family == "regression" else config.leakage_score
    target = train[schema["target"]]
    keep = target.notna().to_numpy()
    frame = train.loc[keep]
    idx = sample_rows(len(frame), config.max_rows, seed)
    frame = frame.iloc[idx]
    y = _encode_target(frame[schema["target"]], task)
    columns = {**kinds, **drop_kinds}
    scores = _single_column_scores(frame, columns, y, task, seed)
    zs = _robust_z(scores, _ROBUST_SCALE_FLOOR)
    table: dict[str, Any] = {}
    findings: list[dict[str, Any]] = []
    for name in columns:
        s, z = scores[name], zs[name]
        role = "drop_column" if name in drop_kinds else "feature"
        # Many honest columns can each be strong (e.g. tumour size for malignancy), so a high
        # score alone is not a leak: it must also stand out from the other columns, unless
        # it is near-perfect.
        over = s is not None and s >= threshold
        if over and family == "classification" and s is not None and s < _NEAR_PERFECT:
            over = z is None or z >= _STANDS_OUT_Z
        outlier = (
            family == "classification"
            and s is not None
            and z is not None
            and z > _ROBUST_Z
            and s >= _ROBUST_MIN_AUC
        )
        table[name] = {"role": role, "score": s, "robust_z": z, "flagged": over or outlier}
        if not (over or outlier):
            continue
        if over:
            detail = f"single-feature {metric} {s:.2f} >= {threshold:.2f}"
        else:
            detail = f"single-feature {metric} {s:.2f}, robust z {z:.1f} vs other columns"
        excluded = role == "drop_column"
        msg = (
            f"Column {name!r} alone predicts the target with cross-validated {metric} {s:.3f}"
            + (
                f" (threshold {threshold:.2f})"
                if over
                else f", far above the other columns (robust z {z:.1f})"
            )
            + "; check it is not derived from the target or recorded after the outcome"
            + (" (excluded by data.drop_columns)." if excluded else ".")
        )
        findings.append(make_finding("leakage", name, msg, s, detail, excluded))
    feature_scores = [v["score"] for k, v in table.items() if k in kinds and v["score"] is not None]
    section = {
        "metric": metric,
        "threshold": threshold,
        "folds": _LEAK_FOLDS,
        "rows_used": len(y),
        "max_feature_score": max(feature_scores) if feature_scores else None,
        "columns": dict(sorted(table.items(), key=lambda kv: -(kv[1]["score"] or -math.inf))),
    }
    return section, findings
