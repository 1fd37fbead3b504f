"""Feature importances and their agreement: final, fold, linear-baseline and permutation.

Also which suspect columns (``explain.suspect_columns``) rank among the top features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from foldwise.bundle import Bundle
from foldwise.config import Config
from foldwise.errors import FoldwiseError
from foldwise.explain.agreement import (
    fold_permutation_importance,
    investigate,
    rank_correlation,
    ranks,
)
from foldwise.explain.attribution import Attribution
from foldwise.explain.explainer import explain
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel
from foldwise.training.data import TrainingData
from foldwise.training.fitting import model_for


@dataclass(frozen=True)
class Importances:
    """Mean |SHAP| of the final model, of each fold model and of the linear baseline, and
    the fold models' permutation importance."""

    final: Attribution
    fold_attr: list[Attribution | None]
    fold: np.ndarray
    linear: np.ndarray
    linear_note: str
    permutation: np.ndarray


def compute_importances(
    config: Config,
    data: TrainingData,
    bundle: Bundle,
    fold_models: Sequence[TabularModel | EnsembleModel],
    sample: np.ndarray,
    fold_of_row: np.ndarray,
    outputs: list[str],
) -> Importances:
    """Every importance the agreement checks compare, on the sampled out-of-fold rows."""
    problem, seed, model = data.problem, config.seed, bundle.model
    X_sample = data.X.iloc[sample].reset_index(drop=True)
    final = explain(model, X_sample, X_sample, outputs=outputs, target=problem.target, seed=seed)
    fold_attr, fold_importance = explain_folds(
        fold_models, data.X, sample, fold_of_row, outputs, problem.target, seed
    )
    linear_importance, linear_note = linear_baseline_importance(
        config, data, model, final.mean_abs(), X_sample, data.y[sample], outputs
    )
    permutation = fold_permutation_importance(
        fold_models,
        data.X.iloc[sample].reset_index(drop=True),
        data.y[sample],
        fold_of_row[sample],
        metric=problem.metric,
        task=problem.task,
        repeats=config.explain.permutation_repeats,
        seed=seed,
    )
    return Importances(
        final=final,
        fold_attr=fold_attr,
        fold=fold_importance,
        linear=linear_importance,
        linear_note=linear_note,
        permutation=np.nanmean(permutation, axis=0),
    )


def explain_folds(
    models: Sequence[TabularModel | EnsembleModel],
    X: pd.DataFrame,
    rows: np.ndarray,
    fold_of_row: np.ndarray,
    outputs: list[str],
    target: str,
    seed: int,
) -> tuple[list[Attribution | None], np.ndarray]:
    """Each fold model on its held-out rows among ``rows``; mean |SHAP| per fold."""
    attributions: list[Attribution | None] = []
    importance = np.full((len(models), X.shape[1]), np.nan)
    for i, model in enumerate(models):
        held = rows[fold_of_row[rows] == i]
        seen = rows[fold_of_row[rows] != i]
        if len(held) == 0:
            attributions.append(None)
            continue
        attr = explain(
            model,
            X.iloc[held],
            X.iloc[seen if len(seen) else held],
            outputs=outputs,
            target=target,
            seed=seed + i,
        )
        attr.rows = held[attr.rows]
        attributions.append(attr)
        importance[i] = attr.mean_abs()
    return attributions, importance


def linear_baseline_importance(
    config: Config,
    data: TrainingData,
    model: TabularModel | EnsembleModel,
    importance: np.ndarray,
    X_sample: pd.DataFrame,
    y_sample: np.ndarray,
    outputs: list[str],
) -> tuple[np.ndarray, str]:
    """Mean |SHAP| of the linear baseline refitted on the explained rows, and how it was got."""
    if model.name == "logistic_regression":
        return importance, "the model is the linear baseline itself"
    target, seed = data.problem.target, config.seed
    linear = model_for("logistic_regression", data, config).fit(X_sample, y_sample)
    linear_importance = explain(
        linear, X_sample, X_sample, outputs=outputs, target=target, seed=seed
    ).mean_abs()
    return linear_importance, f"linear baseline refitted on the {len(X_sample)} explained rows"


