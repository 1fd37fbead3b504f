"""SHAP values of a bundle's model, whichever kind: one model or a weighted ensemble.

One model goes to :func:`foldwise.explain.attribution.explain_single` (its own explainer); an
ensemble to :func:`foldwise.explain.ensemble_shap.explain_ensemble` (the weighted sum of its
members' values, which keeps additivity).
"""

from __future__ import annotations

import pandas as pd

from foldwise.explain.attribution import Attribution, explain_single
from foldwise.explain.ensemble_shap import explain_ensemble
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel


def explain(
    model: TabularModel | EnsembleModel,
    X: pd.DataFrame,
    background: pd.DataFrame,
    *,
    outputs: list[str],
    target: str,
    seed: int,
) -> Attribution:
    """SHAP values of ``model`` for the feature frame ``X`` (``background``: training rows)."""
    if isinstance(model, EnsembleModel):
        return explain_ensemble(model, X, background, outputs=outputs, target=target, seed=seed)
    return explain_single(model, X, background, outputs=outputs, target=target, seed=seed)
