"""Feature importance shares of an ensemble, for weighting drift in ``foldwise monitor``.

An ensemble's share of feature ``j`` is the weighted sum of its members' shares:
``Σ w_i share_ij``, each member's shares summing to one. A member's shares are its mean |SHAP|
per feature (its own explainer, :func:`foldwise.explain.attribution.explain`) on up to
:data:`SHAP_ROWS` training rows, normalised; normalising per member makes the members'
explanation spaces (log-odds, probability, target units) irrelevant. Without training rows
only members with a native importance (CatBoost) can be weighed; if any member has none, the
ensemble has no shares (``None``: monitor then treats every feature as relied on).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel

SHAP_ROWS = 300
Native = Callable[[TabularModel], dict[str, float] | None]


def _shap_shares(model: TabularModel, X: pd.DataFrame, seed: int) -> np.ndarray | None:
    from foldwise.explain.attribution import explain, output_names

    rows = X.sample(n=min(len(X), SHAP_ROWS), random_state=seed).reset_index(drop=True)
    outputs = output_names(model, None, "target")
    attr = explain(model, rows, rows, outputs=outputs, target="target", seed=seed)
    values = attr.mean_abs()
    total = float(values.sum())
    return values / total if np.isfinite(total) and total > 0 else None


def ensemble_importances(
    model: EnsembleModel, X: pd.DataFrame | None, native: Native, seed: int = 0
) -> dict[str, float] | None:
    """Weighted member shares per feature (summing to one), or None when unknown."""
    names = [str(f["name"]) for f in model.features]
    total = np.zeros(len(names))
    weight = 0.0
    for member in model.members:
        if X is not None and len(X):
            shares = _shap_shares(member.model, X, seed)
        else:
            found = native(member.model)
            if found is None:
                return None
            shares = np.array([found[name] for name in names])
        if shares is None:  # a constant member (e.g. the dummy) relies on nothing
            continue
        total += member.weight * shares
        weight += member.weight
    if weight <= 0:
        return None
    return {name: float(v / weight) for name, v in zip(names, total, strict=True)}
