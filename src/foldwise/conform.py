"""Type a separate test table like the training table: it never changes a training column's kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from foldwise.data.coerce import TRUE_TOKENS, Kind, coerce_target, strip_text
from foldwise.errors import FoldwiseError
from foldwise.numbers import Decimal, parse_numbers

_FALSE_TOKENS = frozenset({"no", "false", "n", "f"})


def _numeric(values: pd.Series, decimal: Decimal) -> tuple[pd.Series, int]:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        # A copy: under copy-on-write pandas hands out a read-only view of the column.
        out = np.array(values.to_numpy(dtype="float64", na_value=np.nan), copy=True)
        bad = np.isinf(out)
        out[bad] = np.nan
        return pd.Series(out, index=values.index, name=values.name), int(bad.sum())
    parsed = parse_numbers(strip_text(values), decimal)
    return parsed.values, int((parsed.not_numbers | parsed.infinite).sum())


def _boolean(values: pd.Series, decimal: Decimal) -> tuple[pd.Series, int]:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean"), 0
    if pd.api.types.is_numeric_dtype(values):
        text = pd.Series(values.to_numpy(dtype="float64", na_value=np.nan), index=values.index)
        lowered = text.map({1.0: "true", 0.0: "false"}).where(text.notna())
        fits = lowered.notna() | text.isna()
    else:
        lowered = strip_text(values).str.lower()
        lowered = lowered.replace({"1": "true", "0": "false", "1.0": "true", "0.0": "false"})
        fits = lowered.isna() | lowered.isin(TRUE_TOKENS | _FALSE_TOKENS)
    flags = lowered.isin(TRUE_TOKENS).astype("boolean").mask(~fits | lowered.isna())
    flags.name = values.name
    return flags, int((~fits).sum())


def _datetime(values: pd.Series) -> tuple[pd.Series, int]:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values, 0
    text = strip_text(values)
    parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    if not pd.api.types.is_datetime64_any_dtype(parsed):
        parsed = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    return parsed, int((text.notna() & parsed.isna()).sum())


def _categorical(values: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(values):
        values = values.map(
            lambda v: str(int(v)) if float(v).is_integer() else str(v), na_action="ignore"
        )
    return strip_text(values.astype("object").where(values.notna())).astype("str")


def conform_table(
    frame: pd.DataFrame,
    kinds: dict[str, Kind],
    *,
    target: str,
    train_target: pd.Series,
    id_columns: list[str],
    decimal: Decimal,
    path: Path,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The test table typed with the training kinds, and per column the cells that became missing.

    A cell that does not fit its training column's kind (text in a numeric column, an infinity,
    a word in a boolean column, a non-date) becomes missing and is counted.
    """
    out: dict[str, pd.Series] = {}
    lost: dict[str, int] = {}
    for name in frame.columns:
        values = frame[name]
        if name in id_columns:
            out[name] = values.astype("str").str.strip()
            continue
        if name == target:
            out[name] = _target_like(values, train_target, decimal, path)
            continue
        kind = kinds[name]
        count = 0
        if kind == "numeric":
            out[name], count = _numeric(values, decimal)
        elif kind == "boolean":
            out[name], count = _boolean(values, decimal)
        elif kind == "datetime":
            out[name], count = _datetime(values)
        else:
            out[name] = _categorical(values)
        if count:
            lost[name] = count
    return pd.DataFrame(out, index=frame.index), lost


def _target_like(values: pd.Series, train: pd.Series, decimal: Decimal, path: Path) -> pd.Series:
    """The test target with the training target's type (numbers or labels)."""
    try:
        typed = coerce_target(values, decimal=decimal)
    except FoldwiseError as exc:
        raise FoldwiseError(f"{path}: {exc}") from None
    name = str(values.name)
    train_numeric = pd.api.types.is_numeric_dtype(train) and not pd.api.types.is_bool_dtype(train)
    test_numeric = pd.api.types.is_numeric_dtype(typed) and not pd.api.types.is_bool_dtype(typed)
    if train_numeric and not test_numeric:
        sample = typed.dropna()
        example = f" (e.g. {sample.iloc[0]!r})" if len(sample) else ""
        raise FoldwiseError(
            f"{path}: target {name!r} holds values that are not numbers{example}, but the "
            "training target is numeric"
        )
    return typed
