"""Fitting one model: with early stopping, on a tuning fold, or once on all the rows.

:func:`model_for` builds an unfitted model from the registry with the params.yaml settings.
:func:`fit_with_early_stopping` lets a boosting model find its rounds on a validation part
carved from the training rows (respecting time order and groups) and refits on all of them;
:func:`fit_on_fold` is tuning's cheaper variant; :func:`fit_final` fits the shipped model
once on all rows with the rounds cross-validation found.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from foldwise.config import Config
from foldwise.cv import class_label, validation_split
from foldwise.errors import FoldwiseError
from foldwise.models import TabularModel, build_model
from foldwise.training.data import TrainingData, derive_seed


def model_for(
    name: str, data: TrainingData, config: Config, settings: dict[str, Any] | None = None
) -> TabularModel:
    """An unfitted model from the registry with the params.yaml settings for ``name``."""
    return build_model(
        name,
        task=data.problem.task,
        features=data.features,
        settings=config.model.settings(name) if settings is None else settings,
        seed=config.seed,
        max_onehot_categories=config.model.max_onehot_categories,
        early_stopping_rounds=config.train.early_stopping_rounds,
        n_classes=len(data.problem.classes) if data.problem.classes else None,
    )


@dataclass
class FitResult:
    """A fitted model and how it was fitted."""

    model: TabularModel
    best_iteration: int | None = None
    learning_curve: dict[str, Any] | None = None
    seconds: float = 0.0


def fit_with_early_stopping(
    model: TabularModel,
    frame: pd.DataFrame,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    config: Config,
    task: str,
    seed: int,
    refit: bool = True,
    labels: Sequence[Any] | None = None,
) -> FitResult:
    """Fit; boosting models find their rounds on a carved validation part, then refit on all rows.

    The validation part respects time order and groups, so early stopping never peeks ahead.
    ``refit=False`` keeps the early-stopped model (tuning scores it; only rounds matter there).
    ``labels`` (of the class codes in ``y``) name a class in errors.
    """
    present = np.unique(y) if task != "regression" else np.empty(0)
    if len(present) == 1:
        raise FoldwiseError(
            f"these training rows hold only the target class {class_label(present[0], labels)!r};"
            " a classifier needs two (with data.time_column, the earliest block may hold one "
            "class: lower cv.folds)"
        )
    started = time.perf_counter()
    if not model.supports_early_stopping:
        fitted = clone(model).fit(X, y)
        return FitResult(fitted, seconds=time.perf_counter() - started)
    fit_idx, val_idx = validation_split(
        frame,
        y,
        task=task,  # type: ignore[arg-type]
        fraction=config.train.validation_size,
        seed=seed,
        time_column=config.data.time_column,
        group_column=config.data.group_column,
        labels=labels,
    )
    probe = clone(model).fit(X.iloc[fit_idx], y[fit_idx], X_val=X.iloc[val_idx], y_val=y[val_idx])
    rounds = int(probe.best_iteration_)
    if not refit:
        return FitResult(probe, rounds, probe.learning_curve_, time.perf_counter() - started)
    fitted = model.with_iterations(rounds).fit(X, y)
    return FitResult(fitted, rounds, probe.learning_curve_, time.perf_counter() - started)


def fit_on_fold(
    model: TabularModel,
    X_fit: pd.DataFrame,
    y_fit: np.ndarray,
    X_val: pd.DataFrame,
    y_val: np.ndarray,
) -> FitResult:
    """Fit on a tuning fold's training rows; boosting models early-stop on its validation rows.

    Tuning only: the trial is then scored on the same validation rows, so no carved part is
    lost (each fit sees all of the fold's training rows). Stopping at the best round of the
    scored rows flatters every trial alike by a little; the ranking of trials, not the inner
    score, is what tuning uses, and the outer folds stay untouched.
    """
    started = time.perf_counter()
    if not model.supports_early_stopping:
        fitted = clone(model).fit(X_fit, y_fit)
        return FitResult(fitted, seconds=time.perf_counter() - started)
    fitted = clone(model).fit(X_fit, y_fit, X_val=X_val, y_val=y_val)
    return FitResult(
        fitted, fitted.best_iteration_, fitted.learning_curve_, time.perf_counter() - started
    )


@dataclass(frozen=True)
class FinalFit:
    """A model fitted on all the rows: its name, settings, rounds and seconds."""

    name: str
    settings: dict[str, Any]
    rounds: int | None
    seconds: float


def fit_final(
    name: str, settings: dict[str, Any], rounds: int | None, data: TrainingData, config: Config
) -> tuple[TabularModel, FinalFit]:
    """Fit ``name`` once on all of ``data``; a boosting model trains exactly ``rounds`` rounds.

    ``rounds`` is what cross-validation found (:func:`foldwise.training.crossval.cv_rounds`):
    no rows are carved off for early stopping and no probe fit is made. The shipped single
    model and every ensemble member are fitted here.
    """
    started = time.perf_counter()
    model = model_for(name, data, config, dict(settings))
    model = model.set_params(seed=derive_seed(config.seed, 3000))
    fitted = (model.with_iterations(rounds) if rounds is not None else clone(model)).fit(
        data.X, data.y
    )
    return fitted, FinalFit(name, dict(settings), rounds, time.perf_counter() - started)
