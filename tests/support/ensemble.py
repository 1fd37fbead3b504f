"""Tiny fitted ensembles (CatBoost, random forest, logistic regression) and their bundles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from foldwise.bundle import Bundle
from foldwise.models import build_model, feature_frame
from foldwise.models.ensemble import EnsembleModel
from foldwise.profile.contract import input_schema
from tests.conftest import make_table
from tests.support.serve import FEATURES, PROBLEMS

MEMBERS = {
    "catboost": {"iterations": 30, "depth": 3, "thread_count": 1},
    "random_forest": {"n_estimators": 15},
    "logistic_regression": {},
    "hist_gradient_boosting": {"max_iter": 20},
    "dummy": {},
}
WEIGHTS = (0.5, 0.3, 0.2)


def fit_ensemble(
    task: str,
    X: pd.DataFrame,
    y: np.ndarray,
    features: list[dict],
    *,
    members: tuple[str, ...] = ("catboost", "random_forest", "logistic_regression"),
    weights: tuple[float, ...] = WEIGHTS,
    n_classes: int | None = None,
) -> EnsembleModel:
    """Each member fitted on the same rows with small settings, wrapped with ``weights``."""
    fitted = [
        build_model(
            name, task=task, features=features, settings=MEMBERS[name], n_classes=n_classes
        ).fit(X, y)
        for name in members
    ]
    return EnsembleModel(fitted, list(weights))


def train_ensemble_bundle(
    task: str, out: Path, *, seed: int = 0, n: int = 300, reference: dict | None = None
) -> tuple[Bundle, pd.DataFrame]:
    """An ensemble on :func:`make_table` rows saved as a bundle (as ``train_bundle`` does)."""
    table = make_table(task, n=n, seed=seed)
    problem = PROBLEMS[task]
    k = len(problem.classes) if problem.classes else None
    X = feature_frame(table, FEATURES)
    model = fit_ensemble(task, X, problem.encode(table["label"]), FEATURES, n_classes=k)
    threshold = 0.4 if task == "binary" else None
    metadata = {"id_columns": ["row_id"], "model_name": "ensemble"}
    schema = input_schema(table, FEATURES, "label model input row")
    bundle = Bundle(
        model, problem, FEATURES, threshold, metadata, input_schema=schema, reference=reference
    )
    bundle.save(out)
    return Bundle.load(out), table
