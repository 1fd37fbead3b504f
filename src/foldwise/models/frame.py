"""The model's view of feature columns: the schema's typed frame, then plain model input.

:func:`feature_frame` reads raw rows (as scoring input or a CSV gives them) into the schema's
dtypes, raising :class:`FoldwiseError` naming a column it cannot convert; :func:`model_frame`
turns that typed frame into what the estimators see: floats for numbers, booleans and dates,
text for categories with missing cells as :data:`MISSING_CATEGORY`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from foldwise.data import BOOLEAN_PAIRS, MISSING_TOKENS, TRUE_TOKENS
from foldwise.errors import FoldwiseError, quoted
from foldwise.numbers import parse_numbers

KINDS = ("numeric", "categorical", "boolean", "datetime")
MISSING_CATEGORY = "__missing__"
# Category values that look like the missing token (``__missing__``, ``\__missing__``, ...)
# get one more leading backslash, so a real value never merges with missing cells.
MISSING_LIKE = r"\\*" + MISSING_CATEGORY

_EPOCH = pd.Timestamp("1970-01-01")
_FALSE_TOKENS = frozenset().union(*BOOLEAN_PAIRS) - TRUE_TOKENS
TRUE_TEXT = TRUE_TOKENS | {"1", "1.0"}
FALSE_TEXT = _FALSE_TOKENS | {"0", "0.0"}


def _clean_text(values: pd.Series) -> pd.Series:
    """Stripped text with missing tokens as NaN, the way :mod:`foldwise.data` reads tables."""
    text = values.astype("str").str.strip()
    return text.mask(text.str.lower().isin(MISSING_TOKENS))


def _is_text(values: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(values) or values.dtype == object


def _as_float(values: pd.Series) -> pd.Series:
    return pd.Series(
        values.to_numpy(dtype="float64", na_value=np.nan), index=values.index, name=values.name
    )


def _coerce_numeric(values: pd.Series, name: str) -> pd.Series:
    """Numbers as float64; infinities become missing, as when the training table was read."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        out = _as_float(values)
        return out.mask(np.isinf(out.to_numpy()))
    if not _is_text(values):
        raise FoldwiseError(
            f"column {name!r} has dtype {values.dtype} but the model expects numbers"
        )
    text = _clean_text(values)
    # The decimal point and proven thousands separators of foldwise.numbers: "1,5" is refused,
    # never read as 15.
    parsed = parse_numbers(text)
    bad = text[parsed.not_numbers.to_numpy()]
    if len(bad):
        raise FoldwiseError(
            f"column {name!r}: {len(bad)} value(s) are not numbers (e.g. {bad.iloc[0]!r}); "
            "the model expects a numeric column"
        )
    return parsed.values


