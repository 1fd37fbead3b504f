"""Raw feature columns to model values, a whole column (or several) at a time.

The reference coercion (:func:`foldwise.models.frame.feature_frame`, then the model frame)
runs pandas string methods on every column; on pandas 3 those are pyarrow kernels behind a
Series. Here the same kernels run directly on pyarrow arrays, and every text column of one
kind is cleaned in one pass (one row or ten thousand: the same few kernel calls), so the cost
per row never depends on whether a value was seen before.

A column becomes one of four things (:func:`list_column`, :func:`series_column`):

* ``numbers``: already numbers; a float64 array of model values (no text work);
* ``model``: a feature's values read through their distinct values in plain Python
  (:mod:`foldwise.scoring.distinct`): float64, or the model's category text;
* ``text``: strings and missing cells as a pyarrow string array, cleaned and read by
  :func:`text_values` with the reference's rules (strip, missing tokens, numbers with proven
  thousands separators, yes/no/true/false/0/1, ISO dates, the missing category);
* ``series``: anything else (mixed types, timestamps, pandas categories): a pandas column that
  the reference coercion itself converts (:func:`foldwise.models.frame.coerce_column`).

A text value the fast rules do not read (a bad number, a date in another format, non-ASCII
digits) sends its whole column to the reference coercion, which either reads it the same way
or raises the reference's message counting the column's bad values.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from foldwise.data import MISSING_TOKENS
from foldwise.models.frame import FALSE_TEXT, MISSING_CATEGORY, MISSING_LIKE, TRUE_TEXT
from foldwise.numbers import INFINITE, number_patterns
from foldwise.scoring.distinct import MAX_DISTINCT, distinct_values

TEXT = pa.large_string()  # pandas' own storage of its "str" dtype
_PLAIN, _GROUPED, _ = (f"^({p})$" for p in number_patterns("."))
_INFINITE = INFINITE.pattern
_MISSING_LIKE = f"^({MISSING_LIKE})$"
# What the reference's date parser (pandas, format="mixed") reads as the same instant as
# Arrow's ISO 8601 cast, in microseconds (pandas' unit for text): a date, optionally a time
# to the minute, second or microsecond; no zone (an offset sends the column to the reference).
_ISO_DATE = (
    r"^[1-9]\d{3}-\d{2}-\d{2}"
    r"([ T]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?)?$"
)
# The same pattern for Python's re (ASCII classes, whole string): Arrow compiles a pattern on
# every call, which costs more than matching a few hundred short strings in Python.
_ISO_DATE_PY = re.compile(_ISO_DATE[1:-1], re.ASCII)
_PYTHON_MATCH_CELLS = 512
_MISSING = pa.array(sorted(MISSING_TOKENS), TEXT)
_BACKSLASH, _EMPTY = pa.scalar("\\", TEXT), pa.scalar("", TEXT)
_MISSING_CATEGORY = pa.scalar(MISSING_CATEGORY, TEXT)
_EPOCH_US = np.datetime64(0, "us")
_DAY_US = np.timedelta64(86_400_000_000, "us")
_NONE = type(None)
_TEXT_TYPES = frozenset({str, _NONE})
# Not np.float32: with a null the records table holds it as text, read back as another float.
_NUMBER_TYPES = frozenset({float, int, np.float64, np.int64, _NONE})
_BOOL_TYPES = frozenset({bool, np.bool_, _NONE})
_INT_TYPES = frozenset({int, _NONE})
# Integers a float64 column holds exactly: the reference reads [7, None] as 7.0, then "7".
_EXACT_INT = 2**53
# A table's text columns up to this many rows are read through their distinct values first
# (the records' always are): below, Python's work on the values costs less than the kernels.
DISTINCT_ROWS = 2000


@dataclass(frozen=True)
class RawColumn:
    """One feature's raw values in the form its conversion takes (see the module docstring)."""

    form: str  # "numbers", "model", "text" or "series"
    # numbers: float64 ndarray; model: the model's values (float64, or an object array of
    # category text); text: a sequence of str/None, or a pyarrow array; series: a Series
    values: Any


