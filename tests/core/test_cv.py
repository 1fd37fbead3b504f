"""Cross-validation folds and early-stopping validation parts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from foldwise.cv import folds_fingerprint, make_folds, validation_split
from foldwise.errors import FoldwiseError


def make_frame(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Rows with repeated dates, groups of uneven size, a 3-class and a numeric target."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            # Only 30 distinct days, so many rows share a timestamp.
            "when": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 30, n), "D"),
            "customer": [f"C{g:02d}" for g in rng.integers(0, 24, n)],
            "x": rng.normal(size=n),
        },
        index=pd.RangeIndex(1000, 1000 + n),  # not 0..n-1: folds must be positional
    )
    y_class = rng.choice([0, 1, 2], size=n, p=[0.5, 0.3, 0.2]).astype("int64")
    y_reg = rng.normal(size=n)
    return frame, y_class, y_reg


def assert_partition(folds: list[tuple[np.ndarray, np.ndarray]], n: int) -> None:
    """Every row validated exactly once, and never trained on in its own fold."""
    validated = np.concatenate([valid for _, valid in folds])
    assert np.array_equal(np.sort(validated), np.arange(n))
    for train, valid in folds:
        assert len(np.intersect1d(train, valid)) == 0
        assert len(train) + len(valid) == n


# ----------------------------------------------------------------- k-fold variants


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_plain_folds_validate_every_row_once(task):
    frame, y_class, y_reg = make_frame()
    y = (
        y_reg
        if task == "regression"
        else (y_class > 0).astype("int64")
        if task == "binary"
        else y_class
    )
    folds = make_folds(frame, y, task=task, n_splits=5, seed=3)
    assert len(folds) == 5
    assert_partition(folds, len(frame))


def test_stratification_keeps_class_shares_in_every_fold():
    frame, y, _ = make_frame(n=300)
    folds = make_folds(frame, y, task="multiclass", n_splits=5, seed=0)
    overall = np.bincount(y, minlength=3)
    for _, valid in folds:
        counts = np.bincount(y[valid], minlength=3)
        # Stratified k-fold puts each class's count within one row of its even share.
        assert np.all(np.abs(counts - overall / 5) <= 1)


def test_folds_are_deterministic_for_a_seed_and_change_with_it():
    frame, y, _ = make_frame()
    first = make_folds(frame, y, task="multiclass", n_splits=4, seed=11)
    again = make_folds(frame, y, task="multiclass", n_splits=4, seed=11)
    other = make_folds(frame, y, task="multiclass", n_splits=4, seed=12)
    assert folds_fingerprint(first) == folds_fingerprint(again)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    assert folds_fingerprint(first) != folds_fingerprint(other)


def test_regression_folds_differ_by_seed():
    frame, _, y = make_frame()
    a = make_folds(frame, y, task="regression", n_splits=4, seed=0)
    b = make_folds(frame, y, task="regression", n_splits=4, seed=1)
    assert folds_fingerprint(a) != folds_fingerprint(b)


def test_class_with_fewer_rows_than_folds_is_an_error_naming_it():
    frame, y, _ = make_frame(n=60)
    y = y.copy()
    y[y == 2] = 1
    y[:3] = 2  # class 2 now has 3 rows
    labels = ("setosa", "versicolor", "virginica")
    with pytest.raises(FoldwiseError) as caught:
        make_folds(frame, y, task="multiclass", n_splits=5, seed=0, labels=labels)
    assert str(caught.value) == (
        "target class 'virginica' has only 3 row(s), fewer than cv.folds = 5; lower cv.folds "
        "or add rows of that class"
    )
    # Without labels (a caller holding the labels themselves in y) the value is the name.
    with pytest.raises(FoldwiseError, match=r"^target class 2 has only 3 row"):
        make_folds(frame, y, task="multiclass", n_splits=5, seed=0)


def test_too_few_folds_or_rows_is_an_error():
    frame, _, y = make_frame(n=20)
    with pytest.raises(FoldwiseError, match=r"cv\.folds = 1"):
        make_folds(frame, y, task="regression", n_splits=1, seed=0)
    with pytest.raises(FoldwiseError, match=r"cv\.folds = 5 needs more rows"):
        make_folds(frame.head(4), y[:4], task="regression", n_splits=5, seed=0)


# ----------------------------------------------------------------- groups


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_group_folds_never_split_a_group(task):
    frame, y_class, y_reg = make_frame()
    y = y_reg if task == "regression" else y_class
    folds = make_folds(frame, y, task=task, n_splits=4, seed=5, group_column="customer")
    assert_partition(folds, len(frame))
    groups = frame["customer"].to_numpy()
    for train, valid in folds:
        assert set(groups[train]).isdisjoint(groups[valid])


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_group_folds_are_deterministic_and_seeded(task):
    frame, y_class, y_reg = make_frame()
    y = y_reg if task == "regression" else y_class
    kwargs = {"task": task, "n_splits": 4, "group_column": "customer"}
    a = folds_fingerprint(make_folds(frame, y, seed=1, **kwargs))
    b = folds_fingerprint(make_folds(frame, y, seed=1, **kwargs))
    c = folds_fingerprint(make_folds(frame, y, seed=2, **kwargs))
    assert a == b
    assert a != c


def test_fewer_groups_than_folds_is_an_error_naming_key_and_column():
    frame, y, _ = make_frame()
    frame = frame.assign(customer=np.where(np.arange(len(frame)) % 2, "A", "B"))
    with pytest.raises(FoldwiseError, match=r"'customer' has 2 group\(s\).*cv\.folds = 3"):
        make_folds(frame, y, task="multiclass", n_splits=3, seed=0, group_column="customer")


def test_missing_group_is_an_error():
    frame, _, y = make_frame()
    frame.loc[frame.index[0], "customer"] = None
    with pytest.raises(FoldwiseError, match=r"'customer' has 1 missing"):
        make_folds(frame, y, task="regression", n_splits=3, seed=0, group_column="customer")


# ----------------------------------------------------------------- time


def test_walk_forward_always_trains_on_the_past():
    frame, y, _ = make_frame()
    folds = make_folds(frame, y, task="multiclass", n_splits=4, seed=0, time_column="when")
    assert len(folds) == 4
    when = frame["when"].to_numpy()
    previous_train = np.array([], dtype="int64")
    for train, valid in folds:
        assert when[train].max() < when[valid].min()  # no timestamp on both sides
        assert len(np.intersect1d(train, valid)) == 0
        assert np.isin(previous_train, train).all()  # the window expands
        previous_train = np.concatenate([train, valid])
    validated = np.concatenate([valid for _, valid in folds])
    assert len(np.unique(validated)) == len(validated)
    # The first block is never validated; blocks are of comparable size.
    sizes = [len(valid) for _, valid in folds]
    assert min(sizes) > len(frame) / 10


def test_walk_forward_ignores_the_seed():
    frame, y, _ = make_frame()
    a = make_folds(frame, y, task="multiclass", n_splits=3, seed=0, time_column="when")
    b = make_folds(frame, y, task="multiclass", n_splits=3, seed=99, time_column="when")
    assert folds_fingerprint(a) == folds_fingerprint(b)


def test_walk_forward_with_exactly_enough_distinct_times():
    frame, _, y = make_frame(n=40)
    frame = frame.assign(when=pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(40) % 4, "D"))
    folds = make_folds(frame, y, task="regression", n_splits=3, seed=0, time_column="when")
    when = frame["when"].to_numpy()
    assert [len(np.unique(when[valid])) for _, valid in folds] == [1, 1, 1]


def test_too_few_distinct_times_is_an_error():
    frame, _, y = make_frame(n=40)
    frame = frame.assign(when=pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(40) % 3, "D"))
    with pytest.raises(FoldwiseError, match=r"'when' has 3 distinct value.*cv\.folds = 3"):
        make_folds(frame, y, task="regression", n_splits=3, seed=0, time_column="when")


def test_missing_time_is_an_error():
    frame, _, y = make_frame()
    frame.loc[frame.index[5], "when"] = pd.NaT
    with pytest.raises(FoldwiseError, match=r"'when' has 1 missing"):
        make_folds(frame, y, task="regression", n_splits=3, seed=0, time_column="when")


# ----------------------------------------------------------------- validation split


def test_time_validation_is_the_latest_rows():
    frame, y, _ = make_frame()
    fit_idx, val_idx = validation_split(
        frame, y, task="multiclass", fraction=0.2, seed=0, time_column="when"
    )
    when = frame["when"].to_numpy()
    assert when[fit_idx].max() < when[val_idx].min()
    assert len(fit_idx) + len(val_idx) == len(frame)
    assert 0.1 < len(val_idx) / len(frame) < 0.3


def test_group_validation_holds_out_whole_groups():
    frame, _, y = make_frame()
    fit_idx, val_idx = validation_split(
        frame, y, task="regression", fraction=0.25, seed=4, group_column="customer"
    )
    groups = frame["customer"].to_numpy()
    assert set(groups[fit_idx]).isdisjoint(groups[val_idx])
    assert np.array_equal(np.sort(np.concatenate([fit_idx, val_idx])), np.arange(len(frame)))


def test_classification_validation_is_stratified_and_seeded():
    frame, y, _ = make_frame(n=300)
    _, val_idx = validation_split(frame, y, task="multiclass", fraction=0.2, seed=0)
    assert len(val_idx) == 60
    expected = np.bincount(y, minlength=3) * 0.2
    assert np.all(np.abs(np.bincount(y[val_idx], minlength=3) - expected) <= 1)
    again = validation_split(frame, y, task="multiclass", fraction=0.2, seed=0)
    other = validation_split(frame, y, task="multiclass", fraction=0.2, seed=1)
    assert np.array_equal(again[1], val_idx)
    assert not np.array_equal(other[1], val_idx)


def test_regression_validation_is_random_and_seeded():
    frame, _, y = make_frame()
    a = validation_split(frame, y, task="regression", fraction=0.25, seed=0)
    b = validation_split(frame, y, task="regression", fraction=0.25, seed=0)
    c = validation_split(frame, y, task="regression", fraction=0.25, seed=1)
    assert np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    assert len(a[1]) == 60


def test_validation_split_errors():
    frame, y, _ = make_frame(n=40)
    single_time = frame.assign(when=pd.Timestamp("2024-01-01"))
    with pytest.raises(FoldwiseError, match=r"'when' has a single value"):
        validation_split(
            single_time, y, task="multiclass", fraction=0.2, seed=0, time_column="when"
        )
    one_group = frame.assign(customer="A")
    with pytest.raises(FoldwiseError, match=r"'customer' has a single group"):
        validation_split(
            one_group, y, task="multiclass", fraction=0.2, seed=0, group_column="customer"
        )
    lonely = y.copy()
    lonely[lonely == 2] = 1
    lonely[0] = 2
    with pytest.raises(FoldwiseError, match=r"^target class 'c' has 1 row in this training part"):
        validation_split(
            frame, lonely, task="multiclass", fraction=0.2, seed=0, labels=["a", "b", "c"]
        )


# ----------------------------------------------------------------- fingerprint


def test_fingerprint_changes_when_one_row_moves():
    folds = [(np.array([0, 1, 2]), np.array([3, 4])), (np.array([2, 3, 4]), np.array([0, 1]))]
    moved = [(np.array([0, 1, 3]), np.array([2, 4])), (np.array([2, 3, 4]), np.array([0, 1]))]
    shuffled_within = [(np.array([2, 0, 1]), np.array([4, 3])), folds[1]]
    assert len(folds_fingerprint(folds)) == 64
    assert folds_fingerprint(folds) != folds_fingerprint(moved)
    assert folds_fingerprint(folds) == folds_fingerprint(shuffled_within)
    assert folds_fingerprint(folds) != folds_fingerprint(folds[::-1])
