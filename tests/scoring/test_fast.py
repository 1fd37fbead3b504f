"""Fast scoring gives exactly the reference path's predictions, for every model and task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from foldwise.errors import FoldwiseError
from foldwise.models import MODEL_NAMES
from foldwise.scoring.fast import FastScorer
from tests.models.test_models import make_data, make_model
from tests.models.test_models import scores as reference_scores


@pytest.fixture(autouse=True)
def one_thread():
    """OpenMP pools spin on a busy machine; one thread keeps these small fits quick."""
    with threadpool_limits(1):
        yield


FITTED: dict[tuple[str, str], tuple] = {}


def fitted(name: str, task: str):
    if (name, task) not in FITTED:
        X, y = make_data(task)
        FITTED[(name, task)] = (make_model(name, task).fit(X, y), X)
    return FITTED[(name, task)]


def scores(model, rows: pd.DataFrame) -> np.ndarray:
    """The reference path; an all-missing column is given as nulls, the one form it accepts
    for every kind (it refused e.g. a float column of NaN for a date feature)."""
    rows = rows.copy()
    for column in rows.columns:
        if len(rows) and rows[column].isna().all():
            rows[column] = pd.Series([None] * len(rows), index=rows.index, dtype=object)
    return reference_scores(model, rows)


def as_text(X: pd.DataFrame) -> pd.DataFrame:
    """The same rows as a CSV reader would give them: every value as text, blanks for missing."""
    out = pd.DataFrame(index=X.index)
    out["x"] = [" " if pd.isna(v) else f" {v!r} " for v in X["x"]]
    out["colour"] = X["colour"].astype(object).where(X["colour"].notna(), "n/a")
    out["city"] = X["city"]
    out["member"] = ["" if pd.isna(v) else ("yes" if v else "no") for v in X["member"]]
    out["joined"] = [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in X["joined"]]
    out["extra"] = "ignored"
    return out


def odd_rows(X: pd.DataFrame) -> pd.DataFrame:
    """Rows with unseen categories, numbers as categories and far values (object columns)."""
    rows = X.iloc[:6].astype(object).copy()
    rows.loc[rows.index[0], "colour"] = "purple"
    rows.loc[rows.index[1], "city"] = 7.0
    rows.loc[rows.index[2], "x"] = 1e12
    rows.loc[rows.index[3], "member"] = 1
    rows.loc[rows.index[4], "x"] = "1,234.5"
    rows.loc[rows.index[5], "joined"] = "2030-06-30 12:00:00"
    return rows


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_fast_scores_equal_the_reference_path_exactly(name, task):
    model, X = fitted(name, task)
    scorer = FastScorer(model)
    for rows in (X, as_text(X), odd_rows(X), X.iloc[::-1]):
        assert np.array_equal(scorer.scores(rows), scores(model, rows), equal_nan=True)


def other_dtypes(X: pd.DataFrame) -> list[pd.DataFrame]:
    """The same rows in other dtypes a reader gives, among other columns, in another order:
    numbers sharing one 2-D block with another column, nullable numbers, pandas categories,
    object text, booleans as 0/1 floats."""
    shared = pd.DataFrame({"extra": np.arange(len(X), dtype="float64"), "x": X["x"].to_numpy()})
    shared["member"] = X["member"].astype("float64").to_numpy()
    shared["joined"] = X["joined"].to_numpy()
    shared["colour"] = X["colour"].astype("category").to_numpy()
    shared["city"] = X["city"].astype(object).to_numpy()
    nullable = X[["city", "joined", "member", "colour"]].reset_index(drop=True)
    nullable.insert(0, "x", X["x"].astype("Float64").to_numpy())
    nullable["colour"] = nullable["colour"].astype(object)
    return [shared, nullable, shared.iloc[:1], nullable.iloc[::-1]]


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_columns_of_any_dtype_and_layout_score_as_the_reference(name, task):
    model, X = fitted(name, task)
    scorer = FastScorer(model)
    for rows in other_dtypes(X):
        assert np.array_equal(scorer.scores(rows), scores(model, rows), equal_nan=True)


@pytest.mark.parametrize("task", ["binary", "regression"])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_one_row_as_dict_or_frame_equals_the_reference_path(name, task):
    model, X = fitted(name, task)
    scorer = FastScorer(model)
    for frame in (X, as_text(X), odd_rows(X)):
        for i in range(min(len(frame), 4)):
            one = frame.iloc[[i]]
            expected = scores(model, one)
            assert np.array_equal(scorer.scores(one), expected), (i, one)
            record = {c: one[c].iloc[0] for c in one.columns}
            assert np.array_equal(scorer.scores(record), expected), (i, record)
            rebuilt = pd.DataFrame([record])
            assert np.array_equal(scorer.scores(rebuilt), scores(model, rebuilt)), (i, record)


def test_a_list_of_records_equals_the_frame():
    model, X = fitted("catboost", "multiclass")
    records = as_text(X).iloc[:40].to_dict("records")
    expected = scores(model, pd.DataFrame(records))
    assert np.array_equal(FastScorer(model).scores(records), expected)


def test_repeated_calls_give_identical_scores():
    model, X = fitted("catboost", "binary")
    scorer = FastScorer(model)
    record = as_text(X).iloc[3].to_dict()
    first = scorer.scores(record)
    for _ in range(3):
        assert np.array_equal(scorer.scores(record), first)


def test_bad_input_gives_the_reference_message():
    model, X = fitted("catboost", "binary")
    scorer = FastScorer(model)
    with pytest.raises(FoldwiseError, match=r"missing feature column\(s\) 'city' expected"):
        scorer.scores(X.drop(columns=["city"]))
    with pytest.raises(FoldwiseError, match=r"missing feature column\(s\) 'city' expected"):
        scorer.scores({k: v for k, v in X.iloc[0].to_dict().items() if k != "city"})
    text = as_text(X)
    text.loc[text.index[:3], "x"] = "lots"
    with pytest.raises(FoldwiseError, match=r"column 'x': 3 value\(s\) are not numbers"):
        scorer.scores(text)
    with pytest.raises(FoldwiseError, match="column 'x'"):
        scorer.scores({**X.iloc[0].to_dict(), "x": "lots"})
    with pytest.raises(FoldwiseError, match="expected a table, a mapping"):
        scorer.scores(42)


def test_records_missing_a_feature_name_the_first_feature_and_its_row():
    model, X = fitted("catboost", "binary")
    scorer = FastScorer(model)
    records = as_text(X).iloc[:4].to_dict("records")
    del records[1]["joined"], records[1]["city"]  # the model's first missing feature is city
    del records[0]["joined"]  # an earlier row lacking a later feature is not the one named
    with pytest.raises(FoldwiseError, match=r"column\(s\) 'city', 'joined' expected .*\(row 1\)"):
        scorer.scores(records)


def test_records_with_extra_keys_and_other_key_orders_score_alike():
    model, X = fitted("catboost", "multiclass")
    records = as_text(X).iloc[:30].to_dict("records")
    shuffled = [dict(reversed(list(r.items())), note=i) for i, r in enumerate(records)]
    expected = scores(model, pd.DataFrame(records))
    assert np.array_equal(FastScorer(model).scores(shuffled), expected)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_an_empty_batch_scores_to_an_empty_result(task):
    model, X = fitted("catboost", task)
    out = FastScorer(model).scores(X.iloc[:0])
    assert out.shape[0] == 0
