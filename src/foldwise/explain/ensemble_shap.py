"""SHAP values of a weighted ensemble: the weighted sum of its members' SHAP values.

SHAP values are linear in the model: for ``f = Σ w_i f_i`` with every ``f_i`` explained in the
same output space, ``φ(f) = Σ w_i φ(f_i)`` and the base value is ``Σ w_i base_i``, so
``base + Σ φ`` equals the ensemble's prediction exactly when each member's does.

The space is the one the ensemble predicts in:

* **regression**: target units. Every member's own explainer already explains the predicted
  value (CatBoost ShapValues, linear SHAP, TreeExplainer, or the permutation fallback).
* **classification**: probability. The ensemble averages probabilities, not log-odds, so a
  sum of log-odds contributions would not add up to its prediction. A member whose own
  explainer works in probability (``shap.TreeExplainer`` on a random forest, the permutation
  fallback) keeps it; a member whose explainer works in log-odds or softmax logits
  (CatBoost, logistic regression, histogram boosting) is explained by the model-agnostic
  permutation SHAP of its probabilities instead, which is exactly additive but sampled
  (approximate attributions). The result's note names each member's explainer.

A member explanation that does not add up to the member's own output (beyond
:data:`GUARD_TOLERANCE`) is redone by permutation SHAP, so the sum always adds up. All members
explain the same rows: at most as many as the most restrictive member explains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from foldwise.explain.attribution import (
    FALLBACK_MAX_ROWS,
    FOREST_MAX_ROWS,
    Attribution,
    explain_by_permutation,
    explain_single,
)
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel

PROBABILITY = "probability"
# Members whose own explainer explains every row given (regression).
# A member explanation that misses its output by more than this (relative) is redone by
# permutation SHAP; CatBoost's float32 leaves keep its own sums within about 1e-6.
GUARD_TOLERANCE = 1e-5
ALL_ROWS = frozenset({"catboost", "logistic_regression", "hist_gradient_boosting"})


def _row_cap(model: EnsembleModel, n: int) -> int:
    """How many rows every member can explain (permutation and forest explainers sample)."""
    cap = n
    for member in model.members:
        if member.name == "random_forest":
            cap = min(cap, FOREST_MAX_ROWS)
        elif model.is_classifier or member.name not in ALL_ROWS:
            cap = min(cap, FALLBACK_MAX_ROWS)  # explained by permutation SHAP
    return cap


def _member_attribution(
    member: TabularModel,
    X: pd.DataFrame,
    background: pd.DataFrame,
    *,
    outputs: list[str],
    target: str,
    seed: int,
) -> Attribution:
    """One member's SHAP values in the ensemble's space (probability for classifiers)."""
    if member.is_classifier and member.name != "random_forest":
        reason = f"{member.name} explains log-odds; the ensemble averages probabilities"
        return explain_by_permutation(
            member, X, background, outputs=outputs, target=target, seed=seed, reason=reason
        )
    attr = explain_single(member, X, background, outputs=outputs, target=target, seed=seed)
    redo: str | None = None
    if member.is_classifier and attr.units != PROBABILITY:  # a forest's explainer changed
        redo = f"{member.name} was explained in {attr.units}"
    else:
        gap = _additivity_gap(member, X, attr)
        if gap > GUARD_TOLERANCE:
            redo = f"{attr.method} did not add up to {member.name}'s output (gap {gap:.3g})"
    if redo is None:
        return attr
    return explain_by_permutation(
        member, X, background, outputs=outputs, target=target, seed=seed, reason=redo
    )


def _additivity_gap(member: TabularModel, X: pd.DataFrame, attr: Attribution) -> float:
    """Largest |base + Σ SHAP - output| of a member, relative to its largest output."""
    rows = X if attr.rows is None else X.iloc[attr.rows]
    if len(rows) == 0:
        return 0.0
    if member.is_classifier:
        proba = member.predict_proba(rows)
        output = proba[:, 1:] if member.task == "binary" else proba
    else:
        output = member.predict(rows)[:, None]
    gap = np.abs(attr.values.sum(axis=1) + np.asarray(attr.base)[None, :] - output)
    return float(gap.max()) / max(1.0, float(np.abs(output).max()))


def _common_rows(parts: list[Attribution], n: int) -> np.ndarray:
    """Positions (into the explained rows) that every member explained."""
    common = np.arange(n)
    for attr in parts:
        if attr.rows is not None:
            common = np.intersect1d(common, attr.rows)
    return common


def _restricted(attr: Attribution, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A member's values on ``rows`` (positions into the explained rows), and its base."""
    explained = np.arange(len(attr.values)) if attr.rows is None else attr.rows
    where = {int(r): i for i, r in enumerate(explained)}
    return attr.values[[where[int(r)] for r in rows]], np.asarray(attr.base, dtype="float64")


def explain_ensemble(
    model: EnsembleModel,
    X: pd.DataFrame,
    background: pd.DataFrame,
    *,
    outputs: list[str],
    target: str,
    seed: int,
) -> Attribution:
    """SHAP values of ``model`` on ``X``: the weighted sum of its members' values."""
    rng = np.random.default_rng(seed)
    cap = _row_cap(model, len(X))
    rows = np.arange(len(X))
    if len(X) > cap:
        rows = np.sort(rng.choice(len(X), size=cap, replace=False))
    X_rows = X.iloc[rows]
    parts = [
        _member_attribution(
            member.model, X_rows, background, outputs=outputs, target=target, seed=seed
        )
        for member in model.members
    ]
    common = _common_rows(parts, len(rows))
    values = np.zeros((len(common), X.shape[1], len(outputs)), dtype="float64")
    base = np.zeros(len(outputs), dtype="float64")
    for member, attr in zip(model.members, parts, strict=True):
        member_values, member_base = _restricted(attr, common)
        values += member.weight * member_values
        base += member.weight * member_base
    first = parts[0]
    units = PROBABILITY if model.is_classifier else first.units
    method = "weighted sum of member SHAP: " + ", ".join(
        f"{member.name} {member.weight:.3g} ({attr.method})"
        for member, attr in zip(model.members, parts, strict=True)
    )
    notes = [
        f"{member.name}: {attr.note}"
        for member, attr in zip(model.members, parts, strict=True)
        if attr.note
    ]
    if len(common) < len(X):
        notes.append(f"{len(common)} of {len(X)} rows explained (the members' common sample)")
    note = "; ".join(notes) or None
    return Attribution(values, base, first.features, outputs, units, method, note, rows[common])