def _coerce_boolean(values: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isnan(numbers) | np.isin(numbers, (0.0, 1.0))
        if not ok.all():
            raise FoldwiseError(
                f"column {name!r}: value {float(numbers[~ok][0])!r} is not a boolean; "
                "the model expects true/false, yes/no or 0/1"
            )
        flags = pd.array(numbers == 1.0, dtype="boolean")
        flags[np.isnan(numbers)] = pd.NA
        return pd.Series(flags, index=values.index, name=values.name)
    if not _is_text(values):
        raise FoldwiseError(
            f"column {name!r} has dtype {values.dtype} but the model expects booleans"
        )
    lowered = _clean_text(values).str.lower()
    present = lowered.dropna()
    bad = present[~present.isin(TRUE_TEXT | FALSE_TEXT)]
    if len(bad):
        raise FoldwiseError(
            f"column {name!r}: {len(bad)} value(s) are not booleans (e.g. {bad.iloc[0]!r}); "
            "the model expects true/false, yes/no or 0/1"
        )
    return lowered.isin(TRUE_TEXT).astype("boolean").mask(lowered.isna())


def _naive_utc(values: pd.Series) -> pd.Series:
    if getattr(values.dt, "tz", None) is not None:
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def _coerce_datetime(values: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return _naive_utc(values)
    if not _is_text(values):
        raise FoldwiseError(f"column {name!r} has dtype {values.dtype} but the model expects dates")
    text = _clean_text(values)
    present = text.dropna()
    try:
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    except (ValueError, TypeError) as exc:
        raise FoldwiseError(f"column {name!r}: cannot read the values as dates ({exc})") from None
    if not pd.api.types.is_datetime64_any_dtype(parsed):
        raise FoldwiseError(
            f"column {name!r}: dates mix time zones; the model expects one kind of date"
        )
    bad = present[parsed[present.index].isna()]
    if len(bad):
        raise FoldwiseError(
            f"column {name!r}: {len(bad)} value(s) are not dates (e.g. {bad.iloc[0]!r}); "
            "the model expects dates such as 2024-01-31"
        )
    return _naive_utc(parsed)


def _integral_text(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _coerce_categorical(values: pd.Series) -> pd.Series:
    # 7.0 read from a CSV means the category "7", as a text column would have said.
    if pd.api.types.is_float_dtype(values) or values.dtype == object:
        values = values.map(_integral_text, na_action="ignore")
    return _clean_text(values).astype("str")


def feature_frame(frame: pd.DataFrame, features: list[dict]) -> pd.DataFrame:
    """A new frame of the schema's feature columns, in schema order, with the schema's dtypes.

    Extra columns are ignored. Columns given in another form (numbers or dates as text, booleans
    as 0/1 or yes/no, as when scoring rows read from a CSV) are converted; values that cannot
    be converted raise :class:`FoldwiseError` naming the column.
    """
    names = [str(feature["name"]) for feature in features]
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise FoldwiseError(
            f"input is missing feature column(s) {quoted(missing)} expected by the model"
        )
    duplicated = sorted({name for name in names if list(frame.columns).count(name) > 1})
    if duplicated:
        raise FoldwiseError(f"input has duplicate column name(s) {quoted(duplicated)}")
    columns: dict[str, pd.Series] = {}
    for feature in features:
        name, kind = str(feature["name"]), feature["kind"]
        values = frame[name]
        if kind == "numeric":
            columns[name] = _coerce_numeric(values, name)
        elif kind == "boolean":
            columns[name] = _coerce_boolean(values, name)
        elif kind == "datetime":
            columns[name] = _coerce_datetime(values, name)
        elif kind == "categorical":
            columns[name] = _coerce_categorical(values)
        else:
            raise FoldwiseError(
                f"schema feature {name!r} has kind {kind!r}; expected one of {', '.join(KINDS)}"
            )
    return pd.DataFrame(columns, index=frame.index)


def _category_values(values: pd.Series) -> np.ndarray:
    """Category cells as objects, missing ones as the missing token, never confused with it."""
    hit = values.astype("str").str.fullmatch(MISSING_LIKE).fillna(False).astype(bool)
    if hit.any():
        values = values.astype(object).where(~hit, "\\" + values.astype("str"))
    return values.to_numpy(dtype=object, na_value=MISSING_CATEGORY)


def reference_model_frame(frame: pd.DataFrame, features: list[dict]) -> pd.DataFrame:
    """The estimators' input for raw rows by the reference path (what fast scoring must equal)."""
    return model_frame(feature_frame(frame, features), features)


def coerce_column(values: pd.Series, kind: str, name: str) -> pd.Series:
    """One raw column in the schema's dtype for ``kind`` (the reference coercion)."""
    return feature_frame(pd.DataFrame({name: values}), [{"name": name, "kind": kind}])[name]


def model_values(values: pd.Series, kind: str) -> np.ndarray:
    """One coerced column (:func:`coerce_column`) as the estimators see it."""
    frame = pd.DataFrame({"v": values}, copy=False)
    return model_frame(frame, [{"name": "v", "kind": kind}])["v"].to_numpy()


def model_frame(frame: pd.DataFrame, features: list[dict]) -> pd.DataFrame:
    """Floats for numbers, booleans and dates (days since 1970); plain text for categories."""
    columns: dict[str, Any] = {}
    for feature in features:
        name = str(feature["name"])
        values = frame[name]
        if feature["kind"] == "categorical":
            columns[name] = _category_values(values)
        elif feature["kind"] == "datetime":
            days = (values - _EPOCH) / pd.Timedelta(days=1)
            columns[name] = days.to_numpy(dtype="float64", na_value=np.nan)
        else:
            columns[name] = values.to_numpy(dtype="float64", na_value=np.nan)
    return pd.DataFrame(columns, index=frame.index)
