"""What every evaluation report shares: plain JSON values and notes for undefined metrics."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# Why a metric can be undefined on a set of rows (its score is NaN).
UNDEFINED: dict[str, str] = {
    "roc_auc": "y_true holds a single class",
    "average_precision": "y_true has no positive rows",
    "f1": "no positive rows and no positive predictions",
    "r2": "target is constant",
    "mape": "target has zeros",
}


def jsonable(value: Any) -> Any:
    """Plain Python values for JSON: numpy scalars unwrapped, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def defined_or_note(name: str, value: float, notes: list[str]) -> float | None:
    """``value``, or None plus a note when the metric is undefined on these rows."""
    if math.isfinite(value):
        return float(value)
    notes.append(f"{name} undefined: {UNDEFINED.get(name, 'not computable on these rows')}")
    return None


def ratio(num: float, den: float) -> float | None:
    return float(num / den) if den else None
