"""Look at a new table and decide its task, positive class, ids, dates and segment columns.

Every decision carries its reason, so ``foldwise init`` can print it; where no rule clearly
applies (which class of ``<=50K``/``>50K`` is positive?) it stops and asks instead of guessing.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foldwise.data import check_same_columns, coerce_column, coerce_target, read_table
from foldwise.errors import FoldwiseError, quoted
from foldwise.label_map import apply_label_map, suggest_label_map
from foldwise.metrics import DEFAULT_METRIC, METRICS, Task
from foldwise.numbers import Decimal, guess_decimal
from foldwise.problem import MAX_INTEGER_CLASSES, infer_task, label_key, to_python

# "customer_id", "CustomerID", "row-id", "id", "uuid", "guid", "id_number", "ID"
_ID_NAME = re.compile(r"(^|[_\s.-])(id|uuid|guid)($|[_\s.-])", re.IGNORECASE)
_ID_NAME_CAMEL = re.compile(r"[a-z0-9](ID|Id)$|^(ID|Id)[A-Z_]")
# Dates that are not ISO: 31/01/2024, 01-31-2024, 2024.01.31, "Jan 31, 2024", "31 Jan 2024"
_DATE_SHAPES = (
    re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?$"),
    re.compile(r"^[A-Za-z]{3,9}\.? \d{1,2},? \d{4}$"),
    re.compile(r"^\d{1,2} [A-Za-z]{3,9}\.? \d{4}$"),
)
# The positive class of a binary target, when its two labels are one of these pairs.
POSITIVE_RULES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"0", "1"}), "1"),
    (frozenset({"-1", "1"}), "1"),
    (frozenset({"false", "true"}), "true"),
    (frozenset({"no", "yes"}), "yes"),
    (frozenset({"n", "y"}), "y"),
    (frozenset({"f", "t"}), "t"),
    (frozenset({"negative", "positive"}), "positive"),
    (frozenset({"neg", "pos"}), "pos"),
)
MAX_SEGMENTS = 3
MAX_SEGMENT_LEVELS = 10
_SEGMENT_MAX_TOP_SHARE = 0.95


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
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    test_rows: int | None = None
    notes: list[str] = field(default_factory=list)
    label_map: dict[str, str] = field(default_factory=dict)


def looks_like_id_name(name: str) -> bool:
    """Named like an identifier: ``id``, ``customer_id``, ``CustomerID``, ``row-id``, ``uuid``."""
    return bool(_ID_NAME.search(name) or _ID_NAME_CAMEL.search(name))


def _id_reason(name: str, raw: pd.Series, kind: str) -> str | None:
    """Why ``name`` is an id column, or None if it is not one."""
    n = len(raw)
    present = raw.dropna()
    distinct = int(present.nunique())
    unique_per_row = len(present) == n and distinct == n
    if looks_like_id_name(name) and distinct >= min(50, max(2, n // 2)):
        return f"named like an id, {distinct} distinct values in {n} rows"
    if not unique_per_row or n < 20 or kind in ("datetime", "boolean"):
        return None
    if kind == "categorical":
        return "unique per row (text)"
    values = pd.to_numeric(present, errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).any() or not (values % 1 == 0).all():
        return None
    if values.max() - values.min() + 1 == n:
        return f"unique per row, consecutive whole numbers {values.min():.0f}..{values.max():.0f}"
    return None


def _looks_like_dates(values: pd.Series) -> bool:
    """Text values that all have a date shape and all parse as dates."""
    text = values.dropna().astype("str").str.strip()
    text = text[text != ""]
    if text.empty:
        return False
    sample = pd.Series(text.unique()[:5000])
    if not any(sample.str.match(shape).all() for shape in _DATE_SHAPES):
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().all())


def _task_reason(y: pd.Series, target: str, task: Task) -> str:
    n_unique = int(y.nunique())
    labels = _labels(y)
    shown = ", ".join(repr(v) for v in labels[:5]) + (", ..." if len(labels) > 5 else "")
    if task == "binary":
        return f"target {target!r} has 2 distinct values ({shown})"
    if task == "multiclass" and pd.api.types.is_numeric_dtype(y):
        return (
            f"target {target!r} holds {n_unique} distinct whole numbers ({shown}); up to "
            f"{MAX_INTEGER_CLASSES} are read as classes (pass --task regression for a quantity)"
        )
    if task == "multiclass":
        return f"target {target!r} holds {n_unique} distinct labels ({shown})"
    return f"target {target!r} is numeric with {n_unique} distinct values"


def _labels(y: pd.Series) -> list[Any]:
    labels = [to_python(v) for v in y.dropna().unique()]
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=str)


def choose_positive(y: pd.Series, target: str, given: str | None) -> tuple[Any, str]:
    """The positive class of a binary target and why; raises when no rule clearly applies."""
    labels = _labels(y)
    if given is not None:
        matches = [lab for lab in labels if label_key(lab) == label_key(given)]
        if not matches:
            raise FoldwiseError(
                f"--positive {given!r} is not a value of target {target!r}; its values are {labels}"
            )
        return matches[0], "given with --positive"
    keys = {label_key(lab).lower(): lab for lab in labels}
    for pair, positive in POSITIVE_RULES:
        if frozenset(keys) == pair:
            return keys[positive], f"rule: of {quoted(sorted(pair))}, {positive!r} is positive"
    options = " or ".join(repr(str(lab)) for lab in labels)
    raise FoldwiseError(
        f"target {target!r} has the labels {labels}; no rule says which is the positive class "
        f"(the rules cover 0/1, yes/no, true/false, y/n, t/f, positive/negative): pass "
        f"--positive {options}"
    )


def _check_column(frame: pd.DataFrame, name: str, option: str, path: Path) -> None:
    if name not in frame.columns:
        hint = difflib.get_close_matches(name, list(frame.columns), n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else ""
        shown = ", ".join(map(str, frame.columns[:15])) + (" ..." if frame.shape[1] > 15 else "")
        raise FoldwiseError(f"{option} {name!r} is not a column of {path}{tip} (columns: {shown})")


def _segments(frame: pd.DataFrame, kinds: dict[str, str], exclude: set[str]) -> list[str]:
    """A few low-cardinality categorical or yes/no columns, in table order."""
    out: list[str] = []
    for name in frame.columns:
        if name in exclude or kinds.get(name) not in ("categorical", "boolean"):
            continue
        counts = frame[name].value_counts(dropna=True)
        if not 2 <= len(counts) <= MAX_SEGMENT_LEVELS or counts.sum() < len(frame) / 2:
            continue
        if counts.iloc[0] / counts.sum() > _SEGMENT_MAX_TOP_SHARE:
            continue
        out.append(str(name))
        if len(out) == MAX_SEGMENTS:
            break
    return out


def choose_decimal(frame: pd.DataFrame, separator: str) -> tuple[Decimal, str | None]:
    """``","`` when text columns read as numbers only with a decimal comma, and why."""
    votes: dict[Decimal, list[str]] = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        text = values.dropna().astype("str").str.strip()
        text = text[text != ""]
        if len(text) and (mark := guess_decimal(text)) is not None:
            votes.setdefault(mark, []).append(str(name))
    commas = votes.get(",", [])
    if not commas or "." in votes or separator == ",":
        return ".", None
    shown = ", ".join(repr(c) for c in commas[:5]) + (" ..." if len(commas) > 5 else "")
    return ",", f"column(s) {shown} read as numbers only with a decimal comma"


def _check_test_labels(train_y: pd.Series, test_y: pd.Series, task: Task, names: tuple) -> None:
    """The test table's target must use the training table's labels (or be numeric)."""
    target, test_name, source_name = names
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(test_y):
            raise FoldwiseError(f"{test_name}: target {target!r} is not numeric in the test table")
        return
    known = {label_key(v) for v in train_y.dropna().unique()}
    unknown = sorted({str(v) for v in test_y.dropna().unique() if label_key(v) not in known})
    if unknown:
        raise FoldwiseError(
            f"{test_name}: target {target!r} has label(s) {quoted(unknown, 5)} that {source_name} does "
            f"not have (its labels: {_labels(train_y)}); make the two tables use the same labels"
        )


def plan_table(
    source: Path,
    target: str,
    *,
    source_name: str,
    test_source: Path | None = None,
    test_name: str | None = None,
    time_column: str | None = None,
    group_column: str | None = None,
    positive: str | None = None,
    task: Task | None = None,
    separator: str = ",",
) -> TablePlan:
    """Read the table (and the test table) and decide every table-specific setting."""
    frame = read_table(source, separator=separator)
    _check_roles(frame, source, target, time_column, group_column)
    decimal, decimal_reason = choose_decimal(frame, separator)
    roles = {target, *(c for c in (time_column, group_column) if c)}
    kinds, ids, notes = _kinds_and_ids(frame, roles, decimal, group_column)
    dates = _date_columns(frame, kinds, ids)
    if time_column:
        _check_time_column(frame, time_column, decimal)
    elif dates:
        first = next(iter(dates))
        notes.append(
            f"date column(s) {', '.join(dates)}: if new rows come later in time and you will "
            f"predict the future, rerun with --time-column {first} for a temporal split"
        )
    y = coerce_target(frame[target], decimal=decimal).dropna()
    chosen, reason, positive_label, positive_reason = _choose_task(
        y, target, source_name, task, positive
    )
    test_rows: int | None = None
    label_map: dict[str, str] = {}
    if test_source is not None:
        test_rows, label_map = _check_test_table(
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
        segments=_segments(frame, kinds, exclude),
        csv_separator=separator,
        decimal=decimal,
        decimal_reason=decimal_reason,
        rows=len(frame),
        columns=[str(c) for c in frame.columns],
        test_rows=test_rows,
        notes=notes,
        label_map=label_map,
    )


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


def _kinds_and_ids(
    frame: pd.DataFrame, roles: set[str], decimal: Decimal, group_column: str | None
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(kind of each non-role column, id columns with the reason, notes on repeating ids)."""
    n = len(frame)
    notes: list[str] = []
    ids: dict[str, str] = {}
    kinds: dict[str, str] = {}
    kind: str
    for name in frame.columns:
        if name in roles:
            continue
        _, kind, _ = coerce_column(frame[name], decimal=decimal)
        kinds[name] = kind
        reason = _id_reason(name, frame[name], kind)
        if reason:
            ids[name] = reason
            repeats = n / max(int(frame[name].nunique()), 1)
            if repeats >= 1.5 and not group_column:
                notes.append(
                    f"id column {name!r} repeats ({repeats:.1f} rows per value): if rows sharing "
                    f"it are related, rerun with --group-column {name} so they stay on one side "
                    "of every split"
                )
    return kinds, ids, notes


