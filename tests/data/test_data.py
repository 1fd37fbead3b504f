"""Reading tables, type coercion and splitting."""

import numpy as np
import pandas as pd
import pytest

from foldwise.data import (
    check_same_columns,
    clean_rows,
    coerce_column,
    coerce_table,
    coerce_target,
    read_table,
    split_table,
)
from foldwise.errors import FoldwiseError


def write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- reading ---------------------------------------------------------------------------


def test_read_csv_keeps_id_text(tmp_path):
    path = write(tmp_path, "id,x,y\n007,1,a\n010,2,b\n")
    frame = read_table(path, text_columns=("id",))
    assert frame["id"].tolist() == ["007", "010"]


def test_read_parquet(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}).to_parquet(path)
    assert read_table(path).shape == (2, 2)


def test_missing_file(tmp_path):
    with pytest.raises(FoldwiseError, match=r"nope\.csv: file not found"):
        read_table(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    with pytest.raises(FoldwiseError, match=r"t\.csv: the file is empty"):
        read_table(write(tmp_path, ""))


def test_header_only(tmp_path):
    with pytest.raises(FoldwiseError, match="header but no data rows"):
        read_table(write(tmp_path, "a,b\n"))


def test_binary_file_is_not_a_table(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(FoldwiseError, match=r"t\.csv: not a (text|readable CSV) table"):
        read_table(path)


def test_single_column_text_is_not_a_table(tmp_path):
    with pytest.raises(FoldwiseError, match=r"found 1 column\(s\)"):
        read_table(write(tmp_path, "hello world\nthis is prose\n"))


def test_corrupt_parquet(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n", name="t.parquet")
    with pytest.raises(FoldwiseError, match=r"t\.parquet: not a readable Parquet table"):
        read_table(path)


def test_unsupported_suffix(tmp_path):
    with pytest.raises(FoldwiseError, match=r"unsupported file type '\.xlsx'"):
        read_table(write(tmp_path, "a,b\n1,2\n", name="t.xlsx"))


def test_duplicate_column_names_csv(tmp_path):
    with pytest.raises(FoldwiseError, match=r"duplicate column names 'a';"):
        read_table(write(tmp_path, "a,b,a\n1,2,3\n"))


def test_duplicate_column_names_after_strip(tmp_path):
    with pytest.raises(FoldwiseError, match=r"duplicate column names 'a';"):
        read_table(write(tmp_path, "a, a,b\n1,2,3\n"))


# --- coercion --------------------------------------------------------------------------


def test_numbers_as_text_with_blanks_and_spaces():
    values = pd.Series([" 12.5", "3", " ", "", None, "1,200", "n/a"], name="x", dtype="str")
    out, kind, record = coerce_column(values)
    assert kind == "numeric"
    assert out.dtype == "float64"
    assert out.tolist()[:2] == [12.5, 3.0]
    assert np.isnan(out.iloc[2])
    assert np.isnan(out.iloc[3])
    assert np.isnan(out.iloc[4])
    assert out.iloc[5] == 1200.0
    assert record is not None
    assert record.blank_to_missing == 3


def test_text_with_words_stays_categorical():
    out, kind, record = coerce_column(pd.Series(["1", "2", "three"], name="x"))
    assert kind == "categorical"
    # Mostly numbers but read as categories: listed among the coercions, with the reason.
    assert record is not None
    assert record.to == "categorical"
    assert "2 of 3 values are numbers" in record.note
    assert out.tolist() == ["1", "2", "three"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["yes", "No", " YES ", None], [True, False, True, None]),
        (["true", "false", "TRUE", ""], [True, False, True, None]),
        (["Y", "n", "y"], [True, False, True]),
    ],
)
def test_boolean_words(raw, expected):
    out, kind, _ = coerce_column(pd.Series(raw, name="b"))
    assert kind == "boolean"
    assert [None if pd.isna(v) else bool(v) for v in out] == expected


def test_iso_dates_recognised():
    out, kind, _ = coerce_column(pd.Series(["2024-01-02", "2023-12-31", ""], name="d"))
    assert kind == "datetime"
    assert out.iloc[0] == pd.Timestamp("2024-01-02")
    assert pd.isna(out.iloc[2])


def test_ambiguous_dates_stay_text_unless_declared():
    values = pd.Series(["01/02/2024", "03/04/2024"], name="d")
    assert coerce_column(values)[1] == "categorical"
    assert coerce_column(values, declared_date=True)[1] == "datetime"


def test_declared_date_with_garbage_fails():
    with pytest.raises(FoldwiseError, match=r"column 'd': 1 value\(s\) are not dates"):
        coerce_column(pd.Series(["2024-01-02", "soon"], name="d"), declared_date=True)


def test_target_keeps_labels():
    assert coerce_target(pd.Series([" Yes", "No "])).tolist() == ["Yes", "No"]
    assert coerce_target(pd.Series([">50K", "<=50K"])).tolist() == [">50K", "<=50K"]
    assert coerce_target(pd.Series(["1", " 0"])).tolist() == [1, 0]
    regression = coerce_target(pd.Series(["1.5", " 2", ""]))
    assert regression.dtype == "float64"
    assert np.isnan(regression.iloc[2])


def test_coerce_table_does_not_touch_input():
    frame = pd.DataFrame({"x": [" 1", "2"], "y": ["a", "b"]})
    before = frame.copy()
    typed = coerce_table(frame, target="y", id_columns=[], date_columns=[])
    pd.testing.assert_frame_equal(frame, before)
    assert typed.kinds == {"x": "numeric", "y": "categorical"}


def test_clean_rows_counts_duplicates_and_missing_target():
    frame = pd.DataFrame({"x": [1, 1, 2, 3], "y": ["a", "a", None, "b"]})
    cleaned, stats = clean_rows(frame, "y")
    assert len(cleaned) == 2
    assert stats.duplicate_rows_removed == 1
    assert stats.missing_target_rows_dropped == 1


# --- splitting -------------------------------------------------------------------------


def _frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "g": rng.integers(0, 40, n).astype(str),
            "t": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D"),
            "y": rng.choice(["a", "b"], size=n, p=[0.8, 0.2]),
        }
    )