def rank_correlations(
    model: TabularModel | EnsembleModel,
    importance: np.ndarray,
    linear: np.ndarray,
    permutation: np.ndarray,
) -> dict[str, float | None]:
    """Spearman correlation of the final model's ranking with the linear and permutation ones."""
    return {
        "linear_baseline": None
        if model.name == "logistic_regression"
        else rank_correlation(importance, linear),
        "permutation": rank_correlation(importance, np.nan_to_num(permutation)),
    }


def disagreements(
    model: TabularModel | EnsembleModel,
    name: str,
    features: list[str],
    importance: np.ndarray,
    linear_importance: np.ndarray,
    perm_mean: np.ndarray,
) -> list[dict[str, Any]]:
    """Top features on which SHAP, the linear baseline and permutation importance disagree."""
    statements = []
    if model.name != "logistic_regression":
        statements += investigate(
            features,
            importance,
            linear_importance,
            main_name=name,
            other_name="the linear baseline",
        )
    statements += investigate(
        features,
        importance,
        perm_mean,
        main_name=f"{name} SHAP",
        other_name="permutation importance",
    )
    return statements


def check_suspects(config: Config, data: TrainingData) -> tuple[list[str], list[str]]:
    """(suspect features, suspect columns the model cannot use); unknown columns are an error."""
    names = {str(f["name"]) for f in data.features}
    used, unused = [], []
    for column in config.explain.suspect_columns:
        if column in names:
            used.append(column)
        elif column in data.frame.columns:
            unused.append(column)
        else:
            raise FoldwiseError(
                f"explain.suspect_columns: column {column!r} is not in the training table; "
                f"its columns: {', '.join(map(str, data.frame.columns))}"
            )
    return used, unused


def suspects_in_top(
    suspects: list[str], features: list[str], importance: np.ndarray, top_k: int
) -> list[dict[str, Any]]:
    """The suspect columns among the top ``top_k`` features, with their rank and importance."""
    r_final = ranks(importance)
    return [
        {
            "feature": s,
            "rank": int(r_final[features.index(s)]),
            "importance": float(importance[features.index(s)]),
        }
        for s in suspects
        if r_final[features.index(s)] <= top_k
    ]


def feature_table(
    data: TrainingData,
    importance: np.ndarray,
    fold_importance: np.ndarray,
    linear_importance: np.ndarray,
    perm_mean: np.ndarray,
) -> list[dict[str, Any]]:
    """One row per feature: final, fold, linear and permutation importance and ranks."""
    fold_ranks = np.vstack([ranks(row) for row in fold_importance if np.isfinite(row).all()])
    r_final = ranks(importance)
    r_linear, r_perm = ranks(linear_importance), ranks(np.nan_to_num(perm_mean, nan=-np.inf))
    rows: list[dict[str, Any]] = []
    for j, f in enumerate(data.features):
        column = fold_importance[:, j]
        rows.append(
            {
                "feature": str(f["name"]),
                "kind": str(f["kind"]),
                "rank": int(r_final[j]),
                "importance": float(importance[j]),
                "fold_mean": float(np.nanmean(column)),
                "fold_std": float(np.nanstd(column, ddof=1))
                if np.isfinite(column).sum() > 1
                else None,
                "fold_ranks": [int(v) for v in fold_ranks[:, j]] if len(fold_ranks) else [],
                "linear_importance": float(linear_importance[j]),
                "linear_rank": int(r_linear[j]),
                "permutation_importance": float(perm_mean[j])
                if np.isfinite(perm_mean[j])
                else None,
                "permutation_rank": int(r_perm[j]),
            }
        )
    rows.sort(key=lambda r: r["rank"])
    return rows