def _numbers(values: np.ndarray) -> RawColumn:
    values = np.asarray(values, dtype="float64")
    if np.isinf(values).any():  # infinities are missing, as when the training table was read
        values = np.where(np.isinf(values), np.nan, values)
    return RawColumn("numbers", values)


def _zero_one(values: np.ndarray) -> bool:
    return bool((np.isnan(values) | (values == 0.0) | (values == 1.0)).all())


def list_column(
    values: Sequence[Any],
    kind: str,
    types: set[type] | None = None,
    max_distinct: int = MAX_DISTINCT,
) -> RawColumn:
    """A feature's values from records (e.g. parsed JSON), typed as a table of them would be.

    The reference is ``pandas.DataFrame(records)``: a column of numbers and nulls is float, of
    text and nulls is text, anything mixed is left to the reference coercion. ``types``: the
    set of the values' types, when the caller has it; text of more distinct values than
    ``max_distinct`` is read by the kernels (the same readings).
    """
    types = set(map(type, values)) if types is None else types
    try:
        if kind == "numeric" and types <= _NUMBER_TYPES:
            return _numbers(np.array(values, dtype="float64"))
        if kind == "boolean" and types <= _BOOL_TYPES:
            return RawColumn("numbers", np.array(values, dtype="float64"))
        if kind == "boolean" and types <= _NUMBER_TYPES:
            numbers = np.array(values, dtype="float64")
            if _zero_one(numbers):
                return RawColumn("numbers", numbers)
        read = distinct_values(values, kind, types, max_distinct)
        if read is not None:
            return RawColumn("model", read)
        if types <= _TEXT_TYPES:  # kept as a list: all text columns become one array
            return RawColumn("text", values)
        if kind == "categorical" and types <= _INT_TYPES:
            ints = pa.array(values, pa.int64())
            largest = pc.max(pc.abs(ints)).as_py()
            if largest is None or largest < _EXACT_INT:
                return RawColumn("text", ints.cast(TEXT))
        if types <= _TEXT_TYPES | {float}:  # text with NaN for missing (a frame's records)
            return RawColumn("text", pa.array(values, TEXT, from_pandas=True))
    except (OverflowError, TypeError, ValueError, pa.ArrowException):
        pass
    return RawColumn("series", pd.Series(list(values)))  # a list: pandas infers its dtype


def column_class(types: set[type], kind: str) -> str:
    """Which of :func:`list_column`'s readings values of these ``types`` take (or "other").

    Within one class every value is read by itself, whatever the other values of its column
    (or a value the class does not read sends its column to the reference): values of one
    class read alike in any split of the rows.
    """
    if kind == "numeric" and types <= _NUMBER_TYPES:
        return "numbers"
    if kind == "boolean" and types <= _BOOL_TYPES:
        return "booleans"
    if kind == "boolean" and types <= _NUMBER_TYPES:
        return "zero-one"
    if types <= _TEXT_TYPES:
        return "text"
    if kind == "categorical" and types <= _INT_TYPES:
        return "integers"
    if types <= _TEXT_TYPES | {float}:
        return "text-or-nan"
    return "other"


def array_column(values: Any, kind: str) -> RawColumn | None:
    """A table column's array (numpy, or pandas' Arrow text) of the usual forms, without the
    cost of a Series; None: any other form (take :func:`series_column`)."""
    if isinstance(values, np.ndarray):
        kinds = "fiub" if kind == "numeric" else "b" if kind == "boolean" else ""
        return (
            _numbers(values.astype("float64", copy=False)) if values.dtype.kind in kinds else None
        )
    if isinstance(values, pd.arrays.ArrowStringArray) and len(values) <= DISTINCT_ROWS:
        cells = values.__arrow_array__().to_numpy()  # Arrow's own, without pandas' checks
        read = distinct_values(cells, kind, set(map(type, cells)))
        return None if read is None else RawColumn("model", read)
    return None


