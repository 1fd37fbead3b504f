"""What the columns of a new table are: ids, dates, segments, the decimal mark.

Every decision carries its reason, so ``foldwise init`` can print it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from foldwise.data import coerce_column
from foldwise.numbers import Decimal, guess_decimal

# "customer_id", "CustomerID", "row-id", "id", "uuid", "guid", "id_number", "ID"
_ID_NAME = re.compile(r"(^|[_\s.-])(id|uuid|guid)($|[_\s.-])", re.IGNORECASE)
_ID_NAME_CAMEL = re.compile(r"[a-z0-9](ID|Id)$|^(ID|Id)[A-Z_]")
# Dates that are not ISO: 31/01/2024, 01-31-2024, 2024.01.31, "Jan 31, 2024", "31 Jan 2024"
_DATE_SHAPES = (
    re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?$"),
    re.compile(r"^[A-Za-z]{3,9}\.? \d{1,2},? \d{4}$"),
    re.compile(r"^\d{1,2} [A-Za-z]{3,9}\.? \d{4}$"),
)
MAX_SEGMENTS = 3
MAX_SEGMENT_LEVELS = 10
_SEGMENT_MAX_TOP_SHARE = 0.95


def looks_like_id_name(name: str) -> bool:
    """Named like an identifier: ``id``, ``customer_id``, ``CustomerID``, ``row-id``, ``uuid``."""
    return bool(_ID_NAME.search(name) or _ID_NAME_CAMEL.search(name))


def id_reason(name: str, raw: pd.Series, kind: str) -> str | None:
    """Why ``name`` is an id column, or None if it is not one."""
    n = len(raw)
    present = raw.dropna()
    distinct = int(present.nunique())
    unique_per_row = len(present) == n and distinct == n
    if looks_like_id_name(name) and distinct >= min(50, max(2, n // 2)):
        return f"named like an id, {distinct} distinct values in {n} rows"
    if not unique_per_row or n < 20 or kind in ("datetime", "boolean"):
        return None
    if kind == "categorical":
        return "unique per row (text)"
    values = pd.to_numeric(present, errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).any() or not (values % 1 == 0).all():
        return None
    if values.max() - values.min() + 1 == n:
        return f"unique per row, consecutive whole numbers {values.min():.0f}..{values.max():.0f}"
    return None


def looks_like_dates(values: pd.Series) -> bool:
    """Text values that all have a date shape and all parse as dates."""
    text = values.dropna().astype("str").str.strip()
    text = text[text != ""]
    if text.empty:
        return False
    sample = pd.Series(text.unique()[:5000])
    if not any(sample.str.match(shape).all() for shape in _DATE_SHAPES):
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().all())


def kinds_and_ids(
    frame: pd.DataFrame,
    roles: set[str],
    decimal: Decimal,
    group_column: str | None,
    thousands: bool = False,
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(kind of each non-role column, id columns with the reason, notes on repeating ids).

    ``thousands``: lone groups such as ``27,000`` are thousands (``data.thousands`` is set).
    """
    n = len(frame)
    notes: list[str] = []
    ids: dict[str, str] = {}
    kinds: dict[str, str] = {}
    kind: str
    for name in frame.columns:
        if name in roles:
            continue
        _, kind, _ = coerce_column(frame[name], decimal=decimal, thousands=thousands)
        kinds[name] = kind
        reason = id_reason(name, frame[name], kind)
        if reason:
            ids[name] = reason
            repeats = n / max(int(frame[name].nunique()), 1)
            if repeats >= 1.5 and not group_column:
                notes.append(
                    f"id column {name!r} repeats ({repeats:.1f} rows per value): if rows sharing "
                    f"it are related, rerun with --group-column {name} so they stay on one side "
                    "of every split"
                )
    return kinds, ids, notes


def date_columns(frame: pd.DataFrame, kinds: dict[str, str], ids: dict[str, str]) -> dict[str, str]:
    """Date columns with how they were recognised; non-ISO dates become ``datetime`` in kinds."""
    dates: dict[str, str] = {}
    for name, kind in kinds.items():
        if name in ids:
            continue
        if kind == "datetime":
            dates[name] = "ISO dates"
        elif kind == "categorical" and looks_like_dates(frame[name]):
            dates[name] = "dates (not ISO; parsed as data.date_columns)"
            kinds[name] = "datetime"
    return dates


def segment_columns(frame: pd.DataFrame, kinds: dict[str, str], exclude: set[str]) -> list[str]:
    """A few low-cardinality categorical or yes/no columns, in table order."""
    out: list[str] = []
    for name in frame.columns:
        if name in exclude or kinds.get(name) not in ("categorical", "boolean"):
            continue
        counts = frame[name].value_counts(dropna=True)
        if not 2 <= len(counts) <= MAX_SEGMENT_LEVELS or counts.sum() < len(frame) / 2:
            continue
        if counts.iloc[0] / counts.sum() > _SEGMENT_MAX_TOP_SHARE:
            continue
        out.append(str(name))
        if len(out) == MAX_SEGMENTS:
            break
    return out


def choose_decimal(frame: pd.DataFrame, separator: str) -> tuple[Decimal, str | None]:
    """``","`` when text columns read as numbers only with a decimal comma, and why."""
    votes: dict[Decimal, list[str]] = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        text = values.dropna().astype("str").str.strip()
        text = text[text != ""]
        if len(text) and (mark := guess_decimal(text)) is not None:
            votes.setdefault(mark, []).append(str(name))
    commas = votes.get(",", [])
    if not commas or "." in votes or separator == ",":
        return ".", None
    shown = ", ".join(repr(c) for c in commas[:5]) + (" ..." if len(commas) > 5 else "")
    return ",", f"column(s) {shown} read as numbers only with a decimal comma"
