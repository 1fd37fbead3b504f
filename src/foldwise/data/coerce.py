"""Infer and coerce column types: numbers, booleans, dates and categories from text cells."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from foldwise.errors import FoldwiseError
from foldwise.numbers import Decimal, decimal_hint, parse_numbers, refuse_ambiguous

Kind = Literal["numeric", "categorical", "boolean", "datetime"]

# Tokens that mean "no value" in a text column; anything else unparseable keeps a column textual.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
BOOLEAN_PAIRS = (
    frozenset({"yes", "no"}),
    frozenset({"true", "false"}),
    frozenset({"y", "n"}),
    frozenset({"t", "f"}),
)
TRUE_TOKENS = frozenset({"yes", "true", "y", "t"})
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
# A text column is numeric when at least this share of its non-missing cells are numbers; the
# other cells become missing and are counted. Below it the column holds categories.
NUMERIC_SHARE = 0.95
# A categorical column with at least this share of numbers is listed among the coercions.
MOSTLY_NUMBERS = 0.5


@dataclass(frozen=True)
class Coercion:
    """One column whose type was changed on reading, and how many cells became missing."""

    column: str
    to: Kind
    blank_to_missing: int
    examples: tuple[str, ...] = ()
    unparseable: int = 0
    infinite_to_missing: int = 0
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "to": self.to,
            "blank_to_missing": self.blank_to_missing,
            "unparseable": self.unparseable,
            "infinite_to_missing": self.infinite_to_missing,
            "examples": list(self.examples),
            "note": self.note,
        }


@dataclass
class TypedTable:
    """A table with every column's kind decided, plus what the coercion did."""

    frame: pd.DataFrame
    kinds: dict[str, Kind]
    coercions: list[Coercion] = field(default_factory=list)


def strip_text(values: pd.Series) -> pd.Series:
    """Stripped text with missing tokens turned into NaN (a new Series)."""
    text = values.astype("str").str.strip()
    return text.mask(text.str.lower().isin(MISSING_TOKENS))


