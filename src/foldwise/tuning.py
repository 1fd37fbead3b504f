"""Honest tuning: Optuna searches on inner folds only; an outer loop estimates the procedure.

Every trial is scored by the mean of its inner folds; the outer fold it will be judged on,
and the test table, are never passed in. Each study lives in storage (an embedded journal
file by default, or a shared database), so a killed run resumes without losing finished
trials and several workers can share one study.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import sqlalchemy
import sqlalchemy.exc
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages._rdb import models as rdb_models
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from scipy import stats

from foldwise.config import ChoiceSpec, Config, RangeSpec
from foldwise.cv import folds_fingerprint, make_folds
from foldwise.errors import FoldwiseError
from foldwise.metrics import METRICS
from foldwise.models import TabularModel
from foldwise.training import (
    TrainingData,
    derive_seed,
    fit_on_fold,
    fit_with_early_stopping,
    fold_scores,
    model_for,
    predict_scores,
)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
ALIVE = (*FINISHED, TrialState.RUNNING, TrialState.WAITING)

# Default search spaces. Boosting rounds are not searched: early stopping learns them.
SEARCH_SPACES: dict[str, dict[str, RangeSpec | ChoiceSpec]] = {
    "catboost": {
        # Below ~0.05 fits need many more rounds (time grows as 1/lr) for little gain with
        # early stopping; each extra level of depth doubles a round's cost, and 5k-30k-row
        # tables rarely want 256 leaves. Wider ranges: tune.search_space.
        "learning_rate": RangeSpec(low=0.05, high=0.3, log=True),
        "depth": RangeSpec(low=4, high=7, type="int"),
        "l2_leaf_reg": RangeSpec(low=1.0, high=30.0, log=True),
        "random_strength": RangeSpec(low=0.1, high=10.0, log=True),
        "bagging_temperature": RangeSpec(low=0.0, high=1.0),
    },
    "hist_gradient_boosting": {
        "learning_rate": RangeSpec(low=0.02, high=0.3, log=True),
        "max_leaf_nodes": RangeSpec(low=8, high=64, log=True, type="int"),
        "min_samples_leaf": RangeSpec(low=5, high=100, log=True, type="int"),
        "l2_regularization": RangeSpec(low=1e-4, high=10.0, log=True),
    },
    "random_forest": {
        "min_samples_leaf": RangeSpec(low=1, high=20, log=True, type="int"),
        "max_features": RangeSpec(low=0.2, high=1.0),
        "max_depth": RangeSpec(low=4, high=24, type="int"),
    },
    "logistic_regression": {"C": RangeSpec(low=1e-3, high=100.0, log=True)},
    "dummy": {},
}
# The linear model's regression twin (ridge) is tuned on alpha instead of C.
RIDGE_SPACE: dict[str, RangeSpec | ChoiceSpec] = {
    "alpha": RangeSpec(low=1e-3, high=100.0, log=True)
}
# Defaults of the estimators for keys params.yaml does not set, so trial 0 is "the defaults".
ESTIMATOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "catboost": {
        "learning_rate": 0.05,
        "depth": 6,
        "l2_leaf_reg": 3.0,
        "random_strength": 1.0,
        "bagging_temperature": 1.0,
    },
    "hist_gradient_boosting": {
        "learning_rate": 0.05,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 1e-4,
    },
    "random_forest": {"min_samples_leaf": 2, "max_features": 1.0, "max_depth": 24},
    "logistic_regression": {"C": 1.0, "alpha": 1.0},
    "dummy": {},
}


def search_space(config: Config, task: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The searched dimensions and the fixed values for the chosen model, with overrides."""
    name = config.model.name
    base = RIDGE_SPACE if name == "logistic_regression" and task == "regression" else None
    space: dict[str, Any] = dict(base if base is not None else SEARCH_SPACES[name])
    fixed: dict[str, Any] = {}
    for key, spec in config.tune.search_space.items():
        if isinstance(spec, RangeSpec | ChoiceSpec):
            space[key] = spec
        else:
            space.pop(key, None)
            fixed[key] = spec
    return space, fixed


def trial_settings(config: Config) -> dict[str, Any]:
    """``tune.trial_settings`` of the chosen model: added for the inner-fold trial fits only."""
    return dict(config.tune.trial_settings.get(config.model.name, {}))


