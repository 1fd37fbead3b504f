"""Raw values of one feature read through their distinct values, in plain Python.

A pyarrow kernel call costs tens of microseconds whatever its input, so for a hundred rows the
fixed costs of :mod:`foldwise.scoring.columns` are most of the conversion. Here a column of
text (or of integers, for a category) is read by reading each of its distinct values once,
with the reference's rules written in Python, and every row takes its value's result: the
work is one hash per row and one reading per distinct value in the call, whatever was scored
before (nothing is kept between calls).

Only readings that are certain are made here: printable ASCII text, the reference's missing
tokens, plain and grouped numbers, the boolean words, ISO dates, category look-alikes. Any other
value (non-ASCII or control characters, a bad number, a date in another form, a float in a
text column) makes :func:`distinct_values` return None, and the column takes the
column-at-a-time path, which reads it as the reference does or raises its message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from foldwise.data import MISSING_TOKENS
from foldwise.models.frame import FALSE_TEXT, MISSING_CATEGORY, MISSING_LIKE, TRUE_TEXT
from foldwise.numbers import INFINITE, number_patterns

# Beyond this many distinct values in a column, the kernels of columns.py cost less.
MAX_DISTINCT = 1024
_UNSURE = object()  # a value these rules do not read with certainty
_, _GROUPED, _ = (re.compile(p, re.ASCII) for p in number_patterns("."))
_INFINITE = re.compile(INFINITE.pattern, re.ASCII | re.IGNORECASE)
_MISSING_LIKE = re.compile(MISSING_LIKE)
# The ISO dates columns.py reads by Arrow's cast (see its _ISO_DATE), read here by datetime.
_ISO_DATE = re.compile(
    r"[1-9]\d{3}-\d{2}-\d{2}([ T]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?)?", re.ASCII
)
_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_DAY_US_INT = 86_400_000_000
_DIGIT_OR_POINT = frozenset("0123456789.")
_ONE_US = timedelta(microseconds=1)
_DAY_US = np.timedelta64(86_400_000_000, "us")
_NAT = np.iinfo("int64").min  # NaT as int64
_BOOLEANS = {**dict.fromkeys(TRUE_TEXT, 1.0), **dict.fromkeys(FALSE_TEXT, 0.0)}
_NONE = type(None)
_TEXT_TYPES = frozenset({str, _NONE, float})
_INT_TYPES = frozenset({int, _NONE})
_EXACT_INT = 2**53  # as columns.py: larger integers take the reference's float rounding


def _clean(value: Any) -> Any:
    """Stripped text, None where missing (the reference's ``_clean_text``), or _UNSURE."""
    if type(value) is str:
        if not (value.isascii() and value.isprintable()):  # only the space is whitespace
            return _UNSURE
        text = value.strip()
        return None if text.lower() in MISSING_TOKENS else text
    if value is None or value != value:  # noqa: PLR0124 - NaN, a frame's missing text cell, is the one value unequal to itself
        return None
    return _UNSURE


def _number(value: Any) -> Any:
    text = _clean(value)
    if text is None or text is _UNSURE:
        return np.nan if text is None else text
    try:  # float() reads the plain numbers, and more: underscores, nan and inf words
        number = float(text)
        plain = "_" not in text and text.lstrip("+-")[:1] in _DIGIT_OR_POINT
    except ValueError:
        plain = False
    if plain:
        pass
    elif _GROUPED.fullmatch(text):
        number = float(text.replace(",", ""))
    elif _INFINITE.fullmatch(text):
        return np.nan
    else:
        return _UNSURE
    return number if abs(number) != np.inf else np.nan


def _boolean(value: Any) -> Any:
    text = _clean(value)
    if text is None or text is _UNSURE:
        return np.nan if text is None else text
    return _BOOLEANS.get(text.lower(), _UNSURE)


def _microseconds(value: Any) -> Any:
    """Microseconds since 1970 of an ISO date, None where missing."""
    text = _clean(value)
    if text is None or text is _UNSURE:
        return text
    try:  # an impossible date (2024-02-30): the reference names it
        if len(text) == 10 and text[4] == "-" == text[7] and text[5] != "W" and text[0] != "0":
            # YYYY-MM-DD: with these dashes (not a week date) fromisoformat reads only digits
            return (date.fromisoformat(text).toordinal() - _EPOCH_ORDINAL) * _DAY_US_INT
        if not _ISO_DATE.fullmatch(text):
            return _UNSURE
        return (datetime.fromisoformat(text) - _EPOCH) // _ONE_US
    except ValueError:
        return _UNSURE


def _category(value: Any) -> Any:
    if type(value) is int:
        return str(value) if abs(value) < _EXACT_INT else _UNSURE
    text = _clean(value)
    if text is None:
        return MISSING_CATEGORY
    if text is not _UNSURE and _MISSING_LIKE.fullmatch(text):
        return "\\" + text
    return text


def _read_all(distinct: Any, rule: Callable[[Any], Any]) -> dict[Any, Any] | None:
    table = {}
    for value in distinct:
        read = rule(value)
        if read is _UNSURE:
            return None
        table[value] = read
    return table


def _floats(values: Sequence[Any] | np.ndarray, table: dict[Any, Any]) -> np.ndarray:
    return np.fromiter(map(table.__getitem__, values), dtype="float64", count=len(values))


# ----------------------------------------------------------------- whole-column readings
# The common case (printable ASCII text needing no strip, no missing token among the texts)
# is recognised with a few C passes over the distinct texts joined by newlines; each value's
# reading is then one builtin call. Anything else is read value by value (the rules above).
_SEP = "\n"  # never inside printable text
_TOKEN_SEARCH = tuple(f"{_SEP}{t}{_SEP}" for t in MISSING_TOKENS)
_DATES_ONLY = re.compile(r"(?:[1-9]\d{3}-\d{2}-\d{2}\n)*", re.ASCII)
_MISSING_READ = {"categorical": MISSING_CATEGORY, "datetime": None}


def _split(distinct: set[Any], kinds: set[type]) -> tuple[list[str], list[Any]] | None:
    """The distinct texts and the missing values (None, NaN); None: another type is present."""
    if kinds == {str}:
        return list(distinct), []
    if not kinds <= _TEXT_TYPES:
        return None
    texts = [v for v in distinct if type(v) is str]
    missing = [v for v in distinct if type(v) is not str]
    if not all(v is None or v != v for v in missing):  # noqa: PLR0124 - NaN is unequal to itself
        return None
    return texts, missing


def _cleaned(texts: list[str]) -> list[str | None] | None:
    """Each text stripped, None where it is a missing token (``_clean``, for all at once);
    None when a text is not printable ASCII."""
    joined = _SEP.join(texts)
    if not (joined.isascii() and "".join(texts).isprintable()):
        return None
    if joined[:1] == " " or joined[-1:] == " " or f" {_SEP}" in joined or f"{_SEP} " in joined:
        texts = [t.strip() for t in texts]
        joined = _SEP.join(texts)
    lowered = f"{_SEP}{joined.lower()}{_SEP}"
    if any(token in lowered for token in _TOKEN_SEARCH):
        return [None if t.lower() in MISSING_TOKENS else t for t in texts]
    return list(texts)


def _bulk_readings(texts: list[str], joined: str, kind: str) -> list[Any] | None:
    """Each plain text's reading by ``kind``'s rule, or None where the rule reads value by value."""
    try:
        if kind == "categorical":
            return None if MISSING_CATEGORY in joined else texts
        if kind == "numeric":
            numbers = list(map(float, texts))
            if "_" in joined or not np.isfinite(numbers).all():
                return None  # words (nan, inf), underscores: read value by value
            return numbers
        if kind == "boolean":
            read = list(map(_BOOLEANS.get, joined.lower().split(_SEP)))
            return None if None in read else read
        if kind == "datetime" and _DATES_ONLY.fullmatch(joined + _SEP):
            ordinals = [date.fromisoformat(t).toordinal() - _EPOCH_ORDINAL for t in texts]
            return [days * _DAY_US_INT for days in ordinals]
    except ValueError:  # a bad number, an impossible date: read value by value
        return None
    return None


def _bulk_table(distinct: set[Any], kinds: set[type], kind: str) -> dict[Any, Any] | None:
    """Every distinct value's reading when the whole-column rules apply, else None."""
    parts = _split(distinct, kinds)
    if parts is None:
        return None
    texts, missing = parts
    clean = _cleaned(texts) if texts else []
    if clean is None:
        return None
    present = [t for t in clean if t is not None]
    read = _bulk_readings(present, _SEP.join(present), kind) if present else []
    if read is None:
        return None
    absent = _MISSING_READ.get(kind, np.nan)
    readings = iter(read)
    table = {
        raw: absent if t is None else next(readings) for raw, t in zip(texts, clean, strict=True)
    }
    if missing:
        table.update(dict.fromkeys(missing, absent))
    return table


def distinct_values(
    values: Sequence[Any] | np.ndarray,
    kind: str,
    types: set[type],
    max_distinct: int = MAX_DISTINCT,
) -> Any:
    """Model values of a feature's raw values, or None if these rules are not certain.

    ``types`` is the set of the values' types. A float64 array for numbers, booleans and
    dates (days since 1970); for categories, an object array of the model's text.
    """
    if not types <= (_INT_TYPES if kind == "categorical" and int in types else _TEXT_TYPES):
        return None
    try:
        distinct = set(values)
    except TypeError:
        return None
    if len(distinct) > max_distinct:
        return None
    bulk = None if int in types else _bulk_table(distinct, types, kind)
    if kind == "categorical":
        table = bulk or _read_all(distinct, _category)
        if table is None:
            return None
        if not all(key is read for key, read in table.items()):
            values = list(map(table.__getitem__, values))
        return np.array(values, dtype=object)
    if kind == "datetime":
        table = bulk or _read_all(distinct, _microseconds)
        if table is None:
            return None
        # The reference's arithmetic: (stamp - epoch) / one day in microseconds; NaT: missing.
        us = np.array([_NAT if v is None else v for v in table.values()], dtype="int64")
        days = us.astype("m8[us]") / _DAY_US
        table = dict(zip(table, days.tolist(), strict=True))
        return _floats(values, table)
    rule = _number if kind == "numeric" else _boolean
    table = bulk or _read_all(distinct, rule)
    return None if table is None else _floats(values, table)
