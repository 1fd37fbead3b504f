"""Column-at-a-time conversion of messy raw rows equals the reference path, on unseen rows.

Hypothesis draws rows the scorer has never seen (numbers as text with blanks and thousands
separators, yes/no/true/false/0/1, dates as text, unseen and look-alike categories, every
missing marker, ints for categories, mixed types in one column) and every model family and
task must score them exactly as ``feature_frame`` + the model frame does, or raise the same
message.
"""

from __future__ import annotations

import gc
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foldwise.errors import FoldwiseError
from foldwise.models import MODEL_NAMES
from foldwise.models.frame import coerce_column, model_values
from foldwise.scoring import distinct
from foldwise.scoring.columns import iso_dates
from foldwise.scoring.distinct import distinct_values
from foldwise.scoring.fast import FastScorer
from foldwise.scoring.rows import gc_paused
from tests.scoring.test_fast import fitted, one_thread, scores  # noqa: F401

MISSING = st.sampled_from([None, float("nan"), "", " ", "n/a", "NA", "null", "-", "?", "None"])
NUMBER_TEXT = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f" {v!r} "),
    st.integers(-(10**7), 10**7).map(lambda v: f"{v:,}"),  # thousands separators
    st.floats(0, 1e4, allow_nan=False).map(lambda v: f"{v:,.2f}"),
    st.sampled_from(["1e5", ".5", "5.", "+3", "-0", "1e999", "inf", "-Infinity", "007"]),
)
NUMBERS = st.one_of(
    # scikit-learn's models refuse values beyond float32 (the reference path alike)
    st.floats(-1e30, 1e30),
    st.sampled_from([float("nan"), float("inf"), -float("inf")]),
    st.integers(-(10**6), 10**6),
    NUMBER_TEXT,
)
CATEGORIES = st.one_of(
    st.sampled_from(["red", "green", "blue", " red ", "purple", "RED", "city03", "city99"]),
    st.sampled_from(["__missing__", "\\__missing__", "x__missing__", "é", "7", "7.0"]),
    st.integers(-5, 50),
    st.text(max_size=6),
)
BOOLEANS = st.one_of(
    st.booleans(),
    st.sampled_from(["yes", "No", "TRUE", " t ", "f", "Y", "n", "1", "0", "1.0", "0.0"]),
    st.sampled_from([0, 1, 0.0, 1.0]),
)
DATES = st.one_of(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2035, 12, 31)).map(str),
    st.datetimes(min_value=datetime(2000, 1, 1)).map(lambda d: d.isoformat(sep=" ")),
    st.sampled_from(["2021-03-04T12:30", "2021-03-04 07:05:09.25", "03/04/2021", "2021-3-4"]),
)


def row(clean: bool):
    """One record; ``clean`` draws only values every model reads (no bad cells)."""
    numbers = NUMBERS
    return st.fixed_dictionaries(
        {
            "x": st.one_of(MISSING, numbers if clean else st.one_of(numbers, st.just("lots"))),
            "colour": st.one_of(MISSING, CATEGORIES),
            "city": st.one_of(MISSING, CATEGORIES),
            "member": st.one_of(MISSING, BOOLEANS if clean else st.one_of(BOOLEANS, st.just(2))),
            "joined": st.one_of(MISSING, DATES if clean else st.one_of(DATES, st.just("soon"))),
            "extra": st.sampled_from(["ignored", 1, None]),
        }
    )


def text_row():
    """One record of text only, as a CSV reader or a JSON client sending strings gives it."""
    as_text = st.one_of(NUMBER_TEXT, st.sampled_from(["", " ", "n/a", "-"]), st.none())
    words = st.one_of(CATEGORIES.map(str), st.none())
    return st.fixed_dictionaries(
        {
            "x": as_text,
            "colour": words,
            "city": words,
            "member": st.one_of(BOOLEANS.map(str).map(str.lower), st.none(), st.just("N/A")),
            "joined": st.one_of(DATES, st.none(), st.just("")),
        }
    )


def outcome(fn):
    """Scores, or the message of the FoldwiseError raised."""
    try:
        return fn()
    except FoldwiseError as exc:
        return str(exc)


def check(model, records: list[dict]) -> None:
    scorer = FastScorer(model)
    expected = outcome(lambda: scores(model, pd.DataFrame(records)))
    columns = {name: [r[name] for r in records] for name in records[0]}

    def by_columns() -> np.ndarray:
        return scorer.scores_of(scorer.columns_matrix(columns))

    for rows in (records, pd.DataFrame(records), by_columns):
        call = rows if callable(rows) else (lambda rows=rows: scorer.scores(rows))
        got = outcome(call)
        if isinstance(expected, str) or isinstance(got, str):
            assert got == expected, (records, got, expected)
        else:
            assert np.array_equal(got, expected, equal_nan=True), (records, got, expected)


SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("name", MODEL_NAMES)
@SETTINGS
@given(
    records=st.one_of(
        st.lists(row(clean=True), min_size=1, max_size=12),
        st.lists(text_row(), min_size=1, max_size=12),
    )
)
def test_messy_unseen_rows_score_exactly_as_the_reference(name, task, records):
    model, _ = fitted(name, task)
    check(model, records)


@pytest.mark.parametrize("task", ["binary", "regression"])
@settings(SETTINGS, max_examples=60)
@given(records=st.lists(row(clean=False), min_size=1, max_size=12))
def test_bad_cells_give_the_reference_message(task, records):
    model, _ = fitted("catboost", task)
    check(model, records)