def check_trial_settings(config: Config, data: TrainingData) -> None:
    """Refuse ``tune.trial_settings`` the chosen model does not know, naming the key."""
    name = config.model.name
    extra = trial_settings(config)
    if not extra:
        return
    try:
        model_for(name, data, config, extra)
    except FoldwiseError as exc:
        text = str(exc).replace(f"model.{name}.", f"tune.trial_settings.{name}.", 1)
        raise FoldwiseError(text) from None


def default_trial(config: Config, space: dict[str, Any]) -> dict[str, Any]:
    """Trial 0: the model's settings from params.yaml (else the estimator's), clipped into range."""
    name = config.model.name
    settings = {**ESTIMATOR_DEFAULTS[name], **config.model.settings()}
    params: dict[str, Any] = {}
    for key, spec in space.items():
        value = settings.get(key)
        if isinstance(spec, ChoiceSpec):
            params[key] = value if value in spec.choices else spec.choices[0]
            continue
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            value = math.sqrt(spec.low * spec.high) if spec.log else (spec.low + spec.high) / 2
        value = min(max(float(value), spec.low), spec.high)
        params[key] = round(value) if spec.type == "int" else value
    return params


def suggest(trial: optuna.Trial, space: dict[str, Any]) -> dict[str, Any]:
    """Ask the trial for one value per dimension of the space."""
    params: dict[str, Any] = {}
    for key, spec in space.items():
        if isinstance(spec, ChoiceSpec):
            params[key] = trial.suggest_categorical(key, spec.choices)
        elif spec.type == "int":
            params[key] = trial.suggest_int(key, int(spec.low), int(spec.high), log=spec.log)
        else:
            params[key] = trial.suggest_float(key, spec.low, spec.high, log=spec.log)
    return params


class StudyFullError(Exception):
    """A study already holds its trials: another worker started the last one first."""


