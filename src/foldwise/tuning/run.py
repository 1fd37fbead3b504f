"""The tune stage's work: the plan, the outer loop and the final studies, for one model or an
ensemble, and the reports they make.

One model: one study per outer fold (scored by refitting its best params on the outer
training part) and a final study. An ensemble: per outer fold, each member's study on the
inner folds, then the whole ensemble procedure (members' inner out-of-fold predictions,
weights, members fitted on the outer training part) scored once on the held-out rows; and a
final study per member, whose params the train stage uses. With ``time_budget_s`` the plan
(:mod:`foldwise.tuning.budget`) may run fewer trials, no studies, fewer members or no outer
loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from foldwise.config import Config
from foldwise.cv import folds_fingerprint
from foldwise.models.registry import THREAD_SETTINGS
from foldwise.stage import startup_seconds, usable_cores
from foldwise.training.data import TrainingData
from foldwise.tuning.budget import (
    BudgetPlan,
    plan_budget,
    unlimited_plan,
)
from foldwise.tuning.nested import (
    OuterFold,
    PlannedStudy,
    make_tuner,
    plan_studies,
    score_outer,
    score_outer_ensemble,
)
from foldwise.tuning.probe import probe_models
from foldwise.tuning.tuner import StudyResult, Tuner


@dataclass(frozen=True)
class TuningOutcome:
    """What a tune stage run found."""

    plan: BudgetPlan
    tuners: dict[str, Tuner]
    outer: list[OuterFold]
    final: dict[str, StudyResult]  # the final study per model (empty without tuning)
    seconds: dict[str, float]


@dataclass(frozen=True)
class TuneResult:
    """A tune stage run: what its studies found and what its reports need to say about it.

    ``outcome``: the plan, the outer folds and the final studies; the other fields are the
    run's facts the reports name (no params.yaml is needed to write them).
    """

    outcome: TuningOutcome
    model: str  # model.name ("ensemble" for an ensemble)
    metric: str
    greater_is_better: bool
    n_trials: int  # tune.n_trials
    folds_fingerprint: str  # the outer folds the estimate was made on

    @property
    def seconds(self) -> dict[str, float]:
        """Seconds per outer fold and final study (the stage's timing parts)."""
        return dict(self.outcome.seconds)


def tune(
    config: Config,
    data: TrainingData,
    folds: list,
    journal: Path,
    *,
    progress: bool = False,
    plan: BudgetPlan | None = None,
) -> TuneResult:
    """Tune ``model.name`` (or each ensemble member) as the plan allows; nested when asked.

    ``folds``: the run's outer folds; ``journal``: the embedded study storage (unless
    ``tune.storage`` names a database). ``progress`` prints the plan and a trial bar.
    """
    plan = plan or make_plan(config, data)
    if not progress:
        outcome = run_tuning(config, data, folds, journal, None, plan)
    else:
        for line in plan.describe():
            print(f"tune {line}", flush=True)
        workers = study_workers(config, plan, len(plan.studies))
        if workers > 1:
            print(f"tune   studies: {workers} at a time, one per core", flush=True)
        outcome = _with_progress_bar(config, data, folds, journal, plan)
    return TuneResult(
        outcome=outcome,
        model=config.model.name,
        metric=data.problem.metric,
        greater_is_better=data.problem.greater_is_better,
        n_trials=config.tune.n_trials,
        folds_fingerprint=folds_fingerprint(folds),
    )


def _with_progress_bar(
    config: Config, data: TrainingData, folds: list, journal: Path, plan: BudgetPlan
) -> TuningOutcome:
    """:func:`run_tuning` with a bar of finished trials over all studies."""
    total = len(plan.studies) * config.tune.n_trials if plan.tune else 0
    bar = tqdm(total=total, desc="tune", unit="trial")
    progress: dict[str, int] = {}

    def on_trial(name: str, done: int, target: int) -> None:
        progress[name] = min(done, target)
        bar.n = sum(progress.values())
        bar.refresh()

    try:
        outcome = run_tuning(config, data, folds, journal, on_trial, plan)
    except BaseException:
        bar.leave = False  # clear the bar, so the error stands on a line of its own
        bar.close()
        raise
    bar.close()
    return outcome


def make_plan(config: Config, data: TrainingData) -> BudgetPlan:
    """The plan: everything params.yaml asks, or what ``time_budget_s`` allows."""
    if config.time_budget_s is None:
        return unlimited_plan(config)
    start_up = startup_seconds()
    probes = probe_models(data, config, config.model.members)
    return plan_budget(config, len(data.y), probes, startup_seconds(), start_up)


def _outer(
    plan: BudgetPlan, tuners: dict[str, Tuner], data: TrainingData, planned: list[PlannedStudy]
) -> tuple[list[OuterFold], dict[str, float]]:
    outer, seconds = [], {}
    ensemble = next(iter(tuners.values())).config.model.name == "ensemble"
    for i, study in enumerate(planned):
        for name, tuner in tuners.items():
            tuner.deadline = plan.deadline(study.name, name)
        if ensemble:
            fold = score_outer_ensemble(tuners, data, study, i, tune=plan.tune)
        else:
            (tuner,) = tuners.values()
            fold = score_outer(tuner, data, study, i, tune=plan.tune)
        outer.append(fold)
        seconds[study.name] = fold.seconds
    return outer, seconds


def run_tuning(
    config: Config,
    data: TrainingData,
    folds: list,
    journal: Path,
    on_trial: Callable[[str, int, int], None] | None = None,
    plan: BudgetPlan | None = None,
    workers: int | None = None,
) -> TuningOutcome:
    """The plan's outer loop (when nested) and final studies.

    ``workers``: studies run side by side (default: :func:`study_workers`), each fit on one
    thread; the results are those of the same studies one at a time with one-thread fits.
    """
    plan = plan or make_plan(config, data)
    planned = plan_studies(config, data, folds, nested=plan.nested)
    workers = study_workers(config, plan, len(planned)) if workers is None else workers
    threads = 1 if workers > 1 else None
    tuners = {
        m: make_tuner(config, data, folds, journal, worker=False, name=m, threads=threads)
        for m in plan.members
    }
    for name, tuner in tuners.items():
        if on_trial is not None:
            tuner.on_trial = _named(on_trial, name)
    if workers > 1:
        return _side_by_side(plan, tuners, data, planned, workers)
    outer, seconds = _outer(plan, tuners, data, planned[:-1])
    # The fixed work measured in the outer loop tells how fast this machine is now.
    fixed = sum(o.seconds - sum(s.seconds for s in o.studies.values()) for o in outer)
    slowdown = plan.slowdown(fixed)
    last = planned[-1]
    final: dict[str, StudyResult] = {}
    if plan.tune:
        for name, tuner in tuners.items():
            tuner.deadline = plan.deadline(last.name, name, slowdown)
            final[name] = tuner.run(last.name, last.data, last.inner, last.seed)
            seconds[f"{last.name} {name}" if len(tuners) > 1 else last.name] = final[name].seconds
    return TuningOutcome(plan, tuners, outer, final, seconds)


def study_workers(config: Config, plan: BudgetPlan, studies: int) -> int:
    """How many studies run side by side: one per usable core, or 1.

    Only without a time budget (its deadlines are planned one study after another), with the
    embedded storage and ``tune.n_jobs`` 1 (the stage is the only worker), for one model whose
    fits can be capped to one thread each (``THREAD_SETTINGS``). On two cores two studies of
    one-thread fits finish sooner than one study of two-thread fits: measured 1.38x on the
    demo's inner-fold fits (docs/scaling.md). Every fit then has one thread on any machine
    with two cores or more, so the results no longer depend on its number of cores.
    """
    model = plan.members[0] if len(plan.members) == 1 else None
    alone = (
        plan.budget_s is not None
        or config.tune.storage is not None
        or config.tune.n_jobs > 1
        or config.model.name == "ensemble"
        or model not in THREAD_SETTINGS
    )
    return 1 if alone else max(1, min(usable_cores(), studies))


def _side_by_side(
    plan: BudgetPlan,
    tuners: dict[str, Tuner],
    data: TrainingData,
    planned: list[PlannedStudy],
    workers: int,
) -> TuningOutcome:
    """The outer studies and the final one on ``workers`` threads, each fit on one thread.

    The final study (the most rows) starts first. The first failure, in study order, is
    raised once the other studies have stopped before their next trial.
    """
    (tuner,) = tuners.values()
    tuner.cancel = threading.Event()
    last = planned[-1]
    with ThreadPoolExecutor(workers, thread_name_prefix="study") as pool:
        final = pool.submit(tuner.run, last.name, last.data, last.inner, last.seed)
        outer = [
            pool.submit(score_outer, tuner, data, study, i, tune=plan.tune)
            for i, study in enumerate(planned[:-1])
        ]
        try:
            folds = [future.result() for future in outer]
            result = final.result()
        except BaseException:
            tuner.cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    seconds = {
        fold_study.name: fold.seconds for fold_study, fold in zip(planned[:-1], folds, strict=True)
    }
    seconds[last.name] = result.seconds
    return TuningOutcome(plan, tuners, folds, {tuner.name: result}, seconds)


def _named(
    on_trial: Callable[[str, int, int], None], model: str
) -> Callable[[str, int, int], None]:
    """Report a study's progress under ``study/model`` (an ensemble's members share names)."""
    return lambda study, done, target: on_trial(f"{study}/{model}", done, target)


def best_params(outcome: TuningOutcome, model: str, metric: str) -> dict[str, Any]:
    """``models/best_params.json``: what the train stage fits (reproducible: no timings, but
    for the seconds a time budget leaves the train stage).

    ``model``: ``model.name``.
    """
    plan = outcome.plan
    params = {
        name: {**tuner.fixed, **(outcome.final[name].best_params if name in outcome.final else {})}
        for name, tuner in outcome.tuners.items()
    }
    best: dict[str, Any] = {"model": model, "metric": metric}
    if model == "ensemble":
        best["params"] = {}
        best["members"] = params
        best["inner_scores"] = {n: r.best_value for n, r in outcome.final.items()}
    else:
        (name,) = outcome.tuners
        result = outcome.final.get(name)
        best["params"] = params[name]
        best["inner_score"] = result.best_value if result else None
        best["rounds"] = result.best_rounds if result else None
        best["study"] = result.study.study_name if result else None
    if plan.budget_s is not None:
        best["budget"] = {
            "time_budget_s": plan.budget_s,
            "members": list(plan.members),
            "tuned": plan.tune,
            "nested": plan.nested,
            "cuts": [c.split(":")[0] for c in plan.cuts],
            # What is left for the train stage, which stops its boosting fits to keep to it
            # (the one timing in this file: a budgeted run is not reproducible anyway).
            "train_s": round(max(0.0, plan.budget_s - startup_seconds()), 1),
        }
    return best


def budget_report(outcome: TuningOutcome) -> dict[str, Any] | None:
    """What the budget bought (tune.json): the plan, trials finished, seconds spent."""
    plan = outcome.plan
    if plan.budget_s is None:
        return None
    trials: dict[str, dict[str, int]] = {}
    for fold in outcome.outer:
        for name, study in fold.studies.items():
            trials.setdefault(name, {})[f"outer{fold.fold}"] = study.n_complete
    for name, study in outcome.final.items():
        trials.setdefault(name, {})["final"] = study.n_complete
    return {
        **plan.report(),
        "trials_finished": trials,
        "tune_stage_s": round(startup_seconds(), 1),  # this process so far, imports included
    }
