"""Read numbers written as text: one decimal mark, unambiguous thousands separators, no infinities.

The rules (docs/tutorial.md, "Reading numbers"):

* ``decimal`` is ``"."`` or ``","`` (``data.decimal``); the other mark is the only thousands
  separator, and only in groups of exactly three digits (``1,234,567.5``).
* A thousands separator is removed only when the column proves it is one: a cell holds two of
  them (``1,234,567``) or one with a decimal part (``1,234.5``), or another cell of the column
  uses the decimal mark (``12.5``). A column whose only evidence is cells such as ``1,234``
  (1234, or 1.234 with a decimal comma?) is refused, naming the column.
* Signs, exponents (``-1.5e-3``), a leading or trailing decimal mark (``.5``, ``5.``) are read;
  ``inf``/``infinity`` and numbers beyond float range (``1e999``) are not finite: they become
  missing and are counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

from foldwise.errors import FoldwiseError

Decimal = Literal[".", ","]
DECIMALS: tuple[Decimal, Decimal] = (".", ",")
INFINITE = re.compile(r"^[+-]?(?:inf|infinity)$", re.IGNORECASE)


def other_mark(decimal: Decimal) -> Decimal:
    """The thousands separator that goes with a decimal mark."""
    return "," if decimal == "." else "."


@lru_cache(maxsize=4)
def _patterns(decimal: Decimal) -> tuple[str, str, str]:
    d, t = re.escape(decimal), re.escape(other_mark(decimal))
    exponent = r"(?:[eE][+-]?\d+)?"
    plain = rf"[+-]?(?:\d+(?:{d}\d*)?|{d}\d+){exponent}"
    grouped = rf"[+-]?\d{{1,3}}(?:{t}\d{{3}})+(?:{d}\d*)?"
    # One separator, no decimal part: 1,234 is 1234 or 1.234 depending on the convention.
    lone = rf"[+-]?\d{{1,3}}{t}\d{{3}}"
    return plain, grouped, lone


def number_patterns(decimal: Decimal = ".") -> tuple[str, str, str]:
    """The regular expressions of a plain number, a grouped one and a lone-separator one."""
    return _patterns(decimal)


@dataclass
class ParsedNumbers:
    """Numbers read from a text column; masks are over the column's rows."""

    values: pd.Series  # float64; NaN where missing, not a number, or not finite
    present: pd.Series  # a non-missing cell
    number: pd.Series  # a cell that is a number (finite or not)
    infinite: pd.Series  # a number that is inf/-inf or beyond float range
    rewritten: int  # cells read with thousands separators or a decimal comma
    ambiguous: bool  # thousands separators without proof (see the module docstring)

    @property
    def n_present(self) -> int:
        return int(self.present.sum())

    @property
    def share(self) -> float:
        """Share of the non-missing cells that are numbers."""
        return float(self.number.sum()) / self.n_present if self.n_present else 0.0

    @property
    def not_numbers(self) -> pd.Series:
        return self.present & ~self.number


def parse_numbers(text: pd.Series, decimal: Decimal = ".") -> ParsedNumbers:
    """Parse stripped text (NaN = missing) as numbers with the given decimal mark."""
    plain, grouped, lone = _patterns(decimal)
    present = text.notna().to_numpy()
    cells = text.astype("object").where(present, "").astype("str")
    is_plain = cells.str.fullmatch(plain).to_numpy(dtype=bool) & present
    is_grouped = cells.str.fullmatch(grouped).to_numpy(dtype=bool) & present & ~is_plain
    is_inf = cells.str.fullmatch(INFINITE.pattern, case=False).to_numpy(dtype=bool) & present
    ambiguous = False
    if is_grouped.any():
        is_lone = cells.str.fullmatch(lone).to_numpy(dtype=bool) & is_grouped
        uses_decimal = cells[is_plain].str.contains(decimal, regex=False).any()
        ambiguous = bool(is_lone[is_grouped].all() and not uses_decimal)
    normal = cells.where(~is_grouped, cells.str.replace(other_mark(decimal), "", regex=False))
    if decimal == ",":
        normal = normal.str.replace(",", ".", regex=False)
    readable = is_plain | is_grouped | is_inf
    values = np.full(len(text), np.nan)
    if readable.any():
        values[readable] = normal.to_numpy(dtype=object)[readable].astype("float64")
    finite = np.isfinite(values)
    infinite = readable & ~finite
    values[infinite] = np.nan
    index = text.index
    return ParsedNumbers(
        values=pd.Series(values, index=index, name=text.name, dtype="float64"),
        present=pd.Series(present, index=index),
        number=pd.Series(readable, index=index),
        infinite=pd.Series(infinite, index=index),
        rewritten=int((is_grouped | (is_plain & cells.str.contains(",", regex=False))).sum()),
        ambiguous=ambiguous,
    )


def decimal_hint(
    name: str, text: pd.Series, current: ParsedNumbers, decimal: Decimal, min_share: float
) -> None:
    """Refuse a column whose text reads as numbers better with the other decimal mark."""
    other = other_mark(decimal)
    parsed = parse_numbers(text, other)
    if parsed.share >= min_share and parsed.share > current.share and not parsed.ambiguous:
        sample = text[parsed.number & text.str.contains(other, regex=False)]
        example = f" such as {sample.iloc[0]!r}" if len(sample) else ""
        word = "comma" if other == "," else "point"
        raise FoldwiseError(
            f"column {name!r}: values{example} are numbers with a decimal {word}; "
            f'set data.decimal: "{other}" in params.yaml'
        )


def refuse_ambiguous(name: str, text: pd.Series, decimal: Decimal) -> None:
    """One line naming a column whose thousands separators are not proven."""
    _, _, lone = _patterns(decimal)
    example = text[text.notna() & text.astype("object").fillna("").str.fullmatch(lone)].iloc[0]
    sep = other_mark(decimal)
    as_thousands = example.replace(sep, "")
    as_decimal = example.replace(".", "").replace(",", ".") if decimal == "." else example
    raise FoldwiseError(
        f"column {name!r}: {example!r} is ambiguous ({as_thousands} with {sep!r} as a "
        f"thousands separator, or {as_decimal} with a decimal {sep!r}) and no value of the "
        f'column settles it; set data.thousands: "{sep}" in params.yaml (foldwise init: '
        f'--thousands "{sep}") if {sep!r} separates thousands, or data.decimal: "{sep}" if it '
        "is the decimal mark"
    )


def guess_decimal(text: pd.Series) -> Decimal | None:
    """The decimal mark under which a text column reads as numbers, if exactly one does."""
    fits = [
        d
        for d in DECIMALS
        if parse_numbers(text, d).share == 1.0 and not parse_numbers(text, d).ambiguous
    ]
    return fits[0] if len(fits) == 1 else None
