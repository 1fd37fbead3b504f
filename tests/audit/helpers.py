"""Helpers for the audit tests: schemas like prepare writes, noise tables, planted leaks."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from foldwise.audit import compute_split_checks
from foldwise.config import AuditConfig

ROOT = Path(__file__).resolve().parents[2]
CFG = AuditConfig()


def schema_for(frame, target, task, *, ids=(), drop=(), time=None, strategy="random"):
    """A schema like prepare writes: features are every column but target, ids and drops."""

    def kind(s):
        if isinstance(s.dtype, pd.BooleanDtype):
            return "boolean"
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            return "datetime"
        if pd.api.types.is_numeric_dtype(s.dtype):
            return "numeric"
        return "categorical"

    skip = {target, *ids, *drop}
    return {
        "target": target,
        "task": task,
        "positive_label": None,
        "classes": None,
        "id_columns": list(ids),
        "time_column": time,
        "group_column": None,
        "drop_columns": list(drop),
        "columns": {c: kind(frame[c]) for c in frame.columns if c != target},
        "features": [{"name": c, "kind": kind(frame[c])} for c in frame.columns if c not in skip],
        "split": {"strategy": strategy, "train_rows": 0, "test_rows": 0},
        "cleaning": {
            "rows_read": len(frame),
            "duplicate_rows_removed": 3,
            "missing_target_rows_dropped": 1,
            "coercions": [
                {"column": "x1", "to": "numeric", "blank_to_missing": 11, "unparseable": 0}
            ],
        },
    }


def noise_frame(n, seed=0, n_numeric=6):
    """Features unrelated to anything: numbers, a category, a nullable boolean."""
    rng = np.random.default_rng([seed, 7])  # a stream apart from the tests' target draws
    data = {f"x{i}": rng.normal(size=n) for i in range(n_numeric)}
    data["colour"] = pd.array(rng.choice(["red", "green", "blue"], n), dtype="string")
    data["member"] = pd.array(rng.random(n) < 0.4, dtype="boolean")
    return pd.DataFrame(data)


def split(frame, test_share=0.25, seed=1):
    """Rows shuffled at random into train and test."""
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(len(frame) * (1 - test_share))
    return (
        frame.iloc[order[:cut]].reset_index(drop=True),
        frame.iloc[order[cut:]].reset_index(drop=True),
    )


def checks_for(train, test, schema, config=CFG):
    target = schema["target"]
    return compute_split_checks(
        train.drop(columns=[target]), test.drop(columns=[target]), schema, config, 0
    )


def kinds_of(audit, *, excluded=False):
    return {(f["kind"], f["column"]) for f in audit["findings"] if f["excluded"] is excluded}


def leak_columns(audit):
    return [f["column"] for f in audit["findings"] if f["kind"] == "leakage"]


def assert_strict_json(obj):
    json.loads(json.dumps(obj, allow_nan=False))


def planted(task, n=900, seed=0):
    """Noise features plus one column ``leak`` that nearly determines the target."""
    rng = np.random.default_rng(seed)
    frame = noise_frame(n, seed)
    if task == "binary":
        y = rng.random(n) < 0.35
        frame["label"] = np.where(y, "Yes", "No")
        frame["leak"] = y + rng.normal(0, 0.15, n)
    elif task == "multiclass":
        y = rng.choice(["low", "mid", "high"], n)
        flip = rng.random(n) < 0.03
        frame["label"] = y
        frame["leak"] = pd.array(
            np.where(flip, "unknown", np.char.add("code_", y.astype(str))), dtype="string"
        )
    else:
        y = rng.normal(10, 3, n)
        frame["label"] = y
        frame["leak"] = y + rng.normal(0, 0.5, n)
    return frame