def series_column(values: pd.Series, kind: str) -> RawColumn:
    """A feature's column of a table, by its dtype."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):  # the text branch below, without the dtype tests
        return _text_column(values, kind)
    if isinstance(dtype, pd.CategoricalDtype):
        return RawColumn("series", values)
    plain = isinstance(dtype, np.dtype) and dtype.kind in "fiub"  # plain numpy numbers
    if plain and (kind == "numeric" or (kind == "boolean" and dtype.kind == "b")):
        return _numbers(values.to_numpy().astype("float64", copy=False))
    is_bool = pd.api.types.is_bool_dtype(dtype)
    if kind == "numeric" and (is_bool or pd.api.types.is_numeric_dtype(dtype)):
        return _numbers(values.to_numpy(dtype="float64", na_value=np.nan))
    if kind == "boolean" and (is_bool or pd.api.types.is_numeric_dtype(dtype)):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        if is_bool or _zero_one(numbers):
            return RawColumn("numbers", numbers)
    if kind == "categorical" and pd.api.types.is_integer_dtype(dtype) and not is_bool:
        ints = values.to_numpy(dtype="float64", na_value=np.nan)
        if not np.isnan(ints).any() and np.abs(ints).max(initial=0) < _EXACT_INT:
            return RawColumn("text", pa.array(ints.astype("int64")).cast(TEXT))
    if pd.api.types.is_string_dtype(dtype) or dtype == np.dtype(object):
        return _text_column(values, kind)
    return RawColumn("series", values)


def _objects(values: pd.Series) -> np.ndarray:
    """A text column's cells as Python objects (missing cells None or NaN)."""
    if isinstance(values.array, pd.arrays.ArrowStringArray):  # Arrow's own, without pandas' checks
        return values.array.__arrow_array__().to_numpy()
    return values.to_numpy()


def _text_column(values: pd.Series, kind: str) -> RawColumn:
    object_dtype = values.dtype == np.dtype(object)
    if len(values) <= DISTINCT_ROWS:
        cells = _objects(values)
        read = distinct_values(cells, kind, set(map(type, cells)))
        if read is not None:
            return RawColumn("model", read)
    try:
        source = values.to_numpy() if object_dtype else values.array  # no copy of text
        text = pa.array(source, TEXT, from_pandas=True)
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
    except (TypeError, ValueError, pa.ArrowException):
        return RawColumn("series", values)
    return RawColumn("text", text)


# ----------------------------------------------------------------- text kernels
# Kernel calls cost more than the work on a few values (a regular expression is compiled per
# call), so every text column is cleaned in one pass and each kind needs one to three calls.


def _mask(flags: pa.Array) -> np.ndarray:
    if flags.null_count:
        flags = pc.fill_null(flags, False)
    return flags.to_numpy(zero_copy_only=False)


def _match(text: pa.Array, pattern: str, ignore_case: bool = False) -> np.ndarray:
    return _mask(pc.match_substring_regex(text, pattern, ignore_case=ignore_case))


@dataclass(frozen=True)
class CleanText:
    """Raw text stripped, lowered, and with the missing tokens as nulls (``_clean_text``)."""

    text: pa.Array
    lowered: pa.Array
    present: np.ndarray  # bool: not null and not a missing token

    @classmethod
    def of(cls, raw: pa.Array) -> CleanText:
        stripped = pc.utf8_trim_whitespace(raw)
        lowered = pc.utf8_lower(stripped)
        present = ~_mask(pc.is_in(lowered, value_set=_MISSING)) & _valid(raw)
        if present.all():
            return cls(stripped, lowered, present)
        keep = pa.array(present)
        none = pa.scalar(None, TEXT)
        return cls(pc.if_else(keep, stripped, none), pc.if_else(keep, lowered, none), present)

    def slice(self, start: int, stop: int) -> CleanText:
        n = stop - start
        part = self.present[start:stop]
        return CleanText(self.text.slice(start, n), self.lowered.slice(start, n), part)


def _valid(text: pa.Array) -> np.ndarray:
    if text.null_count == 0:
        return np.ones(len(text), dtype=bool)
    return text.is_valid().to_numpy(zero_copy_only=False)


