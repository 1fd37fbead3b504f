"""Helpers every audit module shares: column kinds, model matrices, findings and JSON."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from threadpoolctl import threadpool_limits

MAX_CAT_CODES = 254  # HistGradientBoosting's native categorical limit (max_bins=255)


def jsonable(obj: Any) -> Any:  # noqa: PLR0911 (one return per JSON type, a flat dispatch)
    """Plain JSON types: numpy scalars unwrapped, floats to 6 significant digits, NaN -> None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in obj]
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


def infer_kind(s: pd.Series) -> str:
    """A column's kind from its dtype: boolean, datetime, numeric or categorical."""
    if ptypes.is_bool_dtype(s.dtype):
        return "boolean"
    if ptypes.is_datetime64_any_dtype(s.dtype):
        return "datetime"
    if ptypes.is_numeric_dtype(s.dtype):
        return "numeric"
    return "categorical"


def feature_kinds(schema: dict[str, Any], frame: pd.DataFrame) -> dict[str, str]:
    """Feature name -> kind for the schema's features present in ``frame``."""
    return {
        f["name"]: f.get("kind") or infer_kind(frame[f["name"]])
        for f in schema.get("features", [])
        if f["name"] in frame.columns
    }


def to_float(s: pd.Series, kind: str) -> np.ndarray:
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


def ordinal_codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """Sorted ordinal codes as floats (NaN for missing) and the number of categories."""
    try:
        codes, uniques = pd.factorize(s, sort=True)
    except TypeError:  # mixed types that cannot be ordered
        codes, uniques = pd.factorize(s.astype("string"), sort=True)
    out = codes.astype(float)
    out[codes < 0] = np.nan
    return out, len(uniques)


def design_matrix(frame: pd.DataFrame, kinds: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Model matrix and categorical mask; high-cardinality categoricals stay ordinal numbers."""
    cols: list[np.ndarray] = []
    cat: list[bool] = []
    for name, kind in kinds.items():
        if kind == "categorical":
            codes, n = ordinal_codes(frame[name])
            cols.append(codes)
            cat.append(0 < n <= MAX_CAT_CODES)
        else:
            cols.append(to_float(frame[name], kind))
            cat.append(False)
    if not cols:
        return np.empty((len(frame), 0)), np.zeros(0, dtype=bool)
    return np.column_stack(cols), np.array(cat, dtype=bool)


def one_thread() -> threadpool_limits:
    """Single-threaded OpenMP for the boosted fits.

    Many small fits run several times faster this way; a thread pool spins badly when the
    cores are shared with other jobs (measured 0.2 s vs 25 s for one single-column fit).
    """
    return threadpool_limits(limits=1, user_api="openmp")


def sample_rows(n: int, max_rows: int, seed: int) -> np.ndarray:
    """Sorted positions of at most ``max_rows`` of ``n`` rows, drawn with ``seed``."""
    if n <= max_rows:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_rows, replace=False))


def share_of(part: float, whole: float) -> float | None:
    """``part / whole``, or None when ``whole`` is 0."""
    return float(part) / float(whole) if whole else None


def make_finding(
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


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row over its values (the index ignored)."""
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()