def test_stratified_split_keeps_class_shares():
    frame = _frame()
    train, test, info = split_table(
        frame, strategy="stratified", test_size=0.25, seed=1, target="y"
    )
    assert len(train) + len(test) == len(frame)
    assert abs((train.y == "b").mean() - (test.y == "b").mean()) < 0.02
    assert info.test_rows == 100


def test_temporal_split_has_no_time_overlap():
    frame = _frame()
    train, test, info = split_table(
        frame, strategy="temporal", test_size=0.2, seed=1, target="y", time_column="t"
    )
    assert train.t.max() < test.t.min()
    assert 0.15 < len(test) / len(frame) < 0.25
    assert info.details["time_column"] == "t"


def test_group_split_has_no_group_on_both_sides():
    frame = _frame()
    train, test, _ = split_table(
        frame, strategy="group", test_size=0.2, seed=1, target="y", group_column="g"
    )
    assert not set(train.g) & set(test.g)
    assert len(test) > 0


def test_random_split_is_deterministic():
    frame = _frame()
    a = split_table(frame, strategy="random", test_size=0.2, seed=3, target="y")
    b = split_table(frame, strategy="random", test_size=0.2, seed=3, target="y")
    pd.testing.assert_frame_equal(a[1], b[1])


def test_temporal_split_rejects_missing_times():
    frame = _frame()
    frame.loc[3, "t"] = pd.NaT
    with pytest.raises(FoldwiseError, match=r"data\.time_column 't' has 1 missing"):
        split_table(frame, strategy="temporal", test_size=0.2, seed=1, target="y", time_column="t")


def test_stratified_split_rejects_singleton_class():
    frame = pd.DataFrame({"x": range(10), "y": ["a"] * 9 + ["b"]})
    with pytest.raises(FoldwiseError, match=r"class 'b' has only 1 row"):
        split_table(frame, strategy="stratified", test_size=0.2, seed=1, target="y")


def test_test_table_with_other_columns(tmp_path):
    with pytest.raises(FoldwiseError, match=r"columns differ from data\.source: missing 'b'"):
        check_same_columns(
            pd.DataFrame(columns=["a", "b", "y"]), pd.DataFrame(columns=["a", "y"]), tmp_path
        )
