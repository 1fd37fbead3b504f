"""What the target of a new table asks for: the task, the positive class, the test labels.

Where no rule clearly applies (which class of ``<=50K``/``>50K`` is positive?) it stops and
asks instead of guessing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from foldwise.data import check_same_columns, coerce_target, read_table
from foldwise.errors import FoldwiseError, quoted
from foldwise.label_map import apply_label_map, suggest_label_map
from foldwise.metrics import Task
from foldwise.numbers import Decimal
from foldwise.problem import MAX_INTEGER_CLASSES, infer_task, label_key, to_python

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


def sorted_labels(y: pd.Series) -> list[Any]:
    """The distinct labels of ``y`` as Python values, sorted (as text where types mix)."""
    labels = [to_python(v) for v in y.dropna().unique()]
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=str)


def task_reason(y: pd.Series, target: str, task: Task) -> str:
    n_unique = int(y.nunique())
    labels = sorted_labels(y)
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


def choose_positive(y: pd.Series, target: str, given: str | None) -> tuple[Any, str]:
    """The positive class of a binary target and why; raises when no rule clearly applies."""
    labels = sorted_labels(y)
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


def choose_task(
    y: pd.Series, target: str, source_name: str, task: Task | None, positive: str | None
) -> tuple[Task, str, Any, str | None]:
    """(task, why, positive label, why) from the labelled target values."""
    if y.nunique() < 2:
        raise FoldwiseError(
            f"target {target!r} has fewer than two distinct values in {source_name}; a model "
            "needs at least two classes or distinct values"
        )
    chosen: Task = task or infer_task(y)
    reason = task_reason(y, target, chosen) if task is None else "given with --task"
    positive_label, positive_reason = None, None
    if chosen == "binary":
        positive_label, positive_reason = choose_positive(y, target, positive)
    elif positive is not None:
        raise FoldwiseError(f"--positive is for binary targets; target {target!r} is {chosen}")
    return chosen, reason, positive_label, positive_reason


def check_test_labels(train_y: pd.Series, test_y: pd.Series, task: Task, names: tuple) -> None:
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
            f"not have (its labels: {sorted_labels(train_y)}); make the two tables use the same labels"
        )


def check_test_table(
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
        label_map = suggest_label_map(sorted_labels(y), sorted_labels(test_y))
        test_y, _ = apply_label_map(test_y, label_map)
    check_test_labels(y, test_y, task, names)
    return len(test), label_map
