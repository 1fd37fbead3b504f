"""Cross-validation folds and early-stopping validation parts that respect time and groups.

Every function returns positional row indices, is deterministic for a seed and never depends
on the model, so all models of a run are scored on identical folds.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    train_test_split,
)

from foldwise.errors import FoldwiseError
from foldwise.metrics import Task

Fold = tuple[np.ndarray, np.ndarray]

# GroupKFold gained shuffle/random_state in scikit-learn 1.6.
_GROUP_KFOLD_SHUFFLES = "shuffle" in inspect.signature(GroupKFold.__init__).parameters


def _check_rows(frame: pd.DataFrame, y: np.ndarray) -> None:
    if len(frame) != len(y):
        raise ValueError(f"frame has {len(frame)} rows but y has {len(y)}")


def _time_values(frame: pd.DataFrame, time_column: str) -> pd.Series:
    if time_column not in frame.columns:
        raise FoldwiseError(f"data.time_column {time_column!r} is not a column of the table")
    times = frame[time_column]
    if times.isna().any():
        raise FoldwiseError(
            f"data.time_column {time_column!r} has {int(times.isna().sum())} missing value(s); "
            "time-ordered validation needs every row dated"
        )
    return times


def _group_codes(frame: pd.DataFrame, group_column: str) -> np.ndarray:
    if group_column not in frame.columns:
        raise FoldwiseError(f"data.group_column {group_column!r} is not a column of the table")
    groups = frame[group_column]
    if groups.isna().any():
        raise FoldwiseError(
            f"data.group_column {group_column!r} has {int(groups.isna().sum())} missing "
            "value(s); every row needs a group"
        )
    codes, _ = pd.factorize(groups, sort=True)
    return codes.astype("int64")


def class_label(value: Any, classes: Sequence[Any] | None) -> Any:
    """The label of an encoded class (``classes[value]``), or ``value`` if no labels are given."""
    value = value.item() if isinstance(value, np.generic) else value
    if classes is not None and isinstance(value, int) and 0 <= value < len(classes):
        label = classes[value]
        return label.item() if isinstance(label, np.generic) else label
    return value


def _check_class_counts(y: np.ndarray, n_splits: int, classes: Sequence[Any] | None) -> None:
    values, counts = np.unique(y, return_counts=True)
    if counts.min() < n_splits:
        label = class_label(values[counts.argmin()], classes)
        raise FoldwiseError(
            f"target class {label!r} has only {counts.min()} row(s), fewer than "
            f"cv.folds = {n_splits}; lower cv.folds or add rows of that class"
        )


def _time_order(times: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Row positions sorted by time, and the sorted positions where a new time value starts."""
    order = np.argsort(times.to_numpy(), kind="stable")
    ordered = times.iloc[order].to_numpy()
    changes = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    return order, changes


def _walk_forward(times: pd.Series, n_splits: int, time_column: str) -> list[Fold]:
    order, changes = _time_order(times)
    if len(changes) < n_splits:
        raise FoldwiseError(
            f"data.time_column {time_column!r} has {len(changes) + 1} distinct value(s); "
            f"walk-forward cv.folds = {n_splits} needs at least {n_splits + 1}"
        )
    n = len(order)
    cuts: list[int] = []
    lowest = 0
    for j in range(1, n_splits + 1):
        # Leave enough later change points for the cuts still to come.
        highest = len(changes) - (n_splits - j)
        candidates = changes[lowest:highest]
        pick = int(np.argmin(np.abs(candidates - n * j / (n_splits + 1))))
        cuts.append(int(candidates[pick]))
        lowest += pick + 1
    bounds = [0, *cuts, n]
    folds: list[Fold] = []
    for i in range(n_splits):
        train = np.sort(order[: bounds[i + 1]])
        valid = np.sort(order[bounds[i + 1] : bounds[i + 2]])
        folds.append((train, valid))
    return folds


def _shuffled_group_folds(groups: np.ndarray, n_splits: int, seed: int) -> list[Fold]:
    """GroupKFold over a seeded permutation of groups, for scikit-learn without shuffle."""
    unique = np.unique(groups)
    permuted = np.random.default_rng(seed).permutation(unique)
    fold_of_group = dict(zip(permuted.tolist(), np.arange(len(permuted)) % n_splits, strict=True))
    fold_of_row = np.array([fold_of_group[g] for g in groups.tolist()])
    index = np.arange(len(groups))
    return [(index[fold_of_row != i], index[fold_of_row == i]) for i in range(n_splits)]


