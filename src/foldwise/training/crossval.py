"""Cross-validation of one model on the run's fixed folds, and what is read from it.

:func:`cross_validate` fits a model on each fold's training part (as
:func:`foldwise.training.fitting.fit_with_early_stopping` does) and scores the rest, keeping
out-of-fold predictions (:class:`CVRun`); :func:`fold_scores` gives a fold's metrics
(:data:`FOLD_METRICS` plus the selection metric) and :func:`predict_scores` the scores they are
computed from. :func:`cv_rounds` and :func:`mean_learning_curve` summarise the folds' early
stopping, :func:`compare_to_baselines` the paired margins over the baselines. The folds
themselves are made by :mod:`foldwise.cv`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from foldwise.config import Config
from foldwise.metrics import score
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel
from foldwise.problem import Problem
from foldwise.training.data import TrainingData, derive_seed
from foldwise.training.fitting import fit_with_early_stopping

# Threshold-free metrics reported for every fold; the selection metric is always added.
FOLD_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("roc_auc", "average_precision", "log_loss", "brier"),
    "multiclass": ("log_loss", "accuracy", "macro_f1", "roc_auc"),
    "regression": ("rmse", "mae", "r2"),
}


def predict_scores(model: TabularModel | EnsembleModel, X: pd.DataFrame, task: str) -> np.ndarray:
    """Probabilities (n, k) for classification, values (n,) for regression."""
    if task == "regression":
        return np.asarray(model.predict(X), dtype="float64")
    return np.asarray(model.predict_proba(X), dtype="float64")


def fold_scores(problem: Problem, y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The per-fold metrics of a task, the selection metric included."""
    names = list(dict.fromkeys((problem.metric, *FOLD_METRICS[problem.task])))
    values = {name: score(name, y_true, scores) for name in names}
    return {k: float(v) for k, v in values.items() if v is not None and np.isfinite(v)}


@dataclass
class CVRun:
    """Cross-validation of one model on fixed folds, with out-of-fold predictions."""

    model_name: str
    fold_scores: list[dict[str, float]]
    oof: np.ndarray
    fold_of_row: np.ndarray
    best_iterations: list[int | None] = field(default_factory=list)
    seconds: float = 0.0
    models: list[TabularModel] = field(default_factory=list)  # per fold, with keep_models
    # Per fold, the early-stopping fit's loss per round (None for models without rounds).
    learning_curves: list[dict[str, Any] | None] = field(default_factory=list)

    @property
    def validated(self) -> np.ndarray:
        """Rows that were predicted out of fold (walk-forward CV never predicts the first block)."""
        return self.fold_of_row >= 0


def cross_validate(
    model: TabularModel,
    data: TrainingData,
    folds: list[tuple[np.ndarray, np.ndarray]],
    config: Config,
    name: str,
    keep_models: bool = False,
) -> CVRun:
    """Fit ``model`` on each fold's training part and score the rest.

    Each fold fits as :func:`fit_with_early_stopping` does: a boosting model finds its rounds
    on a part carved from the fold's training rows and is refitted on all of them. The shipped
    model is then fitted once on all rows with the folds' mean rounds (:func:`cv_rounds`,
    :func:`foldwise.training.fitting.fit_final`). ``keep_models`` keeps each fold's fitted
    model (the explain stage reads them).
    """
    started = time.perf_counter()
    task = data.problem.task
    n = len(data.y)
    k = len(data.problem.classes or ())
    oof = np.full((n, k), np.nan) if task != "regression" else np.full(n, np.nan)
    fold_of_row = np.full(n, -1, dtype="int64")
    scores_per_fold: list[dict[str, float]] = []
    best_iterations: list[int | None] = []
    curves: list[dict[str, Any] | None] = []
    models: list[TabularModel] = []
    for i, (train_idx, val_idx) in enumerate(folds):
        result = fit_with_early_stopping(
            model,
            data.frame.iloc[train_idx].reset_index(drop=True),
            data.X.iloc[train_idx].reset_index(drop=True),
            data.y[train_idx],
            config=config,
            task=task,
            seed=derive_seed(config.seed, i),
            labels=data.problem.classes,
        )
        scores = predict_scores(result.model, data.X.iloc[val_idx], task)
        oof[val_idx] = scores
        fold_of_row[val_idx] = i
        scores_per_fold.append(fold_scores(data.problem, data.y[val_idx], scores))
        best_iterations.append(result.best_iteration)
        curves.append(result.learning_curve)
        if keep_models:
            models.append(result.model)
    return CVRun(
        name,
        scores_per_fold,
        oof,
        fold_of_row,
        best_iterations,
        time.perf_counter() - started,
        models,
        curves,
    )


def cv_rounds(run: CVRun) -> int | None:
    """The boosting rounds the folds' early stopping found (their mean), None if none."""
    found = [r for r in run.best_iterations if r is not None]
    return max(1, round(float(np.mean(found)))) if found else None


def mean_learning_curve(curves: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The folds' learning curves averaged round by round (None when no fold has one).

    Every fold's early-stopping fit ran a different number of rounds; the mean is taken over
    the rounds all of them ran, so each point is the mean of the same folds. A part
    (``train`` or ``validation``) that one fold lacks is left out.
    """
    present = [c for c in curves if c]
    if not present:
        return None
    out: dict[str, Any] = {"metric": present[0].get("metric"), "folds": len(present)}
    for part in ("train", "validation"):
        values: list[list[float]] = [c.get(part) or [] for c in present]
        if any(not v for v in values):
            out[part] = None
            continue
        rounds = min(len(v) for v in values)
        out[part] = [float(np.mean([v[i] for v in values])) for i in range(rounds)]
    return out


def compare_to_baselines(
    primary: str,
    greater_is_better: bool,
    model_folds: list[float],
    baselines: dict[str, list[float]],
) -> dict[str, dict[str, Any]]:
    """Paired per-fold margins of the model over each baseline (positive = model better)."""
    sign = 1.0 if greater_is_better else -1.0
    out: dict[str, dict[str, Any]] = {}
    model = np.asarray(model_folds, dtype=float)
    for name, folds in baselines.items():
        base = np.asarray(folds, dtype=float)
        if base.shape != model.shape:
            out[name] = {"comparable": False, "reason": "different number of folds"}
            continue
        margin = sign * (model - base)
        out[name] = {
            "comparable": True,
            "metric": primary,
            "margin_mean": float(margin.mean()),
            "margin_std": float(margin.std(ddof=1)) if len(margin) > 1 else 0.0,
            "folds_better": int((margin > 0).sum()),
            "folds": len(margin),
        }
    return out
