"""Property: any table of numbers written as text reads back to the same numbers."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foldwise.data import coerce_table, read_table
from foldwise.numbers import parse_numbers

FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)
BLANKS = st.sampled_from(["", " ", "NA", "n/a", "  "])
STYLES = st.sampled_from(["repr", "exponent", "plus", "spaces", "grouped"])
SWAP = str.maketrans({",": ".", ".": ","})


def write_number(value: float, style: str, decimal: str) -> str:
    """``value`` as text in one of the ways people and programs write numbers."""
    if style == "exponent":
        text = format(value, ".17e")
    elif style == "grouped":
        text = format(value, ",")  # shortest repr with thousands separators: 1,234,567.5
    else:
        text = repr(value)
    if style == "plus" and not text.startswith("-"):
        text = "+" + text
    if decimal == ",":
        text = text.translate(SWAP)
    return f"  {text} " if style == "spaces" else text


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, list[list[float | None]], list[list[str]]]:
    decimal = draw(st.sampled_from([".", ","]))
    n_cols = draw(st.integers(1, 3))
    n_rows = draw(st.integers(1, 12))
    values: list[list[float | None]] = []
    cells: list[list[str]] = []
    for _ in range(n_cols):
        col_values: list[float | None] = []
        col_cells: list[str] = []
        for _ in range(n_rows):
            if draw(st.booleans()) and draw(st.booleans()):
                col_values.append(None)
                col_cells.append(draw(BLANKS))
            else:
                value = draw(FLOATS)
                col_values.append(value)
                col_cells.append(write_number(value, draw(STYLES), decimal))
        if all(v is None for v in col_values):  # a column needs one number to be numeric
            value = draw(FLOATS)
            col_values[0] = value
            col_cells[0] = write_number(value, "repr", decimal)
        values.append(col_values)
        cells.append(col_cells)
    return decimal, values, cells


def _same(read: float, written: float | None) -> bool:
    return math.isnan(read) if written is None else read == written


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=tables())
def test_numbers_written_as_text_read_back_the_same(tmp_path: Path, table) -> None:
    decimal, values, cells = table
    separator = ";" if decimal == "," else ","
    names = [f"c{i}" for i in range(len(cells))] + ["label"]
    rows = [separator.join([*(f'"{col[r]}"' for col in cells), "a"]) for r in range(len(cells[0]))]
    path = tmp_path / "t.csv"
    path.write_text(separator.join(names) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    frame = read_table(path, separator=separator)
    typed = coerce_table(frame, target="label", id_columns=[], date_columns=[], decimal=decimal)
    for i, written in enumerate(values):
        assert typed.kinds[f"c{i}"] == "numeric"
        read = typed.frame[f"c{i}"].tolist()
        assert all(_same(r, w) for r, w in zip(read, written, strict=True)), (read, written)


@settings(max_examples=100, deadline=None)
@given(value=FLOATS, style=STYLES, decimal=st.sampled_from([".", ","]))
def test_one_number_reads_back(value: float, style: str, decimal: str) -> None:
    text = write_number(value, style, decimal).strip()
    parsed = parse_numbers(pd.Series([text, "1" + decimal + "5"]), decimal)  # "1.5" proves the mark
    assert parsed.values.iloc[0] == value


@pytest.mark.parametrize(
    ("text", "decimal"), [("1e999", "."), ("-1e400", "."), ("inf", "."), ("-Infinity", ",")]
)
def test_beyond_float_range_is_not_finite(text: str, decimal: str) -> None:
    parsed = parse_numbers(pd.Series([text, "2"]), decimal)
    assert math.isnan(parsed.values.iloc[0])
    assert bool(parsed.infinite.iloc[0])
