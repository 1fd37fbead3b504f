"""The bundle's input contract as JSON Schema, and what is unusual about rows given to it.

The schema describes one input row (an object of column: value) with what training saw:
each feature's type, the categories seen, the numeric and date range, and whether it had
missing values. Values outside what training saw are still scored (the model copes), so those
facts are annotations (``x-foldwise-*``), not constraints; :func:`unusual_inputs` turns them
into one-line notes per batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from foldwise.errors import quoted
from foldwise.models import feature_frame

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAX_CATEGORIES = 1000
_TYPES = {
    "numeric": ["number", "string", "null"],
    "boolean": ["boolean", "number", "string", "null"],
    "datetime": ["string", "null"],
    "categorical": ["string", "number", "boolean", "null"],
}
_DESCRIPTIONS = {
    "numeric": "a number (numbers written as text, e.g. '1,234.5', are read too)",
    "boolean": "true/false (yes/no, y/n, t/f and 1/0 are read too)",
    "datetime": "a date or date-time, e.g. 2024-01-31 or 2024-01-31T12:00:00Z",
    "categorical": "a category, compared as trimmed text",
}


def _iso(value: pd.Timestamp) -> str:
    return value.isoformat()


def _feature_schema(feature: dict[str, Any], column: pd.Series) -> dict[str, Any]:
    kind = feature["kind"]
    entry: dict[str, Any] = {"type": _TYPES[kind], "description": _DESCRIPTIONS[kind]}
    if kind == "datetime":
        entry["format"] = "date-time"
    missing = int(column.isna().sum())
    entry["x-foldwise-kind"] = kind
    entry["x-foldwise-missing-in-training"] = missing > 0
    present = column.dropna()
    if kind == "numeric" and len(present):
        entry["x-foldwise-range"] = [float(present.min()), float(present.max())]
    elif kind == "datetime" and len(present):
        entry["x-foldwise-range"] = [_iso(present.min()), _iso(present.max())]
    elif kind == "categorical":
        counts = present.value_counts()
        entry["x-foldwise-n-categories"] = len(counts)
        entry["x-foldwise-categories"] = [str(c) for c in counts.index[:MAX_CATEGORIES]]
        entry["x-foldwise-categories-complete"] = len(counts) <= MAX_CATEGORIES
    return entry


def input_schema(train: pd.DataFrame, features: list[dict[str, Any]], title: str) -> dict:
    """JSON Schema of one input row, annotated with what the training rows held."""
    typed = feature_frame(train, features)
    properties = {str(f["name"]): _feature_schema(f, typed[str(f["name"])]) for f in features}
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": title,
        "description": (
            "One row to score. Every listed column is required (null means missing); other "
            "columns are ignored. Values outside x-foldwise-range, categories not in "
            "x-foldwise-categories and missing values where training had none are scored "
            "but reported as unusual."
        ),
        "type": "object",
        "properties": properties,
        "required": [str(f["name"]) for f in features],
        "additionalProperties": True,
        "x-foldwise-training-rows": len(train),
    }


def _unusual_column(name: str, spec: dict[str, Any], column: pd.Series) -> list[str]:
    notes = []
    kind = spec.get("x-foldwise-kind")
    present = column.dropna()
    n_missing = len(column) - len(present)
    if n_missing and not spec.get("x-foldwise-missing-in-training"):
        notes.append(f"{name}: {n_missing} missing value(s); training had none")
    if kind == "categorical" and spec.get("x-foldwise-categories-complete"):
        seen = set(spec.get("x-foldwise-categories", []))
        unseen = present[~present.astype(str).isin(seen)]
        if len(unseen):
            notes.append(
                f"{name}: {len(unseen)} value(s) of categories unseen in training "
                f"(e.g. {str(unseen.iloc[0])!r}); scored as an unknown category"
            )
    elif kind in ("numeric", "datetime") and "x-foldwise-range" in spec and len(present):
        low, high = spec["x-foldwise-range"]
        if kind == "datetime":
            low, high = pd.Timestamp(low), pd.Timestamp(high)
        outside = present[(present < low) | (present > high)]
        if len(outside):
            notes.append(
                f"{name}: {len(outside)} value(s) outside the training range [{low}, {high}] "
                f"(e.g. {outside.iloc[0]})"
            )
    return notes


def unusual_inputs(
    schema: dict[str, Any], rows: pd.DataFrame, features: list[dict[str, Any]]
) -> list[str]:
    """One line per unusual thing in rows the model accepts; [] when nothing is unusual.

    Raises :class:`~foldwise.errors.FoldwiseError` (naming the column) for rows the model
    refuses, exactly as scoring would.
    """
    notes = []
    extra = [c for c in rows.columns if c not in schema["properties"]]
    if extra:
        notes.append(f"{len(extra)} extra column(s) ignored: {quoted(extra, limit=5)}")
    typed = feature_frame(rows, features)
    for name, spec in schema["properties"].items():
        notes.extend(_unusual_column(name, spec, typed[name]))
    all_missing = typed.isna().all(axis=1) if len(typed) else pd.Series(dtype=bool)
    if all_missing.any():
        notes.append(f"{int(all_missing.sum())} row(s) with every feature missing")
    return notes


def far_value(spec: dict[str, Any]) -> Any:
    """A value far outside a numeric or date feature's training range."""
    low, high = spec["x-foldwise-range"]
    if spec["x-foldwise-kind"] == "datetime":
        return (pd.Timestamp(high) + pd.Timedelta(days=365 * 50)).isoformat()
    span = max(abs(high - low), abs(high), 1.0)
    return float(np.float64(high) + 1000.0 * span)
