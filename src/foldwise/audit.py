"""Data audit: leakage, train-vs-test checks and data-quality findings, as JSON and Markdown.

Two entry points keep the sealed test table out of the audit stage:
:func:`compute_split_checks` is called by ``prepare`` on label-free train and test frames and
its result is stored in ``split_checks.json``; :func:`build_audit` then reads only the training
table plus those stored checks.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any, get_args

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from threadpoolctl import threadpool_limits

from foldwise.config import AuditConfig, AuditFinding

FINDING_KINDS: tuple[str, ...] = get_args(AuditFinding)

_PSI_BINS = 10
_PSI_TOP_CATEGORIES = 20
_PSI_EPS = 1e-4
_ADV_FOLDS = 5
_LEAK_FOLDS = 3
_MAX_CAT_CODES = 254  # HistGradientBoosting's native categorical limit (max_bins=255)
_TOP_DRIVERS = 5
_DUPLICATE_SHARE = 0.01
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
_OUTLIER_IQR = 3.0
_QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
_LEAK_PARAMS: dict[str, Any] = {
    "max_iter": 50,
    "learning_rate": 0.1,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 1,  # each training row is one distinct value, see _aggregate
    "l2_regularization": 1.0,
    "early_stopping": False,
}
_ADV_PARAMS: dict[str, Any] = {
    "max_iter": 60,
    "learning_rate": 0.1,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "early_stopping": False,
}


# --------------------------------------------------------------------------------------------
# small helpers


def _jsonable(obj: Any) -> Any:
    """Plain JSON types: numpy scalars unwrapped, floats to 6 significant digits, NaN -> None."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in obj]
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return float(f"{f:.6g}") if math.isfinite(f) else None
    if isinstance(obj, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(obj).isoformat()
    if isinstance(obj, str):
        return obj
    return str(obj)


def _infer_kind(s: pd.Series) -> str:
    if ptypes.is_bool_dtype(s.dtype):
        return "boolean"
    if ptypes.is_datetime64_any_dtype(s.dtype):
        return "datetime"
    if ptypes.is_numeric_dtype(s.dtype):
        return "numeric"
    return "categorical"


def _feature_kinds(schema: dict[str, Any], frame: pd.DataFrame) -> dict[str, str]:
    """Feature name -> kind for the schema's features present in ``frame``."""
    return {
        f["name"]: f.get("kind") or _infer_kind(frame[f["name"]])
        for f in schema.get("features", [])
        if f["name"] in frame.columns
    }


def _to_float(s: pd.Series, kind: str) -> np.ndarray:
    """Numbers for numeric/boolean columns; seconds since 1970 for datetimes; NaN for missing."""
    if kind == "datetime":
        d = s if ptypes.is_datetime64_any_dtype(s.dtype) else pd.to_datetime(s, errors="coerce")
        if getattr(d.dt, "tz", None) is not None:
            d = d.dt.tz_convert("UTC").dt.tz_localize(None)
        return ((d - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(
            dtype=float, na_value=np.nan
        )
    try:
        return s.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """Sorted ordinal codes as floats (NaN for missing) and the number of categories."""
    try:
        codes, uniques = pd.factorize(s, sort=True)
    except TypeError:  # mixed types that cannot be ordered
        codes, uniques = pd.factorize(s.astype("string"), sort=True)
    out = codes.astype(float)
    out[codes < 0] = np.nan
    return out, len(uniques)


def _design(frame: pd.DataFrame, kinds: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Model matrix and categorical mask; high-cardinality categoricals stay ordinal numbers."""
    cols: list[np.ndarray] = []
    cat: list[bool] = []
    for name, kind in kinds.items():
        if kind == "categorical":
            codes, n = _codes(frame[name])
            cols.append(codes)
            cat.append(0 < n <= _MAX_CAT_CODES)
        else:
            cols.append(_to_float(frame[name], kind))
            cat.append(False)
    if not cols:
        return np.empty((len(frame), 0)), np.zeros(0, dtype=bool)
    return np.column_stack(cols), np.array(cat, dtype=bool)


def _one_thread() -> threadpool_limits:
    """Single-threaded OpenMP for the boosted fits.

    Many small fits run several times faster this way; a thread pool spins badly when the
    cores are shared with other jobs (measured 0.2 s vs 25 s for one single-column fit).
    """
    return threadpool_limits(limits=1, user_api="openmp")


def _sample(n: int, max_rows: int, seed: int) -> np.ndarray:
    if n <= max_rows:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_rows, replace=False))


def _share(part: float, whole: float) -> float | None:
    return float(part) / float(whole) if whole else None


def _finding(
    kind: str,
    column: str | None,
    message: str,
    value: float | None,
    detail: str,
    excluded: bool = False,
) -> dict[str, Any]:
    """One finding; ``detail`` is the short parenthetical used in failure lines."""
    return {
        "kind": kind,
        "column": column,
        "message": message,
        "value": value,
        "excluded": excluded,
        "detail": detail,
    }


# --------------------------------------------------------------------------------------------
# split checks (called by prepare; never sees the target)


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
            d = _numeric_drift(_to_float(tr, kind), _to_float(te, kind))
        else:
            d = _categorical_drift(tr, te)
        out[name] = {
            "kind": kind,
            **d,
            "missing_share_train": _share(tr.isna().sum(), len(tr)),
            "missing_share_test": _share(te.isna().sum(), len(te)),
        }
    return out


def _adversarial_auc(x: np.ndarray, cat: np.ndarray, y: np.ndarray, seed: int) -> float:
    oof = np.empty(len(y))
    splits = StratifiedKFold(_ADV_FOLDS, shuffle=True, random_state=seed).split(x, y)
    with _one_thread():
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
    x, cat = _design(both.iloc[idx], kinds)
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


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _train_test_duplicates(
    train: pd.DataFrame, test: pd.DataFrame, columns: list[str]
) -> dict[str, Any]:
    """Test rows whose feature values exactly equal some training row (ids ignored)."""
    if not columns:
        return {"test_rows": None, "share_of_test": None, "columns": []}
    both = pd.concat([train[columns], test[columns]], ignore_index=True)  # one dtype per column
    h = _row_hashes(both)
    n = int(np.isin(h[len(train) :], h[: len(train)]).sum())
    return {"test_rows": n, "share_of_test": _share(n, len(test)), "columns": columns}


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
        "overlap_share": _share(n, len(test)),
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
) -> dict[str, Any]:
    """Label-free train-vs-test checks: drift, adversarial AUC, duplicates, temporal overlap."""
    target = schema["target"]
    for side, frame in (("train", train), ("test", test)):
        if target in frame.columns:
            raise ValueError(
                f"compute_split_checks got the target column {target!r} in the {side} frame; "
                "drop it first so test labels never leave the evaluate stage"
            )
    kinds = {c: k for c, k in _feature_kinds(schema, train).items() if c in test.columns}
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
        "train_test_duplicates": _train_test_duplicates(
            train, test, [c for c in kinds if c not in ids]
        ),
        "temporal": _temporal(train, test, schema.get("time_column")),
        "group_overlap": _group_overlap(train, test, schema.get("group_column")),
    }
    return _jsonable(out)


# --------------------------------------------------------------------------------------------
# build_audit (training table only)


def _encode_target(y: pd.Series, task: str) -> np.ndarray:
    if task == "regression":
        return _to_float(y, "numeric")
    codes, _ = _codes(y)
    return codes


def _coarsen(x: np.ndarray) -> np.ndarray:
    """At most 254 distinct values (quantile bins) so fits and predictions work per value."""
    ok = x[~np.isnan(x)]
    if np.unique(ok).size <= _MAX_CAT_CODES:
        return x
    edges = np.unique(np.quantile(ok, np.linspace(0, 1, _MAX_CAT_CODES + 1)[1:-1]))
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
    g = frame.groupby("x", dropna=False, sort=False)["y"].agg(["mean", "size"])
    return (
        g.index.to_numpy(float)[:, None],
        g["mean"].to_numpy(float),
        g["size"].to_numpy(float),
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
    with _one_thread():
        for name, kind in kinds.items():
            # categories as sorted ordinal codes: with one weighted row per value the
            # native categorical splitter would ignore them (it needs 10 rows per category)
            x = _coarsen(_design(frame[[name]], {name: kind})[0])
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


def _leakage(
    train: pd.DataFrame,
    schema: dict[str, Any],
    kinds: dict[str, str],
    drop_kinds: dict[str, str],
    config: AuditConfig,
    seed: int,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    task = schema["task"]
    family = "regression" if task == "regression" else "classification"
    metric = "r2" if family == "regression" else "roc_auc"
    threshold = config.leakage_r2 if family == "regression" else config.leakage_score
    target = train[schema["target"]]
    keep = target.notna().to_numpy()
    frame = train.loc[keep]
    idx = _sample(len(frame), config.max_rows, seed)
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
        findings.append(_finding("leakage", name, msg, s, detail, excluded))
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


def _column_profiles(
    train: pd.DataFrame, schema: dict[str, Any], kinds: dict[str, str]
) -> dict[str, Any]:
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
        kind = kinds.get(name) or _infer_kind(s)
        vc = s.value_counts(dropna=False)
        prof: dict[str, Any] = {
            "role": roles.get(name, "feature" if name in kinds else "unused"),
            "kind": kind,
            "dtype": str(s.dtype),
            "missing_share": _share(s.isna().sum(), n),
            "unique": int(s.nunique(dropna=True)),
            "top_value_share": _share(int(vc.iloc[0]), n) if len(vc) else None,
        }
        if kind == "numeric" and not ptypes.is_bool_dtype(s.dtype):
            prof.update(_numeric_profile(_to_float(s, kind)))
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


def _target_section(
    train: pd.DataFrame, schema: dict[str, Any], config: AuditConfig
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    name, task = schema["target"], schema["task"]
    y = train[name]
    findings: list[dict[str, Any]] = []
    if task == "regression":
        x = _to_float(y, "numeric")
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
            _finding(
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
    return _finding(
        "outliers",
        name,
        f"{what} has {share:.1%} of its values beyond 3×IQR from the quartiles "
        f"(threshold {config.outlier_share:.0%}).",
        share,
        f"{share:.1%} beyond 3×IQR > {config.outlier_share:.0%}",
    )


def _quality_findings(
    profiles: dict[str, Any], kinds: dict[str, str], config: AuditConfig
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in kinds:
        p = profiles[name]
        miss = p["missing_share"] or 0.0
        if miss > config.missing_share:
            out.append(
                _finding(
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
                _finding(
                    "constant",
                    name,
                    f"Column {name!r} holds a single value in every training row.",
                    1.0,
                    "a single value",
                )
            )
        elif top >= config.near_constant_share:
            out.append(
                _finding(
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
                _finding(
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


def _duplicates(
    train: pd.DataFrame, schema: dict[str, Any], kinds: dict[str, str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Training rows repeating an earlier row on every non-id column (ids differ only)."""
    ids = set(schema.get("id_columns") or [])
    cols = [c for c in train.columns if c not in ids]
    n = len(train)
    dup = int(pd.Series(_row_hashes(train[cols])).duplicated().sum()) if cols and n else 0
    feats = [c for c in kinds if c not in ids]
    conflicting = 0
    if feats and n:
        frame = pd.DataFrame(
            {"h": _row_hashes(train[feats]), "y": train[schema["target"]].to_numpy()}
        )
        nun = frame.groupby("h")["y"].transform("nunique")
        conflicting = int((nun > 1).sum())
    share = _share(dup, n) or 0.0
    section = {
        "rows": dup,
        "share": share,
        "columns_compared": len(cols),
        "rows_with_conflicting_target": conflicting,
        "removed_by_prepare": (schema.get("cleaning") or {}).get("duplicate_rows_removed"),
    }
    findings = []
    if share > _DUPLICATE_SHARE:
        findings.append(
            _finding(
                "duplicates",
                None,
                f"{dup} training rows ({share:.1%}) repeat another row on every column except "
                "the ids; repeated rows can fall on both sides of a CV fold and flatter scores.",
                dup,
                f"{dup} repeated rows ({share:.1%}) > {_DUPLICATE_SHARE:.0%}",
            )
        )
    return section, findings


def _split_findings(
    checks: dict[str, Any], schema: dict[str, Any], config: AuditConfig
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    strategy = (schema.get("split") or {}).get("strategy")
    time_col = schema.get("time_column")
    dup = checks.get("train_test_duplicates") or {}
    n_dup = dup.get("test_rows")
    if n_dup:
        out.append(
            _finding(
                "train_test_duplicates",
                None,
                f"{n_dup} test rows ({dup.get('share_of_test') or 0:.1%}) have exactly the same "
                "feature values as a training row, which makes the test score optimistic.",
                n_dup,
                f"{n_dup} test rows equal a training row",
            )
        )
    temporal = checks.get("temporal") or {}
    n_over = temporal.get("overlap_rows")
    if n_over:
        col = temporal.get("column")
        out.append(
            _finding(
                "temporal_overlap",
                col,
                f"{n_over} test rows ({temporal.get('overlap_share') or 0:.1%}) are dated before "
                f"the last training row ({temporal.get('train_max')}) under split strategy "
                f"{strategy!r}, so the model trains on the future of what it is tested on.",
                n_over,
                f"{n_over} test rows before last training date",
            )
        )
    for name, d in (checks.get("drift") or {}).items():
        psi = d.get("psi")
        if psi is None or psi <= config.drift_psi:
            continue
        expected = strategy == "temporal" and name == time_col
        out.append(
            _finding(
                "drift",
                name,
                f"Column {name!r} is distributed differently in test than in train "
                f"(PSI {psi:.2f}, threshold {config.drift_psi:g})"
                + ("; expected, the split is temporal on this column." if expected else "."),
                psi,
                f"PSI {psi:.2f} > {config.drift_psi:g}",
                excluded=expected,
            )
        )
    adv = checks.get("adversarial") or {}
    auc, without = adv.get("roc_auc"), adv.get("roc_auc_without_time_column")
    judged = without if without is not None else auc
    if judged is not None and judged > config.adversarial_auc:
        tops = [
            d for d in adv.get("top_features", []) if without is None or d["column"] != time_col
        ]
        drivers = ", ".join(f"{d['column']!r} (PSI {d['psi']:.2f})" for d in tops[:3])
        scope = "" if without is None else f" without the time column {time_col!r}"
        out.append(
            _finding(
                "adversarial",
                None,
                f"A model{scope} tells test rows from training rows with ROC-AUC {judged:.3f} "
                f"(threshold {config.adversarial_auc:.2f}); most shifted: {drivers or 'none'}.",
                judged,
                f"adversarial roc_auc {judged:.2f} > {config.adversarial_auc:.2f}",
            )
        )
    return out


def _cleaning(schema: dict[str, Any]) -> dict[str, Any]:
    c = schema.get("cleaning") or {}
    return {
        "rows_read": c.get("rows_read"),
        "duplicate_rows_removed": c.get("duplicate_rows_removed"),
        "missing_target_rows_dropped": c.get("missing_target_rows_dropped"),
        "test_table": c.get("test_table"),
        "coercions": list(c.get("coercions") or []),
    }


def failed_findings(audit: dict[str, Any], fail_on: Iterable[str]) -> list[dict[str, Any]]:
    """Findings whose kind is in ``fail_on`` and that are not excluded."""
    kinds = set(fail_on)
    return [f for f in audit.get("findings", []) if f["kind"] in kinds and not f["excluded"]]


def build_audit(
    train: pd.DataFrame,
    schema: dict[str, Any],
    split_checks: dict[str, Any],
    config: AuditConfig,
    seed: int,
) -> dict[str, Any]:
    """The full audit of the training table plus the stored train-vs-test checks."""
    target = schema["target"]
    if target not in train.columns:
        raise ValueError(f"target column {target!r} is not in the training table")
    kinds = _feature_kinds(schema, train)
    drop_cols = [c for c in schema.get("drop_columns") or [] if c in train.columns]
    known = schema.get("columns") or {}
    drop_kinds = {c: known.get(c) or _infer_kind(train[c]) for c in drop_cols if c not in kinds}

    profiles = _column_profiles(train, schema, kinds)
    target_section, target_findings = _target_section(train, schema, config)
    leakage, leak_findings = _leakage(train, schema, kinds, drop_kinds, config, seed)
    duplicates, dup_findings = _duplicates(train, schema, kinds)
    findings = [
        *leak_findings,
        *_split_findings(split_checks, schema, config),
        *_quality_findings(profiles, kinds, config),
        *target_findings,
        *dup_findings,
    ]
    order = {k: i for i, k in enumerate(FINDING_KINDS)}
    findings.sort(key=lambda f: (order.get(f["kind"], len(order)), f["excluded"]))

    audit: dict[str, Any] = {"findings": findings}
    failing = failed_findings(audit, config.fail_on)
    active = [f for f in findings if not f["excluded"]]
    adv = split_checks.get("adversarial") or {}
    temporal = split_checks.get("temporal") or {}
    out: dict[str, Any] = {
        "passed": not failing,
        "n_findings": len(active),
        "n_failing": len(failing),
        "rows_train": len(train),
        "n_columns": train.shape[1],
        "n_features": len(kinds),
        "adversarial_auc": adv.get("roc_auc"),
        "max_psi": split_checks.get("max_psi"),
        "leakage_columns": sum(f["kind"] == "leakage" for f in active),
        "max_leakage_score": leakage["max_feature_score"],
        "train_test_duplicates": (split_checks.get("train_test_duplicates") or {}).get("test_rows"),
        "temporal_overlap_rows": temporal.get("overlap_rows"),
        "target_column": target,
        "task": schema.get("task"),
        "fail_on": list(config.fail_on),
        "summary": {
            "by_kind": {k: sum(f["kind"] == k for f in active) for k in FINDING_KINDS},
            "excluded_by_kind": {
                k: sum(f["kind"] == k and f["excluded"] for f in findings) for k in FINDING_KINDS
            },
            "failing_kinds": sorted({f["kind"] for f in failing}),
            "n_excluded": len(findings) - len(active),
        },
        "findings": findings,
        "dataset": {
            "rows": len(train),
            "columns": train.shape[1],
            "features": len(kinds),
            "features_by_kind": {
                k: sum(v == k for v in kinds.values())
                for k in ("numeric", "categorical", "boolean", "datetime")
            },
            "id_columns": list(schema.get("id_columns") or []),
            "drop_columns": drop_cols,
            "time_column": schema.get("time_column"),
            "group_column": schema.get("group_column"),
        },
        "cleaning": _cleaning(schema),
        "target": target_section,
        "leakage": leakage,
        "duplicates": duplicates,
        "split": {
            **(schema.get("split") or {}),
            "temporal": split_checks.get("temporal"),
            "group_overlap": split_checks.get("group_overlap"),
            "train_test_duplicates": split_checks.get("train_test_duplicates"),
        },
        "adversarial": adv,
        "drift": split_checks.get("drift") or {},
        "columns": profiles,
        "thresholds": config.model_dump(exclude={"fail_on"}),
    }
    return _jsonable(out)


# --------------------------------------------------------------------------------------------
# markdown


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _num(v: Any, fmt: str = ".3g") -> str:
    if v is None:
        return "–"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return _md(v)
    return format(v, "d") if isinstance(v, int) else format(v, fmt)


def _pct(v: Any) -> str:
    return "–" if v is None else f"{v:.1%}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return [*lines, ""]


def _cells_to_missing_lines(cleaning: dict[str, Any]) -> list[str]:
    """Infinities, mostly-number category columns and test-table cells that became missing."""
    lines: list[str] = []
    coercions = cleaning.get("coercions") or []
    infinite = [c for c in coercions if c.get("infinite_to_missing")]
    if infinite:
        lines += ["Infinite or out-of-range numbers made missing:", ""]
        lines += _table(
            ["column", "cells"],
            [[f"`{_md(c['column'])}`", _num(c["infinite_to_missing"])] for c in infinite],
        )
    notes = [c for c in coercions if c.get("note")]
    if notes:
        lines += ["Columns read as categories although they hold numbers:", ""]
        lines += _table(
            ["column", "why", "e.g."],
            [
                [f"`{_md(c['column'])}`", _md(c["note"]), _md(", ".join(c.get("examples") or []))]
                for c in notes
            ],
        )
    test_cells = ((cleaning.get("test_table") or {}).get("cells_to_missing")) or {}
    if test_cells:
        lines += [
            "Test-table cells that did not fit the training column's type (made missing):",
            "",
        ]
        lines += _table(
            ["column", "cells"], [[f"`{_md(k)}`", _num(v)] for k, v in test_cells.items()]
        )
    return lines


def render_markdown(audit: dict[str, Any]) -> str:
    """A human-readable report: status, findings, then the detailed tables."""
    failing = failed_findings(audit, audit.get("fail_on", []))
    failing_ids = {id(f) for f in failing}
    findings = audit.get("findings", [])
    status = "PASSED" if audit.get("passed") else "FAILED"
    fail_on = ", ".join(audit.get("fail_on") or []) or "nothing"
    lines = [
        f"# Data audit: {status}",
        "",
        f"{audit.get('n_findings', 0)} finding(s), {len(failing)} failing "
        f"(audit.fail_on: {fail_on}), {audit.get('summary', {}).get('n_excluded', 0)} "
        f"excluded. Training table: {audit.get('rows_train')} rows × "
        f"{audit.get('n_columns')} columns; target `{_md(audit.get('target_column'))}` "
        f"({audit.get('task')}).",
        "",
        "## Findings",
        "",
    ]
    if findings:
        ranked = sorted(findings, key=lambda f: (id(f) not in failing_ids, f["excluded"]))
        rows = [
            [
                "FAIL" if id(f) in failing_ids else ("excluded" if f["excluded"] else "warn"),
                f["kind"],
                f"`{_md(f['column'])}`" if f["column"] is not None else "–",
                _md(f["message"]),
            ]
            for f in ranked
        ]
        lines += _table(["status", "kind", "column", "finding"], rows)
    else:
        lines += ["No findings.", ""]

    ds, cl = audit.get("dataset", {}), audit.get("cleaning", {})
    lines += ["## Dataset", ""]
    lines += _table(
        ["item", "value"],
        [
            ["rows (train)", _num(ds.get("rows"))],
            ["columns", _num(ds.get("columns"))],
            ["features", _num(ds.get("features"))],
            [
                "features by kind",
                ", ".join(f"{k} {v}" for k, v in ds.get("features_by_kind", {}).items()),
            ],
            ["id columns", _md(", ".join(ds.get("id_columns") or []) or "–")],
            ["drop columns", _md(", ".join(ds.get("drop_columns") or []) or "–")],
            ["time column", _md(ds.get("time_column") or "–")],
            ["group column", _md(ds.get("group_column") or "–")],
            ["rows read", _num(cl.get("rows_read"))],
            ["duplicate rows removed", _num(cl.get("duplicate_rows_removed"))],
            ["missing-target rows dropped", _num(cl.get("missing_target_rows_dropped"))],
        ],
    )
    if cl.get("coercions"):
        lines += ["Text columns converted by prepare:", ""]
        lines += _table(
            ["column", "to", "blank → missing", "unparseable"],
            [
                [
                    f"`{_md(c.get('column'))}`",
                    _md(c.get("to")),
                    _num(c.get("blank_to_missing")),
                    _num(c.get("unparseable")),
                ]
                for c in cl["coercions"]
            ],
        )
    lines += _cells_to_missing_lines(cl)

    tgt = audit.get("target", {})
    lines += ["## Target", ""]
    if tgt.get("task") == "regression":
        q = tgt.get("quantiles", {})
        lines += _table(
            ["mean", "std", "skew", "min", "median", "max", "outliers"],
            [
                [
                    _num(tgt.get("mean")),
                    _num(tgt.get("std")),
                    _num(tgt.get("skew")),
                    _num(q.get("0.0")),
                    _num(q.get("0.5")),
                    _num(q.get("1.0")),
                    _pct(tgt.get("outlier_share")),
                ]
            ],
        )
    elif tgt:
        shares = tgt.get("shares", {})
        lines += _table(
            ["class", "rows", "share"],
            [[f"`{_md(k)}`", _num(v), _pct(shares.get(k))] for k, v in tgt["counts"].items()],
        )
        lines += [f"Majority/minority ratio: {_num(tgt.get('imbalance_ratio'))}.", ""]

    leak = audit.get("leakage", {})
    lines += [
        "## Leakage: each column on its own",
        "",
        f"Cross-validated {leak.get('metric')} of a small model fitted on one column "
        f"({leak.get('folds')} folds, {leak.get('rows_used')} rows); threshold "
        f"{_num(leak.get('threshold'))}.",
        "",
    ]
    lines += _table(
        ["column", "role", leak.get("metric", "score"), "robust z", "flagged"],
        [
            [
                f"`{_md(k)}`",
                v["role"],
                _num(v["score"]),
                _num(v["robust_z"], ".1f"),
                "yes" if v["flagged"] else "",
            ]
            for k, v in leak.get("columns", {}).items()
        ],
    )

    split = audit.get("split", {})
    adv = audit.get("adversarial", {})
    lines += ["## Train vs test", ""]
    lines += _table(
        ["check", "value"],
        [
            ["split strategy", _md(split.get("strategy", "–"))],
            [
                "train / test rows",
                f"{_num(split.get('train_rows'))} / {_num(split.get('test_rows'))}",
            ],
            ["adversarial ROC-AUC", _num(adv.get("roc_auc"))],
            [
                "adversarial ROC-AUC without time column",
                _num(adv.get("roc_auc_without_time_column")),
            ],
            ["max PSI", _num(audit.get("max_psi"))],
            ["test rows equal to a training row", _num(audit.get("train_test_duplicates"))],
            [
                "test rows dated before the last training row",
                _num(audit.get("temporal_overlap_rows")),
            ],
        ],
    )
    temporal = split.get("temporal")
    if temporal:
        lines += [
            f"Dates (`{_md(temporal['column'])}`): train {temporal.get('train_min')} → "
            f"{temporal.get('train_max')}; test {temporal.get('test_min')} → "
            f"{temporal.get('test_max')}.",
            "",
        ]
    group = split.get("group_overlap")
    if group:
        lines += [
            f"Groups (`{_md(group['column'])}`): {group['test_rows']} test rows belong to "
            f"{group['test_groups_in_train']} groups also seen in training.",
            "",
        ]
    drift = audit.get("drift", {})
    if drift:
        ranked_drift = sorted(drift.items(), key=lambda kv: -(kv[1].get("psi") or 0))
        lines += _table(
            ["column", "kind", "PSI", "KS", "KS p-value", "missing train", "missing test"],
            [
                [
                    f"`{_md(k)}`",
                    d.get("kind", ""),
                    _num(d.get("psi")),
                    _num(d.get("ks_statistic")),
                    _num(d.get("ks_pvalue")),
                    _pct(d.get("missing_share_train")),
                    _pct(d.get("missing_share_test")),
                ]
                for k, d in ranked_drift
            ],
        )

    dup = audit.get("duplicates", {})
    lines += [
        "## Repeated rows in training",
        "",
        f"{_num(dup.get('rows'))} rows repeat another row on every non-id column; "
        f"{_num(dup.get('rows_with_conflicting_target'))} rows share their feature values "
        "with a row of a different target.",
        "",
        "## Columns",
        "",
    ]
    lines += _table(
        ["column", "role", "kind", "missing", "distinct", "top share", "median", "outliers"],
        [
            [
                f"`{_md(k)}`",
                p["role"],
                p["kind"],
                _pct(p["missing_share"]),
                _num(p["unique"]),
                _pct(p["top_value_share"]),
                _num(p.get("median")),
                _pct(p.get("outlier_share")),
            ]
            for k, p in audit.get("columns", {}).items()
        ],
    )
    return "\n".join(lines).rstrip() + "\n"
