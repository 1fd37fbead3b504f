"""The nested outer loop: one study per outer fold, scored on rows it never saw, then the final.

:func:`plan_studies` lays out a run's studies and their inner folds; :func:`make_tuner` gives
every process of one configuration (the stage or an extra worker) the same storage and
study key; :func:`score_outer` refits an outer study's best params on its training part and
scores the held-out rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foldwise.config import Config
from foldwise.cv import folds_fingerprint, make_folds
from foldwise.training import (
    TrainingData,
    derive_seed,
    fit_with_early_stopping,
    fold_scores,
    predict_scores,
)
from foldwise.tuning.space import check_trial_settings, search_space
from foldwise.tuning.storage import open_storage, study_key
from foldwise.tuning.tuner import StudyResult, Tuner


def _subset(data: TrainingData, idx: np.ndarray) -> TrainingData:
    return TrainingData(
        frame=data.frame.iloc[idx].reset_index(drop=True),
        X=data.X.iloc[idx].reset_index(drop=True),
        y=data.y[idx],
        problem=data.problem,
        features=data.features,
    )


@dataclass
class PlannedStudy:
    """One study of a tuning run: the rows it may see and its inner folds.

    ``held_out`` (outer studies only) are the rows it is judged on afterwards; no fit made
    for this study ever receives them.
    """

    name: str
    data: TrainingData
    inner: list
    seed: int
    held_out: np.ndarray | None


def inner_folds(data: TrainingData, config: Config, seed: int) -> list:
    """The tuning folds inside a training part."""
    return make_folds(
        data.frame,
        data.y,
        task=data.problem.task,
        n_splits=config.cv.inner_folds,
        seed=seed,
        time_column=config.data.time_column,
        group_column=config.data.group_column,
        labels=data.problem.classes,
    )


def plan_studies(config: Config, data: TrainingData, outer: list) -> list[PlannedStudy]:
    """The studies of a run in order: one per outer fold (when nested), then the final one."""
    plan = []
    if config.tune.nested:
        for i, (train_idx, held_idx) in enumerate(outer):
            part = _subset(data, train_idx)
            seed = derive_seed(config.seed, 1000 + i)
            plan.append(
                PlannedStudy(f"outer{i}", part, inner_folds(part, config, seed), seed, held_idx)
            )
    seed = derive_seed(config.seed, 2000)
    plan.append(PlannedStudy("final", data, inner_folds(data, config, seed), seed, None))
    return plan


def make_tuner(
    config: Config, data: TrainingData, outer: list, journal: Path, *, worker: bool
) -> Tuner:
    """The tuner every process of one configuration shares (the stage or an extra worker)."""
    space, fixed = search_space(config, data.problem.task)
    check_trial_settings(config, data)
    return Tuner(
        config=config,
        storage=open_storage(config, journal),
        key=study_key(config, data, folds_fingerprint(outer), space),
        space=space,
        fixed=fixed,
        embedded=config.tune.storage is None,
        enqueue_defaults=not worker,
    )


def study_exists(tuner: Tuner, name: str) -> bool:
    """Whether the stage has created study ``name`` and queued its first trial."""
    full = f"{name}-{tuner.key}"
    names = {s.study_name for s in tuner.storage.get_all_studies()}
    if full not in names:
        return False
    study_id = tuner.storage.get_study_id_from_name(full)
    return tuner.storage.get_n_trials(study_id) > 0


@dataclass
class OuterFold:
    """One outer fold: its study and the honest score on the rows the study never saw."""

    fold: int
    study: StudyResult
    scores: dict[str, float]
    rows: int


def score_outer(tuner: Tuner, full: TrainingData, planned: PlannedStudy, fold: int) -> OuterFold:
    """Run an outer study, refit its best params on the outer training part, score held-out rows."""
    assert planned.held_out is not None
    part = planned.data
    result = tuner.run(planned.name, part, planned.inner, planned.seed)
    fitted = fit_with_early_stopping(
        tuner.build(part, result.best_params, planned.seed),
        part.frame,
        part.X,
        part.y,
        config=tuner.config,
        task=part.problem.task,
        seed=planned.seed,
        labels=part.problem.classes,
    )
    held = planned.held_out
    predicted = predict_scores(fitted.model, full.X.iloc[held], part.problem.task)
    scores = fold_scores(part.problem, full.y[held], predicted)
    return OuterFold(fold, result, scores, len(held))
