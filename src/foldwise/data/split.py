"""Clean rows (duplicates, missing targets) and split train from test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from foldwise.errors import FoldwiseError

SplitStrategy = Literal["stratified", "random", "temporal", "group"]


@dataclass(frozen=True)
class CleaningStats:
    """Rows found repeated and rows removed before splitting."""

    rows_read: int
    duplicate_rows_removed: int
    missing_target_rows_dropped: int
    duplicate_rows: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "duplicate_rows": self.duplicate_rows,
            "duplicate_rows_removed": self.duplicate_rows_removed,
            "missing_target_rows_dropped": self.missing_target_rows_dropped,
        }


def clean_rows(
    frame: pd.DataFrame, target: str, *, drop_duplicates: bool = True
) -> tuple[pd.DataFrame, CleaningStats]:
    """Remove exact duplicate rows (if asked) and rows whose target is missing, counting both.

    ``duplicate_rows`` counts rows repeating an earlier row either way.
    """
    repeated = frame.duplicated(keep="first")
    deduped = frame[~repeated] if drop_duplicates else frame
    labelled = deduped[deduped[target].notna()]
    stats = CleaningStats(
        rows_read=len(frame),
        duplicate_rows_removed=len(frame) - len(deduped),
        missing_target_rows_dropped=len(deduped) - len(labelled),
        duplicate_rows=int(repeated.sum()),
    )
    return labelled.reset_index(drop=True), stats


def choose_split_strategy(
    strategy: str, task: str, time_column: str | None, group_column: str | None
) -> SplitStrategy:
    """Resolve ``split.strategy: auto``: time beats groups beats stratification."""
    if strategy != "auto":
        return strategy  # type: ignore[return-value]
    if time_column:
        return "temporal"
    if group_column:
        return "group"
    return "random" if task == "regression" else "stratified"


@dataclass(frozen=True)
class SplitInfo:
    """What the split did, for the schema file and the audit."""

    strategy: str
    test_size: float
    train_rows: int
    test_rows: int
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "test_size": self.test_size,
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
            **self.details,
        }


def _temporal_split(
    frame: pd.DataFrame, time_column: str | None, test_size: float
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The latest ``test_size`` of the rows by time are the test rows; no time on both sides."""
    if not time_column:
        raise FoldwiseError("split.strategy 'temporal' needs data.time_column")
    times = frame[time_column]
    if times.isna().any():
        raise FoldwiseError(
            f"data.time_column {time_column!r} has {int(times.isna().sum())} missing "
            "value(s); a temporal split needs every row dated"
        )
    cutoff = times.sort_values(kind="stable").iloc[int(len(frame) * (1 - test_size))]
    is_test = (times >= cutoff).to_numpy()
    if is_test.all() or not is_test.any():
        raise FoldwiseError(
            f"data.time_column {time_column!r}: cannot split by time, too few distinct times"
        )
    index = np.arange(len(frame))
    details = {
        "time_column": time_column,
        "cutoff": str(cutoff),
        "train_time_max": str(times[~is_test].max()),
        "test_time_min": str(times[is_test].min()),
    }
    return index[~is_test], index[is_test], details


def _group_split(
    frame: pd.DataFrame, group_column: str | None, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Whole groups go to one side: a shuffled split of the groups."""
    if not group_column:
        raise FoldwiseError("split.strategy 'group' needs data.group_column")
    groups = frame[group_column]
    if groups.isna().any():
        raise FoldwiseError(
            f"data.group_column {group_column!r} has {int(groups.isna().sum())} missing "
            "value(s); every row needs a group"
        )
    if groups.nunique() < 2:
        raise FoldwiseError(
            f"data.group_column {group_column!r} has a single group; a group split needs two"
        )
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    index = np.arange(len(frame))
    train_idx, test_idx = next(splitter.split(index, groups=groups.astype("str")))
    details = {"group_column": group_column, "test_groups": int(groups.iloc[test_idx].nunique())}
    return train_idx, test_idx, details


def split_table(
    frame: pd.DataFrame,
    *,
    strategy: SplitStrategy,
    test_size: float,
    seed: int,
    target: str,
    time_column: str | None = None,
    group_column: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, SplitInfo]:
    """Split into train and test; temporal and group splits never put a time or group on both sides."""
    details: dict[str, Any] = {}
    index = np.arange(len(frame))
    if strategy == "temporal":
        train_idx, test_idx, details = _temporal_split(frame, time_column, test_size)
    elif strategy == "group":
        train_idx, test_idx, details = _group_split(frame, group_column, test_size, seed)
    elif strategy == "stratified":
        y = frame[target].astype("str")
        counts = y.value_counts()
        if counts.min() < 2:
            raise FoldwiseError(
                f"target {target!r}: class {counts.idxmin()!r} has only {counts.min()} row; "
                "a stratified split needs at least 2 rows per class"
            )
        train_idx, test_idx = train_test_split(
            index, test_size=test_size, random_state=seed, stratify=y
        )
    elif strategy == "random":
        train_idx, test_idx = train_test_split(index, test_size=test_size, random_state=seed)
    else:
        raise ValueError(f"unknown split strategy {strategy!r}")
    train = frame.iloc[np.sort(train_idx)].reset_index(drop=True)
    test = frame.iloc[np.sort(test_idx)].reset_index(drop=True)
    if len(train) == 0 or len(test) == 0:
        raise FoldwiseError(
            f"split.test_size {test_size} leaves an empty train or test table from "
            f"{len(frame)} rows"
        )
    return train, test, SplitInfo(strategy, test_size, len(train), len(test), details)