def _date_columns(
    frame: pd.DataFrame, kinds: dict[str, str], ids: dict[str, str]
) -> dict[str, str]:
    """Date columns with how they were recognised; non-ISO dates become ``datetime`` in kinds."""
    dates: dict[str, str] = {}
    for name, kind in kinds.items():
        if name in ids:
            continue
        if kind == "datetime":
            dates[name] = "ISO dates"
        elif kind == "categorical" and _looks_like_dates(frame[name]):
            dates[name] = "dates (not ISO; parsed as data.date_columns)"
            kinds[name] = "datetime"
    return dates


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


def _choose_task(
    y: pd.Series, target: str, source_name: str, task: Task | None, positive: str | None
) -> tuple[Task, str, Any, str | None]:
    """(task, why, positive label, why) from the labelled target values."""
    if y.nunique() < 2:
        raise FoldwiseError(
            f"target {target!r} has fewer than two distinct values in {source_name}; a model "
            "needs at least two classes or distinct values"
        )
    chosen: Task = task or infer_task(y)
    reason = _task_reason(y, target, chosen) if task is None else "given with --task"
    positive_label, positive_reason = None, None
    if chosen == "binary":
        positive_label, positive_reason = choose_positive(y, target, positive)
    elif positive is not None:
        raise FoldwiseError(f"--positive is for binary targets; target {target!r} is {chosen}")
    return chosen, reason, positive_label, positive_reason


def _check_test_table(
    frame: pd.DataFrame,
    y: pd.Series,
    test_source: Path,
    names: tuple,
    task: Task,
    decimal: Decimal,
    separator: str,
) -> tuple[int, dict[str, str]]:
    """(test rows, label map) of a separate test table with the same columns and labels."""
    target = names[0]
    test = read_table(test_source, separator=separator)
    check_same_columns(frame, test, test_source)
    test_y = coerce_target(test[target], decimal=decimal)
    label_map: dict[str, str] = {}
    if task != "regression":
        label_map = suggest_label_map(_labels(y), _labels(test_y))
        test_y, _ = apply_label_map(test_y, label_map)
    _check_test_labels(y, test_y, task, names)
    return len(test), label_map


def metric_direction(metric: str) -> str:
    """``higher`` or ``lower``: which way the metric is better."""
    return METRICS[metric].direction
