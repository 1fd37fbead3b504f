"""Step 1: decide the task, the classes, the positive label and the metric from params and data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from foldwise.config import Config
from foldwise.errors import FoldwiseError, quoted
from foldwise.metrics import DEFAULT_METRIC, METRICS, Task

# Up to this many distinct integer values, a numeric target is read as classes.
MAX_INTEGER_CLASSES = 10
MAX_TEXT_CLASSES = 100
POSITIVE_WORDS = ("yes", "true", "1", "y", "positive", "pos")


@dataclass(frozen=True)
class Problem:
    """What is being predicted and how it is scored; ``classes[i]`` is encoded as ``i``."""

    task: Task
    target: str
    classes: tuple[Any, ...] | None
    positive_label: Any
    metric: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def greater_is_better(self) -> bool:
        return METRICS[self.metric].greater_is_better

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "target": self.target,
            "classes": None if self.classes is None else list(self.classes),
            "positive_label": self.positive_label,
            "metric": {"name": self.metric, "greater_is_better": self.greater_is_better},
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Problem:
        classes = payload.get("classes")
        return cls(
            task=payload["task"],
            target=payload["target"],
            classes=None if classes is None else tuple(classes),
            positive_label=payload.get("positive_label"),
            metric=payload["metric"]["name"],
            notes=tuple(payload.get("notes", ())),
        )

    def encode(self, y: pd.Series) -> np.ndarray:
        """Labels to integer codes (classification) or floats (regression)."""
        if self.classes is None:
            return y.to_numpy(dtype="float64")
        lookup = {label_key(c): i for i, c in enumerate(self.classes)}
        codes = y.map(lambda v: lookup.get(label_key(v), -1)).to_numpy(dtype="int64")
        if (codes < 0).any():
            unknown = sorted({str(v) for v, c in zip(y, codes, strict=True) if c < 0})
            raise FoldwiseError(
                f"target {self.target!r}: label(s) {quoted(unknown, limit=5)} were not seen in "
                f"training; known classes: {quoted(self.classes)}"
            )
        return codes

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Integer codes back to the original labels."""
        if self.classes is None:
            return codes
        return np.asarray(self.classes, dtype=object)[np.asarray(codes, dtype=int)]


def label_key(value: Any) -> str:
    """A label's identity across YAML, CSV and Parquet (1, 1.0, '1' and True are one label)."""
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def to_python(value: Any) -> Any:
    """A numpy/pandas scalar as a plain Python value, for JSON."""
    return value.item() if hasattr(value, "item") else value


def infer_task(y: pd.Series) -> Task:
    n_unique = y.nunique()
    if n_unique == 2:
        return "binary"
    if pd.api.types.is_bool_dtype(y):
        return "binary"
    if pd.api.types.is_numeric_dtype(y):
        integral = bool((y % 1 == 0).all())
        return "multiclass" if integral and n_unique <= MAX_INTEGER_CLASSES else "regression"
    return "multiclass"


def _sorted_labels(y: pd.Series) -> list[Any]:
    labels = [to_python(v) for v in y.unique()]
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=str)


def _choose_positive(labels: list[Any], y: pd.Series, target: str) -> tuple[Any, str | None]:
    for word in POSITIVE_WORDS:
        for label in labels:
            if label_key(label).lower() == word:
                return label, None
    counts = y.map(label_key).value_counts()
    minority = min(labels, key=lambda lab: (counts.get(label_key(lab), 0), str(lab)))
    return minority, (
        f"problem.positive_label not set: chose the minority class {minority!r} of target "
        f"{target!r} as positive"
    )


def _check_task_fits(task: Task, y: pd.Series, target: str, n_unique: int) -> None:
    """The target's values fit the task (numbers for regression, 2 classes for binary...)."""
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if task == "regression" and not numeric:
        raise FoldwiseError(
            f"problem.task is regression but target {target!r} is not numeric "
            f"(e.g. {to_python(y.iloc[0])!r})"
        )
    if task == "binary" and n_unique != 2:
        raise FoldwiseError(
            f"problem.task is binary but target {target!r} has {n_unique} distinct values; "
            "expected exactly 2"
        )
    if task == "multiclass" and n_unique == 2:
        raise FoldwiseError(
            f"problem.task is multiclass but target {target!r} has 2 classes; use binary"
        )
    if task == "multiclass" and n_unique > MAX_TEXT_CLASSES:
        raise FoldwiseError(
            f"target {target!r} has {n_unique} distinct values, too many for classification "
            f"(at most {MAX_TEXT_CLASSES}); set problem.task: regression if it is a quantity"
        )


def _positive_label(
    wanted: Any, labels: list[Any], y: pd.Series, target: str
) -> tuple[Any, str | None]:
    """The positive class: ``problem.positive_label`` if set (matched loosely), else chosen."""
    if wanted is None:
        return _choose_positive(labels, y, target)
    matches = [lab for lab in labels if label_key(lab) == label_key(wanted)]
    if not matches:
        raise FoldwiseError(
            f"problem.positive_label {wanted!r} is not a value of target "
            f"{target!r}; its values are {labels}"
        )
    return matches[0], None


def resolve_problem(config: Config, y: pd.Series) -> Problem:
    """Check the target against ``problem.*`` and settle task, classes, positive label, metric."""
    target = config.data.target
    y = y.dropna()
    if len(y) == 0:
        raise FoldwiseError(f"target {target!r} has no values; every row's target is missing")
    n_unique = int(y.nunique())
    if n_unique < 2:
        raise FoldwiseError(
            f"target {target!r} has a single value ({to_python(y.iloc[0])!r}) in {len(y)} rows; "
            "a model needs at least two classes or distinct values"
        )
    notes: list[str] = []
    task: Task
    if config.problem.task == "auto":
        task = infer_task(y)
        notes.append(
            f"problem.task auto: target {target!r} has {n_unique} distinct values, inferred {task}"
        )
    else:
        task = config.problem.task
    _check_task_fits(task, y, target, n_unique)
    classes: tuple[Any, ...] | None = None
    positive: Any = None
    if task != "regression":
        labels = _sorted_labels(y)
        if task == "binary":
            positive, note = _positive_label(config.problem.positive_label, labels, y, target)
            if note:
                notes.append(note)
            labels = [lab for lab in labels if lab != positive] + [positive]
        classes = tuple(labels)

    metric = config.problem.metric
    if metric == "auto":
        metric = DEFAULT_METRIC[task]
        notes.append(f"problem.metric auto: {metric} ({METRICS[metric].direction} is better)")
    elif task not in METRICS[metric].tasks:
        raise FoldwiseError(
            f"problem.metric {metric!r} does not fit the {task} task; it is for "
            f"{', '.join(METRICS[metric].tasks)}"
        )
    return Problem(task, target, classes, to_python(positive), metric, tuple(notes))
