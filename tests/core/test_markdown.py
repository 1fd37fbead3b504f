"""foldwise.markdown: the one missing mark, cell escaping and table layout of every report."""

import pytest

from foldwise.markdown import MISSING, cell, escape, number, percent, table


def test_missing_values_read_the_same_everywhere():
    assert MISSING == "–"
    assert cell(None, ".4f") == number(None) == percent(None) == MISSING


def test_cells_are_formatted_with_their_spec():
    assert cell(0.123456, ".4g") == "0.1235"
    assert cell(3) == "3"
    assert cell(-0.5, "+.2f") == "-0.50"
    assert percent(0.125) == "12.5%"
    assert number(1234) == "1234"  # ints in full, not 1.23e+03
    assert number(0.0001234) == "0.000123"
    assert number(2.5, ".1f") == "2.5"
    assert number(True) == "True"  # a bool is text, not the number 1
    assert number("a|b") == "a\\|b"


def test_escape_keeps_a_cell_on_one_line_and_in_its_column():
    assert escape("a|b\nc") == "a\\|b c"
    assert escape(12) == "12"


def test_table_layout_and_alignment():
    lines = table(["name", "rows", "share"], [["a", "1", "50%"], ["b", "2", "50%"]], align="lrr")
    assert lines == [
        "| name | rows | share |",
        "|---|---:|---:|",
        "| a | 1 | 50% |",
        "| b | 2 | 50% |",
    ]
    assert table(["x"], []) == ["| x |", "|---|"]


def test_table_refuses_an_alignment_of_the_wrong_width():
    with pytest.raises(ValueError, match="2 letters for 3 columns"):
        table(["a", "b", "c"], [], align="lr")
