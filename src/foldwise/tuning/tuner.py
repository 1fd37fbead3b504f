"""The study runner: each trial is scored by the mean of its inner folds, and nothing else.

:class:`Tuner` builds a trial's model, fits it on each inner fold's fitting part with early
stopping on that fold's validation part, and reports the fold scores to Optuna (which may
prune the trial). The outer fold the study is judged on, and the test table, are never
passed in. Samplers are reseeded per trial index, so a resumed study asks what an
uninterrupted one would have.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from foldwise.config import Config
from foldwise.errors import FoldwiseError
from foldwise.metrics import METRICS
from foldwise.models import TabularModel
from foldwise.models.registry import THREAD_SETTINGS
from foldwise.stage import usable_cores
from foldwise.training.crossval import fold_scores, predict_scores
from foldwise.training.data import TrainingData, derive_seed
from foldwise.training.fitting import fit_on_fold, model_for
from foldwise.tuning.space import (
    DEFAULTS_ATTR,
    default_trial,
    is_default_trial,
    suggest,
    trial_settings,
)
from foldwise.tuning.storage import ALIVE, FINISHED, StudyFullError, fail_orphans

_WARNING_FILTERS = threading.Lock()


@dataclass
class StudyResult:
    """The outcome of one study: best params, its inner score and rounds."""

    name: str
    best_params: dict[str, Any]
    best_value: float
    best_rounds: int | None
    n_complete: int
    n_pruned: int
    study: optuna.Study
    seconds: float


@dataclass
class Tuner:
    """Runs studies for one configuration; ``on_trial`` is told of every finished trial."""

    config: Config
    storage: BaseStorage
    key: str
    space: dict[str, Any]
    fixed: dict[str, Any]
    on_trial: Callable[[str, int, int], None] | None = None
    embedded: bool = True
    enqueue_defaults: bool = True
    model_name: str | None = None  # the model tuned (an ensemble member); None: model.name
    deadline: float | None = None  # time.monotonic() after which no trial starts (budget)
    # Threads per fit (1 with studies side by side); None: the model's own, or tune.n_jobs's share.
    threads: int | None = None
    # Set by whoever runs studies side by side: no new trial starts once another one failed.
    cancel: threading.Event | None = None

    @property
    def name(self) -> str:
        """The model this tuner searches."""
        return self.model_name or self.config.model.name

    def build(
        self, data: TrainingData, params: dict[str, Any], seed: int, *, trial: bool = False
    ) -> TabularModel:
        """The model of ``params``; ``trial`` adds ``tune.trial_settings`` (inner-fold fits)."""
        extra = trial_settings(self.config, self.name) if trial else {}
        settings = {**self.config.model.settings(self.name), **self.fixed, **extra, **params}
        threads = self.threads
        if threads is None and self.config.tune.n_jobs > 1:
            threads = max(1, usable_cores() // self.config.tune.n_jobs)
        key = THREAD_SETTINGS.get(self.name)
        if threads is not None and key is not None:
            settings.setdefault(key, threads)
        model = model_for(self.name, data, self.config, settings)
        return model.set_params(seed=seed)

    def _objective(
        self, data: TrainingData, folds: list, study_seed: int
    ) -> Callable[[optuna.Trial], float]:
        configured = default_trial(self.config, self.space, self.name)

        def objective(trial: optuna.Trial) -> float:
            # Trial 0 asks only for the configured keys: it is the configured model exactly.
            space = (
                {k: v for k, v in self.space.items() if k in configured}
                if is_default_trial(trial)
                else self.space
            )
            # Trial 0 keeps a configured value out of range. The lock: warning filters are
            # global, and studies may run side by side.
            with _WARNING_FILTERS, warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                params = suggest(trial, space)
            index = _trial_index(trial)
            trial.set_user_attr("index", index)
            trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
            seed = derive_seed(study_seed, index)
            scores: list[float] = []
            rounds: list[int] = []
            for j, fold in enumerate(folds):
                value, best_iteration = self.fit_fold(data, fold, params, seed)
                scores.append(value)
                if best_iteration is not None:
                    rounds.append(best_iteration)
                trial.report(value, step=j)
                if self.config.tune.pruning and j < len(folds) - 1 and trial.should_prune():
                    trial.set_user_attr("fold_scores", scores)
                    raise optuna.TrialPruned()
            trial.set_user_attr("fold_scores", scores)
            if rounds:
                trial.set_user_attr("rounds", mean_rounds(rounds))
            return float(np.mean(scores))

        return objective

    def fit_fold(
        self, data: TrainingData, fold: tuple, params: dict[str, Any], seed: int
    ) -> tuple[float, int | None]:
        """One trial fit on an inner fold: its score and the rounds early stopping chose.

        The fit receives the fold's fitting rows (and its validation rows for early stopping)
        and nothing else; it is then scored on those validation rows.
        """
        fit_idx, val_idx = fold
        X_val = data.X.iloc[val_idx]
        result = fit_on_fold(
            self.build(data, params, seed, trial=True),
            data.X.iloc[fit_idx],
            data.y[fit_idx],
            X_val,
            data.y[val_idx],
        )
        predicted = predict_scores(result.model, X_val, data.problem.task)
        value = fold_scores(data.problem, data.y[val_idx], predicted)[data.problem.metric]
        return value, result.best_iteration

    def inner_rounds(
        self, data: TrainingData, folds: list, study_seed: int, params: dict[str, Any]
    ) -> int | None:
        """The rounds ``params`` early-stop at on the inner folds, fitted as trial 0 is.

        For a configuration that ran no study (a time budget too short to tune): the same
        fits trial 0 would make (trial settings, trial 0's seed), their mean best round.
        None for a model without early stopping (nothing is fitted then).
        """
        if not self.build(data, params, study_seed).supports_early_stopping:
            return None
        seed = derive_seed(study_seed, 0)
        found = [self.fit_fold(data, fold, params, seed)[1] for fold in folds]
        return mean_rounds([r for r in found if r is not None]) if any(found) else None

    def run(self, name: str, data: TrainingData, folds: list, study_seed: int) -> StudyResult:
        """Run (or resume) study ``name`` until it holds ``tune.n_trials`` finished trials."""
        started = time.perf_counter()
        metric = METRICS[data.problem.metric]
        full_name = f"{name}-{self.key}"
        pruner = (
            # Prune a trial whose fold score falls in the bottom quarter of the finished
            # trials' scores on that same fold: clearly worse, compared fold by fold.
            optuna.pruners.PercentilePruner(75.0, n_startup_trials=5, n_warmup_steps=0)
            if self.config.tune.pruning
            else optuna.pruners.NopPruner()
        )
        study = optuna.create_study(
            study_name=full_name,
            storage=self.storage,
            direction="maximize" if metric.greater_is_better else "minimize",
            load_if_exists=True,
            pruner=pruner,
            sampler=optuna.samplers.TPESampler(seed=study_seed),
        )
        if self.embedded:
            fail_orphans(self.storage, full_name)
        objective = self._objective(data, folds, study_seed)
        target = self.config.tune.n_trials
        deadline = _deadline(self.config.tune.timeout_s, self.deadline)
        while True:
            trials = study.get_trials(deepcopy=False)
            alive = [t for t in trials if t.state in ALIVE]
            finished = sum(1 for t in trials if t.state in FINISHED)
            late = deadline is not None and finished >= 1 and time.monotonic() > deadline
            if finished >= target or late:
                break
            if self.cancel is not None and self.cancel.is_set():
                raise StudyCancelledError(f"tune: study {name!r} stopped: another study failed")
            if len(alive) >= target:
                if self.embedded:
                    break
                # Other workers run the last trials: wait for them, so the result counts
                # them. A dead worker's trial is failed once its heartbeat is older than the
                # grace period, and then run again by this loop.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    optuna.storages.fail_stale_trials(study)
                if self.on_trial is not None:
                    self.on_trial(name, finished, target)
                time.sleep(1.0)
                continue
            index = sum(1 for t in trials if t.state != TrialState.FAIL)
            if self.enqueue_defaults and index == 0:
                # A configured value outside the range.
                with _WARNING_FILTERS, warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    study.enqueue_trial(
                        default_trial(self.config, self.space, self.name),
                        user_attrs={DEFAULTS_ATTR: True},
                    )
            # Reseeding per trial index makes a resumed study ask what an uninterrupted one
            # would have: the sampler sees the same finished history and the same seed.
            seed = (
                derive_seed(study_seed, index)
                if self.embedded
                else derive_seed(study_seed, index, os.getpid(), _host_number())
            )
            study.sampler = optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=startup_trials(target)
            )
            jobs = min(self.config.tune.n_jobs, target - len(alive))
            # StudyFullError: another worker started the last trial first; count again.
            with contextlib.suppress(StudyFullError):
                study.optimize(objective, n_trials=jobs, n_jobs=jobs, catch=())
            if self.on_trial is not None:
                done = sum(1 for t in study.get_trials(deepcopy=False) if t.state in FINISHED)
                self.on_trial(name, done, target)
        if self.on_trial is not None:  # a resumed, already full study still shows as done
            done = sum(1 for t in study.get_trials(deepcopy=False) if t.state in FINISHED)
            self.on_trial(name, done, target)
        return _result(name, study, time.perf_counter() - started)


class StudyCancelledError(FoldwiseError):
    """A study stopped before its next trial because a study beside it failed."""


def _deadline(timeout_s: float | None, deadline: float | None) -> float | None:
    """The earlier of ``tune.timeout_s`` from now and a time budget's deadline."""
    ends = (deadline, None if timeout_s is None else time.monotonic() + timeout_s)
    known = [t for t in ends if t is not None]
    return min(known) if known else None


def mean_rounds(rounds: list[int]) -> int:
    """The boosting rounds a refit trains: the mean of the folds' best rounds (at least 1)."""
    return max(1, round(float(np.mean(rounds))))


def startup_trials(n_trials: int) -> int:
    """Random trials (after trial 0, the defaults) before TPE models the finished ones.

    Half the budget, 3 to 10: with a dozen trials TPE's own default (10) would leave it
    almost no trial to exploit what the random ones found.
    """
    return max(3, min(10, n_trials // 2))


def _host_number() -> int:
    return int(hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8], 16)


def _trial_index(trial: optuna.Trial) -> int:
    """The trial's place among the study's non-failed trials (stable across a resume)."""
    frozen = trial.study.get_trials(deepcopy=False)
    return sum(1 for t in frozen if t.number < trial.number and t.state != TrialState.FAIL)


def _result(name: str, study: optuna.Study, seconds: float) -> StudyResult:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise FoldwiseError(
            f"tune: study {name!r} finished no trial (tune.timeout_s too short, or every trial "
            "was pruned or failed)"
        )
    best = study.best_trial
    assert best.value is not None  # a complete trial has a value
    pruned = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
    return StudyResult(
        name=name,
        best_params=dict(best.params),
        best_value=float(study.best_value),
        best_rounds=best.user_attrs.get("rounds"),
        n_complete=len(complete),
        n_pruned=len(pruned),
        study=study,
        seconds=seconds,
    )
