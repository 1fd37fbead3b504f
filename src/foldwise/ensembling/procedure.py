"""The ensemble procedure that ships, on any rows: members cross-validated, weights, final fits.

:func:`fit_ensemble` is called by the train stage on all training rows (its folds are the
run's folds) and by the tune stage inside each outer fold (the outer-training part and its
inner folds), so the nested estimate measures exactly this procedure. The weights are chosen
on the members' out-of-fold predictions only: no prediction used in the selection came from a
model that trained on its row.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from foldwise.config import Config
from foldwise.ensembling.selection import Selection, blend, select_ensemble
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel
from foldwise.training.crossval import CVRun, cross_validate, cv_rounds
from foldwise.training.data import TrainingData
from foldwise.training.fitting import FinalFit, fit_final, model_for


@dataclass(frozen=True)
class EnsembleFit:
    """The members' cross-validation, the chosen weights and the fitted ensemble."""

    runs: dict[str, CVRun]  # each member's CV on the given folds, in member order
    selection: Selection
    model: EnsembleModel
    fits: tuple[FinalFit, ...]  # the members fitted on all rows (weight > 0 only)
    oof: np.ndarray  # the weighted out-of-fold predictions (NaN where a row was never scored)
    cv_seconds: float
    fit_seconds: float


def member_runs(
    data: TrainingData,
    folds: list,
    config: Config,
    settings: Mapping[str, dict[str, Any]],
    keep_models: bool = False,
) -> dict[str, CVRun]:
    """Cross-validate every member on the same folds, as the single-model path does."""
    return {
        name: cross_validate(
            model_for(name, data, config, dict(values)), data, folds, config, name, keep_models
        )
        for name, values in settings.items()
    }


def choose_weights(runs: Mapping[str, CVRun], data: TrainingData, config: Config) -> Selection:
    """Greedy selection with replacement on the members' out-of-fold predictions."""
    names = list(runs)
    return select_ensemble(
        names,
        [runs[n].oof for n in names],
        data.y,
        data.problem.metric,
        config.model.ensemble.rounds,
    )


def fit_ensemble(
    data: TrainingData,
    folds: list,
    config: Config,
    settings: Mapping[str, dict[str, Any]],
    keep_models: bool = False,
) -> EnsembleFit:
    """Members' out-of-fold predictions on ``folds`` → weights → members fitted on all rows.

    ``settings`` maps each member to its settings (``model.<member>`` with tuned params).
    Only members with a positive weight are fitted on all rows.
    """
    started = time.perf_counter()
    runs = member_runs(data, folds, config, settings, keep_models)
    selection = choose_weights(runs, data, config)
    cv_seconds = time.perf_counter() - started
    models: list[TabularModel] = []
    weights: list[float] = []
    fits: list[FinalFit] = []
    for name, weight in zip(selection.names, selection.weights, strict=True):
        if weight <= 0:
            continue
        model, fit = fit_final(name, dict(settings[name]), cv_rounds(runs[name]), data, config)
        models.append(model)
        weights.append(weight)
        fits.append(fit)
    oof = blend([runs[n].oof for n in selection.names], selection.weights)
    return EnsembleFit(
        runs=runs,
        selection=selection,
        model=EnsembleModel(models, weights),
        fits=tuple(fits),
        oof=oof,
        cv_seconds=cv_seconds,
        fit_seconds=time.perf_counter() - started - cv_seconds,
    )


def selection_report(selection: Selection) -> dict[str, Any]:
    """The selection as report fields: members, weights, scores per member and of the blend."""
    return {
        "metric": selection.metric,
        "greater_is_better": selection.greater_is_better,
        "members": list(selection.names),
        "weights": selection.weight_of(),
        "counts": dict(zip(selection.names, selection.counts, strict=True)),
        "member_oof_scores": dict(zip(selection.names, selection.member_scores, strict=True)),
        "ensemble_oof_score": selection.score,
        "best_member": selection.best_member,
        "best_member_oof_score": selection.best_member_score,
        "rounds_kept": selection.best_round,
        "oof_score_per_round": list(selection.round_scores),
        "rows_scored": selection.rows,
    }