def read_numbers(clean: CleanText) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from cleaned text, and the cells that are not numbers.

    Arrow's cast reads exactly the plain numbers the reference's pattern accepts (checked on
    every string of its characters up to four long and 200,000 random ones), plus ``nan``
    forms and infinities; an input with anything else takes the reference's patterns.
    """
    try:
        values = clean.text.cast(pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        values = None
    if values is not None and not np.isnan(values[clean.present]).any():
        return np.where(np.isfinite(values), values, np.nan), np.zeros(len(values), bool)
    text = clean.text
    plain = _match(text, _PLAIN)
    grouped = _match(text, _GROUPED) & ~plain
    infinite = _match(text, _INFINITE, ignore_case=True)
    number = plain | grouped
    bad = clean.present & ~(number | infinite)
    digits = pc.if_else(pa.array(grouped), pc.replace_substring(text, ",", ""), text)
    readable = pc.if_else(pa.array(number), digits, pa.scalar(None, TEXT))
    values = readable.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return np.where(np.isfinite(values), values, np.nan), bad


_BOOLEAN_TOKENS = pa.array(sorted(TRUE_TEXT) + sorted(FALSE_TEXT), TEXT)


def read_booleans(clean: CleanText) -> tuple[np.ndarray, np.ndarray]:
    """1.0/0.0 from cleaned text (NaN where missing), and the cells that are not booleans."""
    position = pc.index_in(clean.lowered, value_set=_BOOLEAN_TOKENS)
    found = position.to_numpy(zero_copy_only=False)  # float, NaN where not a token
    known = ~np.isnan(found)
    values = np.where(known, (found < len(TRUE_TEXT)).astype("float64"), np.nan)
    return values, clean.present & ~known


def iso_dates(text: pa.Array) -> np.ndarray:
    """Cells that are ISO dates (``_ISO_DATE``); False where null."""
    if len(text) > _PYTHON_MATCH_CELLS:
        return _match(text, _ISO_DATE)
    match = _ISO_DATE_PY.fullmatch
    return np.array([v is not None and match(v) is not None for v in text.to_pylist()], bool)


def read_dates(clean: CleanText) -> tuple[np.ndarray, np.ndarray] | None:
    """Days since 1970 from cleaned ISO text, and the cells the fast rule does not read."""
    bad = clean.present & ~iso_dates(clean.text)
    if bad.any():
        return np.full(len(bad), np.nan), bad
    try:  # an impossible date (2024-02-30) fails the cast: the reference names it
        stamps = clean.text.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
    except pa.ArrowException:
        return None
    # The reference's arithmetic: (values - epoch) / one day, in microseconds.
    return (stamps - _EPOCH_US) / _DAY_US, bad


def read_categories(clean: CleanText) -> tuple[pa.Array, np.ndarray]:
    """Category text: missing cells as the missing token, look-alikes escaped with a backslash."""
    text = clean.text
    # A plain substring search first: the pattern is compiled only when a cell could match.
    maybe = _mask(pc.match_substring(text, MISSING_CATEGORY)).any()
    hit = _match(text, _MISSING_LIKE) if maybe else np.zeros(len(text), dtype=bool)
    if hit.any():
        escaped = pc.binary_join_element_wise(_BACKSLASH, text, _EMPTY)
        text = pc.if_else(pa.array(hit), escaped, text)
    if not clean.present.all():
        text = pc.fill_null(text, _MISSING_CATEGORY)
    return text, np.zeros(len(hit), dtype=bool)


READERS = {
    "numeric": read_numbers,
    "boolean": read_booleans,
    "datetime": read_dates,
    "categorical": read_categories,
}


def text_values(kind: str, clean: CleanText) -> tuple[Any, np.ndarray] | None:
    """Model values of cleaned text of ``kind``, and the cells the fast rules could not read.

    Categories come back as a pyarrow string array, the rest as float64; None: the whole
    input needs the reference coercion.
    """
    return READERS[kind](clean)


def text_array(parts: list[Any]) -> pa.Array:
    """One string array of several text columns, end to end."""
    if not any(isinstance(part, pa.Array) for part in parts):
        return pa.array(list(itertools.chain.from_iterable(parts)), TEXT)
    arrays = [p if isinstance(p, pa.Array) else pa.array(p, TEXT) for p in parts]
    return pa.concat_arrays(arrays) if len(arrays) > 1 else arrays[0]