def _is_text(values: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(values) or values.dtype == object


def _examples(values: pd.Series, mask: pd.Series | np.ndarray) -> tuple[str, ...]:
    return tuple(values[np.asarray(mask)].astype(str).unique()[:3].tolist())


def _finite_numbers(values: pd.Series, name: str) -> tuple[pd.Series, Coercion | None]:
    """A numeric column as float64 with inf/-inf turned into missing, counted."""
    out = pd.Series(
        values.to_numpy(dtype="float64", na_value=np.nan), index=values.index, name=values.name
    )
    infinite = np.isinf(out.to_numpy())
    if not infinite.any():
        return out, None
    out[infinite] = np.nan
    return out, Coercion(
        name, "numeric", 0, _examples(values, infinite), infinite_to_missing=int(infinite.sum())
    )


def coerce_column(
    values: pd.Series,
    *,
    declared_date: bool = False,
    allow_boolean: bool = True,
    decimal: Decimal = ".",
    thousands: bool = False,
) -> tuple[pd.Series, Kind, Coercion | None]:
    """Decide one column's kind and return it converted, with a record of what became missing.

    Text is numeric when at least ``NUMERIC_SHARE`` of its non-missing cells are numbers
    (:mod:`foldwise.numbers`); the rest become missing and are counted, as do infinities.
    ``thousands``: the user says the other mark separates thousands (``data.thousands``), so
    a column whose only separators are lone groups (``27,000``) is read, not refused.
    """
    name = str(values.name)
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean"), "boolean", None
    if pd.api.types.is_datetime64_any_dtype(values):
        return values, "datetime", None
    if pd.api.types.is_numeric_dtype(values) and not declared_date:
        out, record = _finite_numbers(values, name)
        return out, "numeric", record
    if not _is_text(values) and not declared_date:
        return values.astype("str").astype("category").astype("str"), "categorical", None
    return _coerce_text(
        values,
        name,
        declared_date=declared_date,
        allow_boolean=allow_boolean,
        decimal=decimal,
        thousands=thousands,
    )


def _coerce_text(
    values: pd.Series,
    name: str,
    *,
    declared_date: bool,
    allow_boolean: bool,
    decimal: Decimal,
    thousands: bool = False,
) -> tuple[pd.Series, Kind, Coercion | None]:
    """A text column as dates, booleans, numbers or categories (see :func:`coerce_column`)."""
    raw_missing = values.isna()
    text = strip_text(values)
    became_missing = int((text.isna() & ~raw_missing).sum())
    present = text.dropna()

    if declared_date or (len(present) and present.str.match(ISO_DATE).all()):
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        bad = present[parsed[present.index].isna()]
        if len(bad):
            raise FoldwiseError(
                f"column {name!r}: {len(bad)} value(s) are not dates (e.g. {bad.iloc[0]!r}); "
                "expected dates such as 2024-01-31"
            )
        return parsed, "datetime", Coercion(name, "datetime", became_missing)

    if len(present) == 0:
        return text.astype("str"), "categorical", None

    lowered = present.str.lower()
    uniques = frozenset(lowered.unique())
    if allow_boolean and any(uniques <= pair for pair in BOOLEAN_PAIRS) and len(uniques) <= 2:
        flags = text.str.lower().isin(TRUE_TOKENS).astype("boolean").mask(text.isna())
        return flags, "boolean", Coercion(name, "boolean", became_missing)

    return _numbers_or_categories(values, text, raw_missing, name, decimal, thousands)


def _numbers_or_categories(
    values: pd.Series,
    text: pd.Series,
    raw_missing: pd.Series,
    name: str,
    decimal: Decimal,
    thousands: bool = False,
) -> tuple[pd.Series, Kind, Coercion | None]:
    """Numbers when at least ``NUMERIC_SHARE`` of the cells are, else categories (with a note
    when most of them are numbers)."""
    became_missing = int((text.isna() & ~raw_missing).sum())
    numbers = parse_numbers(text, decimal)
    if numbers.share < 1.0:
        decimal_hint(name, text, numbers, decimal, NUMERIC_SHARE)
    if numbers.share >= NUMERIC_SHARE:
        if numbers.ambiguous and not thousands:
            refuse_ambiguous(name, text, decimal)
        lost = (text.isna() & ~raw_missing) | numbers.not_numbers | numbers.infinite
        if not lost.any() and not numbers.rewritten:  # plain numbers: nothing to report
            return numbers.values, "numeric", None
        record = Coercion(
            name,
            "numeric",
            became_missing,
            _examples(values, lost),
            unparseable=int(numbers.not_numbers.sum()),
            infinite_to_missing=int(numbers.infinite.sum()),
        )
        return numbers.values, "numeric", record
    if numbers.share >= MOSTLY_NUMBERS:
        words = numbers.not_numbers
        note = (
            f"{int(numbers.number.sum())} of {numbers.n_present} values are numbers; read as "
            f"categories because {int(words.sum())} are not (at least {NUMERIC_SHARE:.0%} must "
            "be numbers for a numeric column)"
        )
        record = Coercion(name, "categorical", 0, _examples(text, words), note=note)
        return text.astype("str"), "categorical", record
    return text.astype("str"), "categorical", None


def coerce_table(
    frame: pd.DataFrame,
    *,
    target: str,
    id_columns: list[str],
    date_columns: list[str],
    decimal: Decimal = ".",
    thousands: bool = False,
) -> TypedTable:
    """Coerce every column: ids to text, the target keeps its labels, the rest by content."""
    out: dict[str, pd.Series] = {}
    kinds: dict[str, Kind] = {}
    coercions: list[Coercion] = []
    for name in frame.columns:
        values = frame[name]
        if name in id_columns:
            out[name] = values.astype("str").str.strip()
            kinds[name] = "categorical"
            continue
        if name == target:
            out[name] = coerce_target(values, decimal=decimal)
            kinds[name] = "numeric" if pd.api.types.is_numeric_dtype(out[name]) else "categorical"
            continue
        converted, kind, record = coerce_column(
            values, declared_date=name in date_columns, decimal=decimal, thousands=thousands
        )
        out[name] = converted
        kinds[name] = kind
        if record is not None:
            coercions.append(record)
    return TypedTable(pd.DataFrame(out, index=frame.index), kinds, coercions)


def _refuse_infinite_target(name: str, values: pd.Series, infinite: np.ndarray) -> None:
    if infinite.any():
        raise FoldwiseError(
            f"target {name!r}: {int(infinite.sum())} value(s) are not finite numbers (e.g. "
            f"{values[infinite].astype(str).iloc[0]!r}); fix or remove those rows"
        )


def coerce_target(values: pd.Series, *, decimal: Decimal = ".") -> pd.Series:
    """The target with text stripped and numbers-as-text made numeric; labels keep their values.

    An infinite value (or one beyond float range) is refused, naming the target.
    """
    name = str(values.name)
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    if not _is_text(values):
        if pd.api.types.is_float_dtype(values):
            as_float = values.to_numpy(dtype="float64", na_value=np.nan)
            _refuse_infinite_target(name, values, np.isinf(as_float))
        return values
    text = strip_text(values)
    numbers = parse_numbers(text, decimal)
    if numbers.n_present and numbers.share < 1.0:
        decimal_hint(f"{name}", text, numbers, decimal, 1.0)
    if numbers.n_present and numbers.share == 1.0:
        _refuse_infinite_target(name, values, numbers.infinite.to_numpy())
        parsed = numbers.values
        if (parsed.dropna() % 1 == 0).all():
            return parsed.astype("Int64")
        return parsed
    return text.astype("str")
