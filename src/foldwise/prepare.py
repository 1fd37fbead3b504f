"""Step 3 (first half): turn the raw table into typed, cleaned, split train and sealed test tables."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from foldwise.audit import compute_split_checks
from foldwise.config import Config
from foldwise.conform import conform_table
from foldwise.data import (
    CleaningStats,
    Kind,
    TypedTable,
    check_same_columns,
    choose_split_strategy,
    clean_rows,
    coerce_table,
    read_table,
    split_table,
)
from foldwise.errors import FoldwiseError
from foldwise.hashing import file_sha256, frame_sha256
from foldwise.label_map import apply_label_map
from foldwise.model_settings import check_model_settings
from foldwise.problem import Problem, resolve_problem, to_python

MAX_STORED_CATEGORIES = 1000


def check_columns(config: Config, columns: list[str], path: Path) -> None:
    data = config.data
    named = [("data.target", data.target)]
    named += [
        (f"data.{key}", name)
        for key in ("id_columns", "drop_columns", "date_columns")
        for name in getattr(data, key)
    ]
    named += [
        (f"data.{key}", getattr(data, key))
        for key in ("time_column", "group_column")
        if getattr(data, key)
    ]
    # Checked here too so a typo fails in seconds, not after training.
    named += [("evaluate.segments", name) for name in config.evaluate.segments]
    for key, name in named:
        if name not in columns:
            hint = difflib.get_close_matches(name, columns, n=1)
            tip = f"; did you mean {hint[0]!r}?" if hint else ""
            shown = ", ".join(columns[:15]) + (" ..." if len(columns) > 15 else "")
            raise FoldwiseError(f"{key} {name!r} is not a column of {path}{tip} (columns: {shown})")
    roles = {data.target, *data.id_columns, *data.drop_columns}
    roles |= {c for c in (data.group_column, data.time_column) if c}
    if not [c for c in columns if c not in roles]:
        raise FoldwiseError(
            f"{path}: no feature columns left after removing the target, id, drop, time and "
            "group columns"
        )


@dataclass
class Prepared:
    """The outputs of the prepare stage, in memory."""

    train: pd.DataFrame
    test: pd.DataFrame
    schema: dict[str, Any]
    problem: Problem
    # The training part before duplicate removal, kept when a provided test table was not
    # deduplicated alike: the audit's expected rate of cross-split duplicates comes from it.
    train_reference: pd.DataFrame | None = None


def feature_columns(config: Config, columns: list[str]) -> list[str]:
    """Columns a model may use: all but target, ids, dropped, time and group columns."""
    data = config.data
    excluded = {data.target, *data.id_columns, *data.drop_columns}
    excluded |= {c for c in (data.time_column, data.group_column) if c}
    return [c for c in columns if c not in excluded]


def _describe_features(
    train: pd.DataFrame, kinds: dict[str, Kind], names: list[str]
) -> list[dict[str, Any]]:
    described = []
    for name in names:
        entry: dict[str, Any] = {"name": name, "kind": kinds[name]}
        if kinds[name] == "categorical":
            counts = train[name].value_counts()
            entry["n_categories"] = len(counts)
            entry["categories"] = [str(c) for c in counts.index[:MAX_STORED_CATEGORIES]]
        described.append(entry)
    return described


def _user_path(root: Path, given: str) -> Path:
    """The table's path, relative as the user wrote it when running from the project root."""
    path = Path(given)
    if path.is_absolute() or root.resolve() == Path.cwd().resolve():
        return path
    return root / path


@dataclass
class _Read:
    """The typed source table and, when given, the typed separate test table."""

    typed: TypedTable
    source: Path
    test: pd.DataFrame | None = None
    test_path: Path | None = None
    test_cells_to_missing: dict[str, int] = field(default_factory=dict)
    labels_mapped: dict[str, int] = field(default_factory=dict)


def _read_typed(config: Config, root: Path) -> _Read:
    """Read the source and decide every column's kind on it; type the test table likewise."""
    data = config.data
    source = _user_path(root, data.source)
    text_columns = tuple(data.id_columns)
    frame = read_table(source, separator=data.csv_separator, text_columns=text_columns)
    check_columns(config, list(frame.columns), source)
    labels_mapped: dict[str, int] = {}
    frame[data.target], labels_mapped["source"] = apply_label_map(
        frame[data.target], data.label_map
    )
    try:
        typed = coerce_table(
            frame,
            target=data.target,
            id_columns=list(data.id_columns),
            date_columns=[*data.date_columns, *([data.time_column] if data.time_column else [])],
            decimal=data.decimal,
            thousands=data.thousands is not None,
        )
    except FoldwiseError as exc:
        raise FoldwiseError(f"{source}: {exc}") from None
    read = _Read(typed, source, labels_mapped=labels_mapped)
    if data.test_source:
        test_path = _user_path(root, data.test_source)
        test_frame = read_table(test_path, separator=data.csv_separator, text_columns=text_columns)
        check_same_columns(frame, test_frame, test_path)
        test_frame[data.target], labels_mapped["test_source"] = apply_label_map(
            test_frame[data.target], data.label_map
        )
        read.test, read.test_cells_to_missing = conform_table(
            test_frame[list(frame.columns)],
            typed.kinds,
            target=data.target,
            train_target=typed.frame[data.target],
            id_columns=list(data.id_columns),
            decimal=data.decimal,
            path=test_path,
        )
        read.test_path = test_path
    return read


