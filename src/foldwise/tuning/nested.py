"""The nested outer loop: one study per outer fold, scored on rows it never saw, then the final.

:func:`plan_studies` lays out a run's studies and their inner folds; :func:`make_tuner` gives
every process of one configuration (the stage or an extra worker) the same storage and
study key; :func:`score_outer` refits an outer study's best params on its training part (one fit, the
rounds of the inner folds) and scores the held-out rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from foldwise.config import Config
from foldwise.cv import class_label, folds_fingerprint, make_folds
from foldwise.ensembling.procedure import fit_ensemble
from foldwise.errors import FoldwiseError
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel
from foldwise.training.crossval import fold_scores, predict_scores
from foldwise.training.data import TrainingData, derive_seed, take_rows
from foldwise.tuning.space import check_trial_settings, search_space
from foldwise.tuning.storage import open_storage, study_key
from foldwise.tuning.tuner import StudyResult, Tuner


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


def plan_studies(
    config: Config, data: TrainingData, outer: list, nested: bool | None = None
) -> list[PlannedStudy]:
    """The studies of a run in order: one per outer fold (when nested), then the final one.

    ``nested`` overrides ``tune.nested`` (a time budget may drop the outer loop).
    """
    plan = []
    if config.tune.nested if nested is None else nested:
        for i, (train_idx, held_idx) in enumerate(outer):
            part = take_rows(data, train_idx)
            seed = derive_seed(config.seed, 1000 + i)
            plan.append(
                PlannedStudy(f"outer{i}", part, inner_folds(part, config, seed), seed, held_idx)
            )
    seed = derive_seed(config.seed, 2000)
    plan.append(PlannedStudy("final", data, inner_folds(data, config, seed), seed, None))
    return plan


def make_tuner(
    config: Config,
    data: TrainingData,
    outer: list,
    journal: Path,
    *,
    worker: bool,
    name: str | None = None,
    threads: int | None = None,
) -> Tuner:
    """The tuner every process of one configuration shares (the stage or an extra worker).

    ``name``: the model searched (an ensemble member); default ``model.name``. ``threads``:
    the threads of every fit (studies side by side); part of the study key.
    """
    name = name or config.model.name
    space, fixed = search_space(config, data.problem.task, name)
    check_trial_settings(config, data)
    return Tuner(
        config=config,
        storage=open_storage(config, journal),
        key=study_key(config, data, folds_fingerprint(outer), space, name, threads),
        space=space,
        fixed=fixed,
        embedded=config.tune.storage is None,
        enqueue_defaults=not worker,
        model_name=name,
        threads=threads,
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
    """One outer fold: how it was tuned and the honest score on rows it never saw.

    ``inner_score``: the score the procedure saw on its inner folds (the best trial's, or an
    ensemble's inner out-of-fold score); None when nothing was scored inside (no tuning).
    ``params``: the chosen params (an ensemble's: per member). ``studies``: per model tuned.
    """

    fold: int
    scores: dict[str, float]
    rows: int
    inner_score: float | None
    params: dict[str, Any]
    studies: dict[str, StudyResult] = field(default_factory=dict)
    weights: dict[str, float] | None = None
    seconds: float = 0.0
    rounds: int | None = None  # boosting rounds of the outer refit (one model)

    @property
    def study(self) -> StudyResult:
        """The one study of a single model's outer fold."""
        return next(iter(self.studies.values()))


def _score_held_out(
    model: TabularModel | EnsembleModel, full: TrainingData, planned: PlannedStudy
) -> tuple[dict[str, float], int]:
    held = planned.held_out
    assert held is not None
    predicted = predict_scores(model, full.X.iloc[held], full.problem.task)
    return fold_scores(full.problem, full.y[held], predicted), len(held)


def score_outer(
    tuner: Tuner, full: TrainingData, planned: PlannedStudy, fold: int, *, tune: bool = True
) -> OuterFold:
    """Run an outer study, refit its best params on the outer training part, score held-out rows.

    The refit is one fit on the whole outer training part; a boosting model trains the rounds
    the inner folds' early stopping found for the best trial (``StudyResult.best_rounds``), as
    the train stage's final fit trains the rounds of its folds. ``tune=False`` (a time budget
    too short to search): the configured settings, with the rounds of trial 0's inner-fold
    fits (:meth:`Tuner.inner_rounds`).
    """
    started = time.perf_counter()
    part = planned.data
    result = tuner.run(planned.name, part, planned.inner, planned.seed) if tune else None
    params = dict(result.best_params) if result is not None else {}
    rounds = result.best_rounds if result is not None else None
    if rounds is None:  # no study, or a study whose trials recorded no rounds
        rounds = tuner.inner_rounds(part, planned.inner, planned.seed, params)
    model = refit_outer(tuner, part, params, rounds, planned.seed)
    scores, rows = _score_held_out(model, full, planned)
    return OuterFold(
        fold,
        scores,
        rows,
        result.best_value if result is not None else None,
        params,
        {tuner.name: result} if result is not None else {},
        seconds=time.perf_counter() - started,
        rounds=rounds,
    )


def refit_outer(
    tuner: Tuner, part: TrainingData, params: dict[str, Any], rounds: int | None, seed: int
) -> TabularModel:
    """One fit of ``params`` on all of ``part``: exactly ``rounds`` boosting rounds if given."""
    present = np.unique(part.y) if part.problem.task != "regression" else np.empty(0)
    if len(present) == 1:
        label = class_label(present[0], part.problem.classes)
        raise FoldwiseError(
            f"an outer training part holds only the target class {label!r}; a classifier needs"
            " two (with data.time_column, the earliest block may hold one class: lower cv.folds)"
        )
    model = tuner.build(part, params, seed)
    model = model.with_iterations(rounds) if rounds is not None else clone(model)
    return model.fit(part.X, part.y)


def member_settings(tuner: Tuner, params: dict[str, Any]) -> dict[str, Any]:
    """A member's settings: ``model.<member>``, fixed search values and tuned params."""
    return {**tuner.config.model.settings(tuner.name), **tuner.fixed, **params}


def score_outer_ensemble(
    tuners: dict[str, Tuner], full: TrainingData, planned: PlannedStudy, fold: int, *, tune: bool
) -> OuterFold:
    """The whole ensemble procedure on an outer fold's training part, scored on its held rows.

    Each member is tuned on the inner folds (when ``tune``), cross-validated on the same inner
    folds, the weights are chosen on those inner out-of-fold predictions, the weighted members
    are fitted on the outer training part, and the held-out rows are scored once.
    """
    started = time.perf_counter()
    part = planned.data
    studies: dict[str, StudyResult] = {}
    params: dict[str, dict[str, Any]] = {}
    for name, tuner in tuners.items():
        if tune:
            studies[name] = tuner.run(planned.name, part, planned.inner, planned.seed)
        params[name] = dict(studies[name].best_params) if name in studies else {}
    settings = {n: member_settings(t, params[n]) for n, t in tuners.items()}
    config = next(iter(tuners.values())).config
    fit = fit_ensemble(part, planned.inner, config, settings)
    scores, rows = _score_held_out(fit.model, full, planned)
    return OuterFold(
        fold,
        scores,
        rows,
        fit.selection.score,
        params,
        studies,
        weights=fit.selection.weight_of(),
        seconds=time.perf_counter() - started,
    )