@SETTINGS
@given(record=row(clean=True))
def test_one_record_scores_as_a_one_row_table(record):
    model, _ = fitted("catboost", "multiclass")
    expected = outcome(lambda: scores(model, pd.DataFrame([record])))
    got = outcome(lambda: FastScorer(model).scores(record))
    if isinstance(expected, str):
        assert got == expected
    else:
        assert np.array_equal(got, expected, equal_nan=True)


def test_large_batches_take_the_categorical_input_and_stay_exact():
    model, X = fitted("catboost", "binary")
    records = pd.concat([X] * 12, ignore_index=True)  # 2,880 rows, above the object array
    records["x"] = records["x"].map(lambda v: "" if pd.isna(v) else f"{v:,.6f}")
    records["member"] = records["member"].map({True: "yes", False: "no"})
    assert np.array_equal(FastScorer(model).scores(records), scores(model, records))


def test_the_same_row_twice_in_one_call_is_scored_alike():
    model, _ = fitted("catboost", "binary")
    record = {"x": "1,234.5", "colour": 7, "city": " city03 ", "member": "Y", "joined": None}
    out = FastScorer(model).scores([record, dict(record)])
    assert np.array_equal(out[0], out[1])
    assert np.array_equal(out, scores(model, pd.DataFrame([record, record])))


DATE_LIKE = st.one_of(
    DATES,
    st.text(alphabet="0123456789-:. TtZ+\n\u0663\u00e9", max_size=30),
    st.none(),
)


@settings(SETTINGS, max_examples=200)
@given(cells=st.lists(DATE_LIKE, min_size=1, max_size=20))
def test_small_inputs_match_dates_in_python_as_arrow_does(cells):
    """Few cells are matched by Python's re, many by Arrow's: the same answers."""
    small = iso_dates(pa.array(cells, pa.large_string()))
    padding = ["2021-03-04"] * 600  # enough cells for Arrow's own regular expression
    large = iso_dates(pa.array(cells + padding, pa.large_string()))
    assert small.tolist() == large[: len(cells)].tolist()


ODD_TEXT = st.one_of(
    st.text(alphabet=" \t\n\x0b\x1c\u00a0\u2003\u0663é,.-+eE0123456789naiftyTRUE_", max_size=8),
    st.sampled_from(["\u0663", " 1,5 ", "1_000", "1,234", "12,34", "nan", "NaN", "+inf", "Yes "]),
    st.sampled_from(["+nan", "-nan", "1.e5", "0x10", "1e", "+-1", ".e5", "_1", "1__0", "٣.5"]),
    st.sampled_from(["2021-W01-1", "20210304", "0999-01-01", "2021-02-29", "2021-13-01"]),
)
CELLS = st.one_of(MISSING, NUMBER_TEXT, CATEGORIES, BOOLEANS, DATES, ODD_TEXT, NUMBERS)
# Mostly cells of the kind, so that most columns are read (a column with one odd cell is not).
KIND_CELLS = {
    "numeric": st.one_of(MISSING, NUMBER_TEXT, NUMBER_TEXT.map(lambda v: v.replace(",", ""))),
    "boolean": st.one_of(MISSING, BOOLEANS.map(str), BOOLEANS.map(lambda v: f" {v} ".upper())),
    "datetime": st.one_of(MISSING, DATES, st.sampled_from(["2021-W01-1", "0999-01-01"])),
    "categorical": st.one_of(MISSING, CATEGORIES),
}


def reference_values(values: list, kind: str):
    """The reference coercion of one raw column (all-missing given as nulls, as the scorer
    reads it), or the message it raises."""
    series = pd.Series(values)
    if series.isna().all():
        series = pd.Series([None] * len(values), dtype=object)
    try:
        return model_values(coerce_column(series, kind, "v"), kind)
    except FoldwiseError as exc:
        return str(exc)


@pytest.mark.parametrize("kind", ["numeric", "boolean", "datetime", "categorical"])
@settings(SETTINGS, max_examples=300)
@given(data=st.data())
def test_distinct_values_read_only_what_the_reference_reads_alike(kind, data):
    """Whatever the distinct-value rules accept, they read exactly as the reference does."""
    of_kind = st.lists(KIND_CELLS[kind], min_size=1, max_size=8)
    values = data.draw(st.one_of(of_kind, of_kind, st.lists(CELLS, min_size=1, max_size=8)))
    read = distinct_values(values, kind, set(map(type, values)))
    if read is None:
        return
    expected = reference_values(values, kind)
    assert not isinstance(expected, str), (values, read, expected)
    if kind == "categorical":
        assert read.dtype == object
        assert read.tolist() == list(expected), (values, read)
    else:
        assert np.array_equal(read, expected.astype("float64"), equal_nan=True), (values, read)


@pytest.mark.parametrize("task", ["binary", "regression"])
@settings(SETTINGS, max_examples=30)
@given(
    records=st.one_of(
        st.lists(row(clean=False), min_size=1, max_size=12),
        st.lists(text_row(), min_size=1, max_size=12),
    )
)
def test_records_read_by_the_kernels_alone_score_as_the_reference(task, records, monkeypatch):
    """With the distinct-value rules off (as for columns of many distinct values), records
    take the pyarrow kernels, with the same scores and messages."""
    monkeypatch.setattr(distinct, "MAX_DISTINCT", 0)
    model, _ = fitted("catboost", task)
    check(model, records)


def test_the_collector_is_paused_while_rows_are_taken_and_restored_after():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), gc_paused():
        raise KeyError("x")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a collector the caller turned off stays off
    finally:
        gc.enable()
