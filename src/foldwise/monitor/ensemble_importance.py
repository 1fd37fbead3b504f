"""Feature importance shares of an ensemble, for weighting drift in ``foldwise monitor``.

An ensemble's share of feature ``j`` is the weighted sum of its members' shares:
``Σ w_i share_ij``, each member's shares summing to one. A member's shares are its own
importance where the library has a cheap one (CatBoost's PredictionValuesChange, as for a
single CatBoost model; a random forest's impurity decrease, summed over the encoded columns
of each input column), else its mean |SHAP| per feature (its own explainer,
:func:`foldwise.explain.explainer.explain`) on up to :data:`SHAP_ROWS` training rows.
Normalising per member makes the members' scales and explanation spaces irrelevant. Without
training rows a member with no native importance cannot be weighed, and the ensemble then
has no shares (``None``: monitor treats every feature as relied on).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel

SHAP_ROWS = 200
Native = Callable[[TabularModel], dict[str, float] | None]


def _normalised(values: np.ndarray) -> np.ndarray | None:
    total = float(values.sum())
    return values / total if np.isfinite(total) and total > 0 else None


def _forest_shares(model: TabularModel, names: list[str]) -> np.ndarray | None:
    """A random forest's impurity importances, summed per input column."""
    from foldwise.explain.attribution import column_owners

    pipeline = model.estimator_
    owners = column_owners(pipeline.named_steps["preprocess"])
    importances = np.asarray(pipeline.named_steps["model"].feature_importances_, "float64")
    index = {name: j for j, name in enumerate(names)}
    shares = np.zeros(len(names))
    for owner, value in zip(owners, importances, strict=True):
        shares[index[owner]] += value
    return _normalised(shares)


def _shap_shares(model: TabularModel, X: pd.DataFrame, seed: int) -> np.ndarray | None:
    from foldwise.explain.attribution import output_names
    from foldwise.explain.explainer import explain

    rows = X.sample(n=min(len(X), SHAP_ROWS), random_state=seed).reset_index(drop=True)
    outputs = output_names(model, None, "target")
    attr = explain(model, rows, rows, outputs=outputs, target="target", seed=seed)
    return _normalised(attr.mean_abs())


def member_shares(
    model: TabularModel, X: pd.DataFrame | None, native: Native, seed: int = 0
) -> tuple[bool, np.ndarray | None]:
    """(known, shares): ``known`` is False when the member cannot be weighed without rows.

    ``shares`` is None for a member that relies on nothing (a constant model).
    """
    names = [str(f["name"]) for f in model.features]
    found = native(model)
    if found is not None:
        return True, np.array([found[name] for name in names])
    if model.name == "random_forest":
        return True, _forest_shares(model, names)
    if X is None or len(X) == 0:
        return False, None
    return True, _shap_shares(model, X, seed)


def ensemble_importances(
    model: EnsembleModel, X: pd.DataFrame | None, native: Native, seed: int = 0
) -> dict[str, float] | None:
    """Weighted member shares per feature (summing to one), or None when unknown."""
    names = [str(f["name"]) for f in model.features]
    total = np.zeros(len(names))
    weight = 0.0
    for member in model.members:
        known, shares = member_shares(member.model, X, native, seed)
        if not known:
            return None
        if shares is None:  # a constant member (e.g. the dummy) relies on nothing
            continue
        total += member.weight * shares
        weight += member.weight
    if weight <= 0:
        return None
    return {name: float(v / weight) for name, v in zip(names, total, strict=True)}
