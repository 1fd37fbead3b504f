"""Does a small change of input flip the answer? Perturb one feature at a time, then all.

Numbers (and dates) move by ``perturbation`` times the column's spread (its interquartile
range, or its standard deviation when that is zero), up or down at random per row. A category
is swapped for its neighbour in the order of the model's mean score per category (the category
the model treats most alike), up or down at random. Booleans are left alone: flipping one is
not a small change. Missing values stay missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

Scorer = Callable[[pd.DataFrame], np.ndarray]


def spread(values: pd.Series) -> float:
    """Interquartile range, or the standard deviation if that is 0 (NaN ignored)."""
    numbers = values.dropna().to_numpy(dtype="float64")
    if len(numbers) == 0:
        return 0.0
    q25, q75 = np.percentile(numbers, [25, 75])
    return float(q75 - q25) if q75 > q25 else float(numbers.std())


def category_order(values: pd.Series, main_score: np.ndarray) -> list[str]:
    """Categories sorted by the model's mean score among their rows."""
    text = values.astype(object).where(values.notna())
    means = pd.Series(main_score, index=values.index).groupby(text).mean()
    return [str(v) for v in means.sort_values(kind="stable").index]


def perturb(
    X: pd.DataFrame,
    name: str,
    kind: str,
    *,
    amount: float,
    order: list[str] | None,
    rng: np.random.Generator,
) -> pd.DataFrame | None:
    """A copy of ``X`` with column ``name`` nudged; None when the column cannot be nudged."""
    values = X[name]
    direction = rng.choice([-1.0, 1.0], size=len(X))
    out = X.copy()
    if kind == "numeric":
        step = amount * spread(values)
        if step == 0:
            return None
        out[name] = values.astype("float64") + direction * step
    elif kind == "datetime":
        days = (values - values.min()) / pd.Timedelta(days=1)
        step = amount * spread(days)
        if step == 0:
            return None
        out[name] = values + pd.to_timedelta(direction * step, unit="D")
    elif kind == "categorical" and order and len(order) > 1:
        position = {v: i for i, v in enumerate(order)}
        index = values.astype(object).map(position)
        known = index.notna().to_numpy()
        moved = np.clip(
            index.fillna(0).to_numpy("int64") + direction.astype("int64"), 0, len(order) - 1
        )
        swapped = np.asarray(order, dtype=object)[moved]
        out[name] = pd.Series(
            np.where(known, swapped, values.astype(object).to_numpy()), index=X.index
        ).astype(values.dtype)
    else:
        return None
    return out


def _changes(
    task: str, before: np.ndarray, after: np.ndarray, threshold: float, tolerance: float
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(flipped, moved, size of change) per row."""
    if task == "regression":
        change = np.abs(after - before)
        return None, change > tolerance, change
    if task == "binary":
        flipped = (before[:, 1] >= threshold) != (after[:, 1] >= threshold)
    else:
        flipped = before.argmax(axis=1) != after.argmax(axis=1)
    change = np.abs(after - before).max(axis=1)
    return flipped, change > tolerance, change


def robustness(
    predict: Scorer,
    X: pd.DataFrame,
    kinds: dict[str, str],
    *,
    task: str,
    threshold: float,
    amount: float,
    tolerance: float,
    seed: int,
) -> dict:
    """Share of rows whose prediction flips (or moves more than ``tolerance``), per feature and jointly.

    The joint figures nudge every number and date at once (a small change of input); category
    swaps are reported per feature only, since a swap is a discrete change.
    ``tolerance`` is in probability for classification and in target units for regression.
    """
    rng = np.random.default_rng(seed)
    before = predict(X)
    main = before if task == "regression" else before[:, -1]
    per_feature: list[dict[str, Any]] = []
    joint = X.copy()
    for name, kind in kinds.items():
        order = category_order(X[name], main) if kind == "categorical" else None
        nudged = perturb(X, name, kind, amount=amount, order=order, rng=rng)
        if nudged is None:
            continue
        if kind != "categorical":
            joint[name] = nudged[name]
        flipped, moved, change = _changes(task, before, predict(nudged), threshold, tolerance)
        per_feature.append(
            {
                "feature": name,
                "kind": kind,
                "flip_share": None if flipped is None else float(flipped.mean()),
                "moved_share": float(moved.mean()),
                "mean_change": float(change.mean()),
            }
        )
    per_feature.sort(
        key=lambda r: (-(r["flip_share"] or 0.0), -r["moved_share"], -r["mean_change"])
    )
    flipped, moved, change = _changes(task, before, predict(joint), threshold, tolerance)
    return {
        "rows": len(X),
        "perturbation": amount,
        "tolerance": tolerance,
        "flip_share": None if flipped is None else float(flipped.mean()),
        "moved_share": float(moved.mean()),
        "mean_change": float(change.mean()),
        "features": per_feature,
        "skipped": [n for n in kinds if n not in {r["feature"] for r in per_feature}],
    }