def _check_features_have_values(train: pd.DataFrame, features: list[str], source: Path) -> None:
    """A feature without a single value in the training rows gives a model nothing to learn."""
    for name in features:
        if train[name].isna().all():
            raise FoldwiseError(
                f"{source}: column {name!r} has no value in the training rows (every cell is "
                "missing, blank or not finite); fix it or list it in data.drop_columns"
            )


@dataclass(frozen=True)
class _Sides:
    """The cleaned training and test rows, the problem, and how the two sides came about."""

    train: pd.DataFrame
    test: pd.DataFrame
    problem: Problem
    stats: CleaningStats  # of the training table (or of the one table before the split)
    split_info: dict[str, Any]
    test_stats: dict[str, Any] | None = None
    reference: pd.DataFrame | None = None


def _split_rows(config: Config, frame: pd.DataFrame) -> _Sides:
    """One table: clean it, then split off the sealed test rows."""
    data = config.data
    cleaned, stats = clean_rows(frame, data.target, drop_duplicates=data.drop_duplicates)
    problem = resolve_problem(config, cleaned[data.target])
    strategy = choose_split_strategy(
        config.split.strategy, problem.task, data.time_column, data.group_column
    )
    if strategy == "stratified" and problem.task == "regression":
        raise FoldwiseError("split.strategy 'stratified' needs a classification target")
    train, test, split = split_table(
        cleaned,
        strategy=strategy,
        test_size=config.split.test_size,
        seed=config.seed,
        target=data.target,
        time_column=data.time_column,
        group_column=data.group_column,
    )
    return _Sides(train, test, problem, stats, split.to_dict())


def _given_test(config: Config, read: _Read) -> _Sides:
    """A separate test table: both cleaned, the test table scored whole (no duplicates dropped)."""
    assert read.test is not None
    data = config.data
    raw_train = read.typed.frame
    train, stats = clean_rows(raw_train, data.target, drop_duplicates=data.drop_duplicates)
    # A test table someone gives you is scored whole: only rows without a label go.
    test, tstats = clean_rows(read.test, data.target, drop_duplicates=False)
    problem = resolve_problem(config, train[data.target])
    reference = None
    if stats.duplicate_rows_removed:
        reference = raw_train[raw_train[data.target].notna()].reset_index(drop=True)
    split_info = {
        "strategy": "provided",
        "test_source": data.test_source,
        "train_rows": len(train),
        "test_rows": len(test),
        "test_rows_read": tstats.rows_read,
        "test_duplicate_rows_kept": tstats.duplicate_rows,
        "test_rows_without_target": tstats.missing_target_rows_dropped,
    }
    test_stats = {**tstats.to_dict(), "cells_to_missing": read.test_cells_to_missing}
    if len(test) == 0:
        raise FoldwiseError(f"{data.test_source}: no rows with a target value")
    try:
        problem.encode(test[data.target])
    except FoldwiseError as exc:
        raise FoldwiseError(f"{data.test_source}: {exc}") from None
    return _Sides(train, test, problem, stats, split_info, test_stats, reference)


def prepare_tables(config: Config, root: Path) -> Prepared:
    """Read, coerce, clean and split; return the tables and the schema describing them."""
    data = config.data
    read = _read_typed(config, root)
    typed, source = read.typed, read.source
    if data.time_column and typed.kinds[data.time_column] not in ("datetime", "numeric"):
        raise FoldwiseError(f"data.time_column {data.time_column!r} is not a date or number column")

    sides = _split_rows(config, typed.frame) if read.test is None else _given_test(config, read)
    train, test, problem, stats = sides.train, sides.test, sides.problem, sides.stats
    features = feature_columns(config, list(train.columns))
    _check_features_have_values(train, features, source)
    check_model_settings(config, problem.task)
    schema: dict[str, Any] = {
        "source": data.source,
        "source_sha256": file_sha256(source),
        "test_source": data.test_source,
        "target": data.target,
        **problem.to_dict(),
        "id_columns": list(data.id_columns),
        "time_column": data.time_column,
        "group_column": data.group_column,
        "drop_columns": list(data.drop_columns),
        "decimal": data.decimal,
        "label_map": dict(data.label_map),
        "columns": {name: typed.kinds[name] for name in train.columns},
        "features": _describe_features(train, typed.kinds, features),
        "split": sides.split_info,
        "cleaning": {
            **stats.to_dict(),
            "test_table": sides.test_stats,
            "coercions": [c.to_dict() for c in typed.coercions],
            "labels_mapped": read.labels_mapped,
        },
        "train_sha256": frame_sha256(train),
    }
    if problem.classes is not None:
        counts = train[data.target].map(str).value_counts()
        schema["class_counts_train"] = {str(c): int(counts.get(str(c), 0)) for c in problem.classes}
        schema["classes"] = [to_python(c) for c in problem.classes]
    return Prepared(train, test, schema, problem, sides.reference)


def label_free_split_checks(prepared: Prepared, config: Config) -> dict[str, Any]:
    """Train-vs-test checks for the audit, computed without the target of either table.

    This is how the audit sees the sealed test table: drift, adversarial validation, rows on
    both sides and temporal overlap, never a test label.
    """
    target = config.data.target
    reference = prepared.train_reference
    return compute_split_checks(
        prepared.train.drop(columns=[target]),
        prepared.test.drop(columns=[target]),
        prepared.schema,
        config.audit,
        config.seed,
        train_reference=None if reference is None else reference.drop(columns=[target]),
    )
