"""Look at a new table and decide its task, positive class, ids, dates and segment columns.

Every decision carries its reason, so ``foldwise init`` can print it; where no rule clearly
applies (which class of ``<=50K``/``>50K`` is positive?) it stops and asks instead of guessing.
:func:`plan_table` checks the options and combines :mod:`foldwise.init.columns` (ids, dates,
segments, decimal mark) and :mod:`foldwise.init.target` (task, positive class, test labels).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from foldwise.data import coerce_column, coerce_target, read_table
from foldwise.errors import FoldwiseError
from foldwise.init.columns import (
    choose_decimal,
    date_columns,
    kinds_and_ids,
    segment_columns,
)
from foldwise.init.target import check_test_table, choose_task
from foldwise.metrics import DEFAULT_METRIC, METRICS, Task
from foldwise.numbers import Decimal


@dataclass(frozen=True)
class TablePlan:
    """What ``foldwise init`` decided for a table, each choice with its reason."""

    source: str
    target: str
    task: Task
    task_reason: str
    metric: str
    positive_label: Any = None
    positive_reason: str | None = None
    test_source: str | None = None
    time_column: str | None = None
    group_column: str | None = None
    id_columns: dict[str, str] = field(default_factory=dict)
    date_columns: dict[str, str] = field(default_factory=dict)
    segments: list[str] = field(default_factory=list)
    csv_separator: str = ","
    decimal: Decimal = "."
    decimal_reason: str | None = None
    thousands: Decimal | None = None
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    test_rows: int | None = None
    notes: list[str] = field(default_factory=list)
    label_map: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadingOptions:
    """How the text of a CSV table is read: ``data.csv_separator`` and ``data.thousands``.

    ``thousands`` is ``foldwise init --thousands`` (None: only where a column's values prove
    one). The decimal mark is no option: :func:`plan_table` decides it from the values.
    """

    separator: str = ","
    thousands: Decimal | None = None


@dataclass(frozen=True)
class SplitColumns:
    """``foldwise init --time-column`` or ``--group-column``: how rows are split (at most one).

    Neither: a random (stratified) split. A time column gives a temporal split (test = the
    latest rows), a group column keeps the rows of a group on one side.
    """

    time_column: str | None = None
    group_column: str | None = None


def plan_table(
    source: Path,
    target: str,
    *,
    source_name: str,
    test_source: Path | None = None,
    test_name: str | None = None,
    split: SplitColumns = SplitColumns(),
    positive: str | None = None,
    task: Task | None = None,
    reading: ReadingOptions = ReadingOptions(),
) -> TablePlan:
    """Read the table (and the test table) and decide every table-specific setting."""
    time_column, group_column = split.time_column, split.group_column
    separator = reading.separator
    frame = read_table(source, separator=separator)
    _check_roles(frame, source, target, time_column, group_column)
    decimal, decimal_reason = choose_decimal(frame, separator)
    roles = {target, *(c for c in (time_column, group_column) if c)}
    kinds, ids, notes = kinds_and_ids(
        frame, roles, decimal, group_column, reading.thousands is not None
    )
    dates = date_columns(frame, kinds, ids)
    if time_column:
        _check_time_column(frame, time_column, decimal)
    elif dates:
        first = next(iter(dates))
        notes.append(
            f"date column(s) {', '.join(dates)}: if new rows come later in time and you will "
            f"predict the future, rerun with --time-column {first} for a temporal split"
        )
    y = coerce_target(frame[target], decimal=decimal).dropna()
    chosen, reason, positive_label, positive_reason = choose_task(
        y, target, source_name, task, positive
    )
    test_rows: int | None = None
    label_map: dict[str, str] = {}
    if test_source is not None:
        test_rows, label_map = check_test_table(
            frame, y, test_source, (target, test_name, source_name), chosen, decimal, separator
        )
    exclude = roles | set(ids) | set(dates)
    return TablePlan(
        source=source_name,
        target=target,
        task=chosen,
        task_reason=reason,
        metric=DEFAULT_METRIC[chosen],
        positive_label=positive_label,
        positive_reason=positive_reason,
        test_source=test_name,
        time_column=time_column,
        group_column=group_column,
        id_columns=ids,
        date_columns={c: r for c, r in dates.items() if c != time_column},
        segments=segment_columns(frame, kinds, exclude),
        csv_separator=separator,
        decimal=decimal,
        decimal_reason=decimal_reason,
        thousands=reading.thousands,
        rows=len(frame),
        columns=[str(c) for c in frame.columns],
        test_rows=test_rows,
        notes=notes,
        label_map=label_map,
    )


def _check_column(frame: pd.DataFrame, name: str, option: str, path: Path) -> None:
    if name not in frame.columns:
        hint = difflib.get_close_matches(name, list(frame.columns), n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else ""
        shown = ", ".join(map(str, frame.columns[:15])) + (" ..." if frame.shape[1] > 15 else "")
        raise FoldwiseError(f"{option} {name!r} is not a column of {path}{tip} (columns: {shown})")


def _check_roles(
    frame: pd.DataFrame,
    source: Path,
    target: str,
    time_column: str | None,
    group_column: str | None,
) -> None:
    """The target, time and group columns exist, differ, and do not ask for two splits."""
    _check_column(frame, target, "--target", source)
    for option, name in (("--time-column", time_column), ("--group-column", group_column)):
        if name is not None:
            _check_column(frame, name, option, source)
            if name == target:
                raise FoldwiseError(f"{option} {name!r} is the target column")
    if time_column and group_column:
        raise FoldwiseError(
            "pass --time-column or --group-column, not both: a split is either temporal or by "
            "group (set split.strategy in params.yaml afterwards to combine them)"
        )


def _check_time_column(frame: pd.DataFrame, time_column: str, decimal: Decimal) -> None:
    """``--time-column`` must hold dates or numbers."""
    _, kind, _ = coerce_column(frame[time_column], decimal=decimal)
    if kind not in ("datetime", "numeric"):
        try:
            coerce_column(frame[time_column], declared_date=True, decimal=decimal)
        except FoldwiseError as exc:
            raise FoldwiseError(
                f"--time-column {time_column!r} is not a date or number column ({exc})"
            ) from None


def metric_direction(metric: str) -> str:
    """``higher`` or ``lower``: which way the metric is better."""
    return METRICS[metric].direction