def make_folds(
    frame: pd.DataFrame,
    y: np.ndarray,
    *,
    task: Task,
    n_splits: int,
    seed: int,
    time_column: str | None = None,
    group_column: str | None = None,
    labels: Sequence[Any] | None = None,
) -> list[Fold]:
    """The cross-validation folds as (train, validation) positional indices, each sorted.

    With ``time_column``: walk-forward, expanding window over ``n_splits + 1`` time blocks cut
    only where the time value changes; fold ``i`` trains on blocks ``0..i`` and validates on
    block ``i + 1``, so the first block is never validated. With ``group_column``: whole groups
    per fold (stratified for classification). Otherwise (stratified) shuffled k-fold. Time takes
    precedence over groups when both are given. ``labels`` (of the codes in ``y``) name a
    class in errors.
    """
    _check_rows(frame, y)
    if n_splits < 2:
        raise FoldwiseError(f"cv.folds = {n_splits} is too small; cross-validation needs 2")
    if len(frame) < n_splits + (1 if time_column else 0):
        raise FoldwiseError(f"cv.folds = {n_splits} needs more rows than the {len(frame)} given")
    y = np.asarray(y)
    index = np.arange(len(frame))
    if time_column:
        return _walk_forward(_time_values(frame, time_column), n_splits, time_column)
    if task != "regression":
        _check_class_counts(y, n_splits, labels)
    if group_column:
        groups = _group_codes(frame, group_column)
        n_groups = len(np.unique(groups))
        if n_groups < n_splits:
            raise FoldwiseError(
                f"data.group_column {group_column!r} has {n_groups} group(s), fewer than "
                f"cv.folds = {n_splits}; lower cv.folds or add groups"
            )
        if task != "regression":
            splitter = StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed)
            splits = splitter.split(index, y, groups)
        elif _GROUP_KFOLD_SHUFFLES:
            splits = GroupKFold(n_splits, shuffle=True, random_state=seed).split(index, y, groups)
        else:
            splits = _shuffled_group_folds(groups, n_splits, seed)
    elif task != "regression":
        splits = StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(index, y)
    else:
        splits = KFold(n_splits, shuffle=True, random_state=seed).split(index)
    folds = [(np.sort(train), np.sort(valid)) for train, valid in splits]
    if any(len(valid) == 0 or len(train) == 0 for train, valid in folds):
        raise FoldwiseError(
            f"cv.folds = {n_splits} leaves an empty fold; lower cv.folds or add rows or groups"
        )
    return folds


def validation_split(
    frame: pd.DataFrame,
    y: np.ndarray,
    *,
    task: Task,
    fraction: float,
    seed: int,
    time_column: str | None = None,
    group_column: str | None = None,
    labels: Sequence[Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Carve an early-stopping validation part: (fit, validation) positional indices, sorted.

    With ``time_column`` the validation part is the latest ``fraction`` of rows, cut where the
    time value changes; with ``group_column`` it is whole groups; otherwise it is random
    (stratified for classification). ``labels`` (of the codes in ``y``) name a class in errors.
    """
    _check_rows(frame, y)
    if not 0.0 < fraction < 1.0:
        raise FoldwiseError(f"train.validation_size = {fraction} must be between 0 and 1")
    y = np.asarray(y)
    n = len(frame)
    index = np.arange(n)
    if time_column:
        order, changes = _time_order(_time_values(frame, time_column))
        if len(changes) == 0:
            raise FoldwiseError(
                f"data.time_column {time_column!r} has a single value; cannot hold out the "
                "latest rows for early stopping"
            )
        cut = int(changes[np.argmin(np.abs(changes - n * (1.0 - fraction)))])
        return np.sort(order[:cut]), np.sort(order[cut:])
    if group_column:
        groups = _group_codes(frame, group_column)
        if len(np.unique(groups)) < 2:
            raise FoldwiseError(
                f"data.group_column {group_column!r} has a single group; early stopping needs "
                "a second group to validate on"
            )
        splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        fit_idx, val_idx = next(splitter.split(index, y, groups))
        return np.sort(fit_idx), np.sort(val_idx)
    if task != "regression":
        classes, counts = np.unique(y, return_counts=True)
        if counts.min() < 2:
            label = class_label(classes[counts.argmin()], labels)
            raise FoldwiseError(
                f"target class {label!r} has {counts.min()} row in this training part; the "
                "early-stopping validation part needs 2 per class"
            )
        n_val = int(np.ceil(fraction * n))
        if n_val < len(classes) or n - n_val < len(classes):
            raise FoldwiseError(
                f"train.validation_size = {fraction} of {n} rows cannot hold every one of the "
                f"{len(classes)} classes on both sides"
            )
        fit_idx, val_idx = train_test_split(
            index, test_size=fraction, random_state=seed, stratify=y
        )
    else:
        fit_idx, val_idx = train_test_split(index, test_size=fraction, random_state=seed)
    if len(fit_idx) == 0 or len(val_idx) == 0:
        raise FoldwiseError(f"train.validation_size = {fraction} leaves an empty part of {n} rows")
    return np.sort(fit_idx), np.sort(val_idx)


def folds_fingerprint(folds: list[Fold]) -> str:
    """SHA-256 of the fold assignment, so two runs can check they used identical folds."""
    digest = hashlib.sha256()
    digest.update(f"folds:{len(folds)};".encode())
    for train, valid in folds:
        for part in (train, valid):
            rows = np.sort(np.asarray(part, dtype="<i8"))
            digest.update(f"{len(rows)}:".encode())
            digest.update(rows.tobytes())
    return digest.hexdigest()