class CappedRDBStorage(RDBStorage):
    """An RDBStorage that never gives a study more than ``cap`` live or finished trials.

    Optuna inserts a trial while holding a lock on its study's row, so this count and the
    insert are one atomic step across processes: two workers can never both start the last
    trial. A trial of a dead worker, failed by the heartbeat, no longer counts.
    """

    def __init__(self, url: str, cap: int, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.cap = cap

    def _get_prepared_new_trial(
        self, study_id: int, template_trial: Any, session: Any
    ) -> rdb_models.TrialModel:
        table = rdb_models.TrialModel
        live = (
            session.query(sqlalchemy.func.count(table.trial_id))
            .filter(table.study_id == study_id, table.state.in_(ALIVE))
            .scalar()
        )
        if live >= self.cap:
            raise StudyFullError(f"study {study_id} already holds {live} trial(s)")
        return super()._get_prepared_new_trial(study_id, template_trial, session)


def check_journal(journal: Path) -> None:
    """Drop a record cut off by a kill mid-write; refuse a journal damaged elsewhere.

    Optuna appends one JSON record per line. A run killed while writing leaves a last line
    without its newline: that record never completed, so it is removed (Optuna would append
    the next record to it and then fail on every read). Any other unreadable line is an error.
    """
    if not journal.is_file():
        return
    data = journal.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        with journal.open("r+b") as fh:
            fh.truncate(len(data))
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            json.loads(line)
        except ValueError:
            raise FoldwiseError(
                f"{journal}: line {number} is damaged, so the tuning studies cannot be resumed; "
                "delete the file to start them afresh (or `dvc checkout` to restore it)"
            ) from None


def open_storage(config: Config, journal: Path) -> BaseStorage:
    """The study storage: a journal file by default, or the database in ``tune.storage``."""
    url = config.tune.storage
    if url is None:
        journal.parent.mkdir(parents=True, exist_ok=True)
        # The embedded journal has one writer, the stage (see _fail_orphans): a lock file
        # found now was left by a run killed mid-write, and Optuna would stall 30 s on it.
        Path(f"{journal}.lock").unlink(missing_ok=True)
        check_journal(journal)
        return JournalStorage(JournalFileBackend(str(journal)))
    # The driver foldwise installs; SQLAlchemy 2.1 would pick psycopg 3 for postgresql://.
    engine_url = (
        "postgresql+psycopg2://" + url.removeprefix("postgresql://")
        if url.startswith("postgresql://")
        else url
    )
    attempts = 5
    for attempt in range(1, attempts + 1):
        try:
            # A heartbeat lets other workers see that a trial's worker died and fail it.
            return CappedRDBStorage(
                engine_url, config.tune.n_trials, heartbeat_interval=30, grace_period=120
            )
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as exc:
            # Workers starting together on an empty database all create Optuna's tables;
            # the losers of that race find the tables made when they try again.
            error: Exception = exc
            if attempt < attempts:
                time.sleep(0.5 * attempt)
                continue
        except Exception as exc:  # any driver error: the user's URL or server
            error = exc
        break
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    raise FoldwiseError(f"tune.storage: cannot open {_redact(url)}: {first}") from None


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def study_key(config: Config, data: TrainingData, fingerprint: str, space: dict) -> str:
    """A hash of everything that defines a study, so a changed setup never resumes an old one."""
    payload = {
        "seed": config.seed,
        "model": config.model.name,
        "settings": config.model.settings(),
        "trial_settings": trial_settings(config),
        "space": {k: v.model_dump() if hasattr(v, "model_dump") else v for k, v in space.items()},
        "fixed": {k: v for k, v in config.tune.search_space.items() if not hasattr(v, "low")},
        "metric": data.problem.metric,
        "folds": fingerprint,
        "train": config.train.model_dump(),
        "pruning": config.tune.pruning,
        # The budget shapes the search (TPE starts after half of it) and the best of a study
        # with more trials is not the best of fewer: a run's result depends on its own params
        # only, so another budget is another study.
        "n_trials": config.tune.n_trials,
        "rows": len(data.y),
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _subset(data: TrainingData, idx: np.ndarray) -> TrainingData:
    return TrainingData(
        frame=data.frame.iloc[idx].reset_index(drop=True),
        X=data.X.iloc[idx].reset_index(drop=True),
        y=data.y[idx],
        problem=data.problem,
        features=data.features,
    )


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

    def build(
        self, data: TrainingData, params: dict[str, Any], seed: int, *, trial: bool = False
    ) -> TabularModel:
        """The model of ``params``; ``trial`` adds ``tune.trial_settings`` (inner-fold fits)."""
        extra = trial_settings(self.config) if trial else {}
        settings = {**self.config.model.settings(), **self.fixed, **extra, **params}
        if self.config.model.name == "catboost" and self.config.tune.n_jobs > 1:
            settings.setdefault(
                "thread_count", max(1, (os.cpu_count() or 2) // self.config.tune.n_jobs)
            )
        model = model_for(self.config.model.name, data, self.config, settings)
        return model.set_params(seed=seed)

    def _objective(
        self, data: TrainingData, folds: list, study_seed: int
    ) -> Callable[[optuna.Trial], float]:
        metric = METRICS[data.problem.metric]
        task = data.problem.task

        def objective(trial: optuna.Trial) -> float:
            params = suggest(trial, self.space)
            index = _trial_index(trial)
            trial.set_user_attr("index", index)
            trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
            seed = derive_seed(study_seed, index)
            scores: list[float] = []
            rounds: list[int] = []
            for j, (fit_idx, val_idx) in enumerate(folds):
                X_val = data.X.iloc[val_idx]
                result = fit_on_fold(
                    self.build(data, params, seed, trial=True),
                    data.X.iloc[fit_idx],
                    data.y[fit_idx],
                    X_val,
                    data.y[val_idx],
                )
                predicted = predict_scores(result.model, X_val, task)
                value = fold_scores(data.problem, data.y[val_idx], predicted)[metric.name]
                scores.append(value)
                if result.best_iteration is not None:
                    rounds.append(result.best_iteration)
                trial.report(value, step=j)
                if self.config.tune.pruning and j < len(folds) - 1 and trial.should_prune():
                    trial.set_user_attr("fold_scores", scores)
                    raise optuna.TrialPruned()
            trial.set_user_attr("fold_scores", scores)
            if rounds:
                trial.set_user_attr("rounds", round(float(np.mean(rounds))))
            return float(np.mean(scores))

        return objective

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
            _fail_orphans(self.storage, full_name)
        objective = self._objective(data, folds, study_seed)
        target = self.config.tune.n_trials
        deadline = (
            None
            if self.config.tune.timeout_s is None
            else time.monotonic() + self.config.tune.timeout_s
        )
        while True:
            trials = study.get_trials(deepcopy=False)
            alive = [t for t in trials if t.state in ALIVE]
            finished = sum(1 for t in trials if t.state in FINISHED)
            if finished >= target or (deadline is not None and time.monotonic() > deadline):
                break
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
                study.enqueue_trial(default_trial(self.config, self.space))
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


def _fail_orphans(storage: BaseStorage, study_name: str) -> None:
    """With one embedded worker, a trial still RUNNING at start was cut off by a kill."""
    study_id = storage.get_study_id_from_name(study_name)
    for t in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        storage.set_trial_state_values(trial_id, TrialState.FAIL)


def _result(name: str, study: optuna.Study, seconds: float) -> StudyResult:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise FoldwiseError(
            f"tune: study {name!r} finished no trial (tune.timeout_s too short, or every trial "
            "was pruned or failed)"
        )
    best = study.best_trial
    pruned = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
    return StudyResult(
        name=name,
        best_params=dict(best.params),
        best_value=float(best.value),
        best_rounds=best.user_attrs.get("rounds"),
        n_complete=len(complete),
        n_pruned=len(pruned),
        study=study,
        seconds=seconds,
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
    )
    held = planned.held_out
    predicted = predict_scores(fitted.model, full.X.iloc[held], part.problem.task)
    scores = fold_scores(part.problem, full.y[held], predicted)
    return OuterFold(fold, result, scores, len(held))


def nested_summary(outer: list[OuterFold], metric: str, space: dict[str, Any]) -> dict[str, Any]:
    """Outer scores with mean, std and a t interval, the optimism gap and parameter stability."""
    greater = METRICS[metric].greater_is_better
    values = np.array([o.scores[metric] for o in outer], dtype=float)
    inner = np.array([o.study.best_value for o in outer], dtype=float)
    k = len(values)
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if k > 1 else 0.0
    half = float(stats.t.ppf(0.975, k - 1) * std / math.sqrt(k)) if k > 1 else 0.0
    # Positive gap = the inner (tuning) score flattered the procedure.
    gap = (inner - values) if greater else (values - inner)
    return {
        "metric": metric,
        "greater_is_better": greater,
        "outer_scores": values.tolist(),
        "mean": mean,
        "std": std,
        "ci95_low": mean - half,
        "ci95_high": mean + half,
        "inner_best_scores": inner.tolist(),
        "optimism_gap_mean": float(gap.mean()),
        "optimism_gap_per_fold": gap.tolist(),
        "outer_fold_metrics": [o.scores for o in outer],
        "best_params_per_fold": [o.study.best_params for o in outer],
        "param_stability": param_stability([o.study.best_params for o in outer], space),
        "trials_per_fold": [
            {"complete": o.study.n_complete, "pruned": o.study.n_pruned} for o in outer
        ],
    }


def param_stability(chosen: list[dict[str, Any]], space: dict[str, Any]) -> dict[str, Any]:
    """How much each chosen hyperparameter moves across outer folds (relative to its range)."""
    out: dict[str, Any] = {}
    for key, spec in space.items():
        values = [c[key] for c in chosen if key in c]
        if not values:
            continue
        if isinstance(spec, ChoiceSpec):
            top = max(set(map(str, values)), key=lambda v: [str(x) for x in values].count(v))
            share = [str(x) for x in values].count(top) / len(values)
            out[key] = {"values": values, "mode": top, "mode_share": share}
            continue
        arr = np.array(values, dtype=float)
        scaled = np.log(arr) if spec.log else arr
        lo, hi = (math.log(spec.low), math.log(spec.high)) if spec.log else (spec.low, spec.high)
        spread = float(np.std(scaled, ddof=1) / (hi - lo)) if len(arr) > 1 else 0.0
        out[key] = {
            "values": values,
            "median": float(np.median(arr)),
            "spread_of_range": spread,
            "stable": spread < 0.15,
        }
    return out


def trials_table(study: optuna.Study) -> list[dict[str, Any]]:
    """One row per trial of a study, for the report."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        rows.append(
            {
                "number": t.number,
                "index": t.user_attrs.get("index"),
                "state": t.state.name,
                "value": t.value,
                "rounds": t.user_attrs.get("rounds"),
                **{f"param_{k}": v for k, v in t.params.items()},
            }
        )
    return rows


def importances(study: optuna.Study) -> dict[str, float] | None:
    """fANOVA parameter importances of a study, or None when there is too little to tell."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 3 or not complete[0].params:
        return None
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        found = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError):
        return None
    return {k: float(v) for k, v in found.items()}
