"""Honest tuning, by behaviour: no fold leaks, defaults first, pruning, reproducible resume."""

from __future__ import annotations

import json
import math
import os
import runpy
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from threadpoolctl import threadpool_limits

from foldwise.config import parse_config
from foldwise.errors import FoldwiseError
from foldwise.model_settings import load_config
from foldwise.models import TabularModel
from foldwise.paths import ProjectPaths
from foldwise.prepare import Prepared
from foldwise.training.data import TrainingData, folds_for, training_data
from foldwise.tuning import (
    FINISHED,
    OuterFold,
    check_trial_settings,
    default_trial,
    make_tuner,
    nested_summary,
    plan_studies,
    score_outer,
    search_space,
)
from tests.conftest import ROOT
from tests.support.projects import write_marked_project

TUNE_SCRIPT = ROOT / "stages" / "tune.py"
# Small settings keep every fit well under a second; one thread, as the machine is shared.
FAST_HGB = {"max_iter": 40, "learning_rate": 0.1}
FAST_CATBOOST = {"iterations": 60, "learning_rate": 0.1, "depth": 4, "thread_count": 1}
ONE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny fits: thread start-up and contention cost more than they save."""
    with threadpool_limits(limits=1):
        yield


# ----------------------------------------------------------------------------- helpers


def make_params(name: str = "hist_gradient_boosting", **sections: dict) -> dict:
    """A small params.yaml mapping for the marked table; ``sections`` update its sections."""
    settings = FAST_HGB if name == "hist_gradient_boosting" else FAST_CATBOOST
    params: dict[str, Any] = {
        "seed": 11,
        "data": {"source": "data/raw/table.csv", "target": "label", "id_columns": ["row_id"]},
        "problem": {"positive_label": "Yes"},
        "cv": {"folds": 3, "inner_folds": 2},
        "train": {"early_stopping_rounds": 10},
        "model": {"name": name, name: dict(settings)},
        "tune": {"n_trials": 4},
    }
    for section, values in sections.items():
        params.setdefault(section, {}).update(values)
    return params


def write_project(root: Path, params: dict, n: int = 240) -> Prepared:
    """A project folder holding the prepared tables of a binary table with ``marker``."""
    return write_marked_project(root, params, n=n)[1]


def markers(frame: pd.DataFrame) -> set[float]:
    return set(frame["marker"].astype(float))


@dataclass
class Recorder:
    """The markers of every fit (X and X_val together) and of every prediction, in order."""

    fits: list[set[float]] = field(default_factory=list)
    predictions: list[set[float]] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        fit, predict_proba = TabularModel.fit, TabularModel.predict_proba

        def recording_fit(model, X, y, *, X_val=None, y_val=None):
            seen = markers(X) | (markers(X_val) if X_val is not None else set())
            self.fits.append(seen)
            return fit(model, X, y, X_val=X_val, y_val=y_val)

        def recording_predict_proba(model, X):
            self.predictions.append(markers(X))
            return predict_proba(model, X)

        monkeypatch.setattr(TabularModel, "fit", recording_fit)
        monkeypatch.setattr(TabularModel, "predict_proba", recording_predict_proba)


def journal_trials(path: Path) -> dict[str, list]:
    """Every trial of every study in a journal file, read as another process would."""
    storage = JournalStorage(JournalFileBackend(str(path)))
    out = {}
    for study in storage.get_all_studies():
        study_id = storage.get_study_id_from_name(study.study_name)
        out[study.study_name] = storage.get_all_trials(study_id, deepcopy=False)
    return out


def by_index(trials: list) -> dict[int, tuple]:
    """The finished trials of a study keyed by their index, as (state, params, value, scores)."""
    return {
        t.user_attrs["index"]: (t.state, t.params, t.value, t.user_attrs.get("fold_scores"))
        for t in trials
        if t.state in FINISHED
    }


def run_tune_script(root: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, str(TUNE_SCRIPT)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **ONE_THREAD_ENV},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def outputs(root: Path) -> tuple[bytes, dict]:
    best = (root / "models" / "best_params.json").read_bytes()
    nested = json.loads((root / "reports" / "tune" / "nested_cv.json").read_text())
    return best, nested


# ------------------------------------------------------- an instrumented nested run


@dataclass
class NestedRun:
    config: Any
    data: TrainingData
    plan: list
    tuner: Any
    outer: list
    fits_per_fold: list[list[set[float]]]
    predictions_per_fold: list[list[set[float]]]
    final: Any


@pytest.fixture(scope="module")
def nested_run(tmp_path_factory) -> NestedRun:
    """A nested run (3 outer folds, 2 inner, 4 trials) with every fit and prediction recorded."""
    root = tmp_path_factory.mktemp("nested")
    prepared = write_project(root, make_params())
    config = load_config(root / "params.yaml")
    data = training_data(prepared.train, prepared.schema)
    folds = folds_for(data, config)
    tuner = make_tuner(config, data, folds, ProjectPaths(root).tune_journal, worker=False)
    plan = plan_studies(config, data, folds)
    recorder = Recorder()
    outer, fits_per_fold, predictions_per_fold = [], [], []
    with pytest.MonkeyPatch.context() as patch:
        recorder.install(patch)
        for i, planned in enumerate(plan[:-1]):
            fits, predictions = len(recorder.fits), len(recorder.predictions)
            outer.append(score_outer(tuner, data, planned, i))
            fits_per_fold.append(recorder.fits[fits:])
            predictions_per_fold.append(recorder.predictions[predictions:])
        last = plan[-1]
        final = tuner.run(last.name, last.data, last.inner, last.seed)
    return NestedRun(config, data, plan, tuner, outer, fits_per_fold, predictions_per_fold, final)


# ------------------------------------------------------------------------------ 1


def test_no_tuning_fit_sees_a_row_of_its_outer_fold(nested_run):
    run = nested_run
    assert len(run.outer) == run.config.cv.folds == 3
    all_rows = markers(run.data.X)
    for i, planned in enumerate(run.plan[:-1]):
        held = markers(run.data.X.iloc[planned.held_out])
        training_part = all_rows - held
        fits = run.fits_per_fold[i]
        # The instrument sees real fits: trials x inner folds, plus the one refit.
        assert len(fits) >= run.config.tune.n_trials + 2
        assert set().union(*fits) == training_part, f"outer fold {i}"
        for fit in fits:
            assert not fit & held, f"outer fold {i}: a fit received {len(fit & held)} held rows"
        # The held-out rows are predicted once, all together, after the study: no trial was
        # scored (and so selected) on them.
        touching = [p for p in run.predictions_per_fold[i] if p & held]
        assert touching == [held]
        assert run.predictions_per_fold[i][-1] == held
        assert run.outer[i].rows == len(held)


def test_outer_folds_partition_the_training_rows(nested_run):
    held = [markers(nested_run.data.X.iloc[p.held_out]) for p in nested_run.plan[:-1]]
    assert sum(len(h) for h in held) == len(nested_run.data.y)
    assert set().union(*held) == markers(nested_run.data.X)


# ------------------------------------------------------------------------------ 2


def test_tune_stage_never_reads_the_test_table(tmp_path, monkeypatch):
    prepared = write_project(tmp_path, make_params(cv={"folds": 2}, tune={"n_trials": 3}))
    test_rows = markers(prepared.test)
    train_rows = markers(prepared.train)
    assert test_rows
    assert not test_rows & train_rows
    read: list[str] = []
    read_by_arrow: list[str] = []
    read_parquet, read_table = pd.read_parquet, pq.read_table

    def recording_read_parquet(path, *args, **kwargs):
        read.append(str(path))
        return read_parquet(path, *args, **kwargs)

    def recording_read_table(source, *args, **kwargs):
        # pandas reads through pyarrow; a direct pyarrow read would show up only here.
        read_by_arrow.append(str(getattr(source, "name", source)))
        return read_table(source, *args, **kwargs)

    monkeypatch.setattr(pd, "read_parquet", recording_read_parquet)
    monkeypatch.setattr(pq, "read_table", recording_read_table)
    recorder = Recorder()
    recorder.install(monkeypatch)
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(TUNE_SCRIPT))["main"]()

    assert (tmp_path / "models" / "best_params.json").is_file()
    assert [Path(p).name for p in read] == ["train.parquet"]
    assert [Path(p).name for p in read_by_arrow] == ["train.parquet"]
    assert recorder.fits
    for fit in recorder.fits:
        assert fit <= train_rows
        assert not fit & test_rows
    for predicted in recorder.predictions:
        assert not predicted & test_rows


# ------------------------------------------------------------------------------ 3


def test_default_trial_is_exactly_the_configured_settings():
    params = make_params(
        "catboost",
        model={"catboost": {"iterations": 60, "learning_rate": 0.9, "depth": 4}},
        tune={"search_space": {"l2_leaf_reg": {"low": 5.0, "high": 10.0}, "depth": 5}},
    )
    config = parse_config(params)
    space, fixed = search_space(config, "binary")
    assert fixed == {"depth": 5}
    # params.yaml's 0.9 is kept although the range ends at 0.3; keys params.yaml does not set
    # (l2_leaf_reg, ...) are not asked, so they keep CatBoost's own defaults.
    assert default_trial(config, space) == {"learning_rate": 0.9}


def test_trial_zero_of_every_study_is_the_defaults(nested_run):
    run = nested_run
    defaults = default_trial(run.config, run.tuner.space)
    # Only what params.yaml sets: the other keys keep the estimator's own defaults.
    assert defaults == {"learning_rate": FAST_HGB["learning_rate"]}
    studies = [o.study.study for o in run.outer] + [run.final.study]
    assert len({s.study_name for s in studies}) == 4
    for study in studies:
        trials = study.get_trials(deepcopy=False)
        first = next(t for t in trials if t.number == 0)
        assert first.state == TrialState.COMPLETE
        assert first.user_attrs["index"] == 0
        assert first.params == defaults, study.study_name
        assert [t for t in trials if t.user_attrs.get("index") == 0] == [first]
        # Every later trial asked the sampler, so none repeats the defaults.
        assert all(t.params != defaults for t in trials if t.number != 0)


# ------------------------------------------------------------------------------ 4


@pytest.fixture(scope="module")
def log_loss_data(tmp_path_factory) -> tuple[Path, TrainingData]:
    """A marked table whose selection metric is log loss (lower is better)."""
    root = tmp_path_factory.mktemp("pruning")
    prepared = write_project(root, make_params(problem={"metric": "log_loss"}), n=300)
    return root, training_data(prepared.train, prepared.schema)


@pytest.mark.parametrize("pruning", [True, False])
def test_pruning_stops_clearly_bad_trials(log_loss_data, pruning, monkeypatch):
    root, data = log_loss_data
    assert data.problem.metric == "log_loss"
    params = make_params(
        problem={"metric": "log_loss"},
        cv={"inner_folds": 3},
        tune={
            "n_trials": 12,
            "pruning": pruning,
            # Tiny learning rates leave predictions near the prior: a clearly bad log loss.
            "search_space": {"learning_rate": {"low": 1e-4, "high": 0.3, "log": True}},
        },
    )
    config = parse_config(params)
    folds = folds_for(data, config)
    tuner = make_tuner(config, data, folds, root / f"pruning-{pruning}.journal", worker=False)
    final = plan_studies(config, data, folds)[-1]
    recorder = Recorder()
    recorder.install(monkeypatch)
    result = tuner.run(final.name, final.data, final.inner, final.seed)
    trials = result.study.get_trials(deepcopy=False)
    assert len(trials) == 12
    assert result.n_complete + result.n_pruned == 12
    if pruning:
        pruned = [t for t in trials if t.state == TrialState.PRUNED]
        assert len(pruned) == result.n_pruned >= 1
        for t in pruned:
            # Stopped before its last inner fold, so it cost fewer fits.
            assert len(t.user_attrs["fold_scores"]) < 3
            assert "rounds" not in t.user_attrs
        assert len(recorder.fits) == 12 * 3 - sum(
            3 - len(t.user_attrs["fold_scores"]) for t in pruned
        )
        # Only clearly bad trials go: each pruned fold score is worse than the best complete
        # trial's score on that fold.
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        for t in pruned:
            step = len(t.user_attrs["fold_scores"]) - 1
            best_there = min(c.intermediate_values[step] for c in complete if c.number < t.number)
            assert t.intermediate_values[step] > best_there
    else:
        assert result.n_pruned == 0
        assert [t.state for t in trials] == [TrialState.COMPLETE] * 12
        assert len(recorder.fits) == 12 * 3


# ------------------------------------------------------------------------------ 5, 6

STAGE_PARAMS = make_params(
    "catboost", cv={"folds": 2, "inner_folds": 2}, tune={"n_trials": 6, "nested": True}
)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory) -> Path:
    """An uninterrupted ``python stages/tune.py`` in a fresh folder."""
    root = tmp_path_factory.mktemp("reference")
    write_project(root, STAGE_PARAMS, n=200)
    run_tune_script(root)
    return root


@pytest.mark.slow
def test_same_seed_gives_identical_outputs(reference_run, tmp_path):
    write_project(tmp_path, STAGE_PARAMS, n=200)
    run_tune_script(tmp_path)
    best, nested = outputs(tmp_path)
    reference_best, reference_nested = outputs(reference_run)
    assert best == reference_best
    assert nested["outer_scores"] == reference_nested["outer_scores"]
    assert nested == reference_nested
    assert len(nested["outer_scores"]) == 2
    assert json.loads(best)["study"].startswith("final-")
    # The stage, too, starts every study with the defaults.
    config = parse_config(STAGE_PARAMS)
    defaults = default_trial(config, search_space(config, "binary")[0])
    studies = journal_trials(ProjectPaths(reference_run).tune_journal)
    assert len(studies) == 3
    for name, trials in studies.items():
        assert trials[0].number == trials[0].user_attrs["index"] == 0
        assert trials[0].params == defaults, name


def wait_for_finished(path: Path, process: subprocess.Popen, at_least: int) -> None:
    """Poll the journal, as another process, until ``at_least`` trials have finished."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, "tune finished before it could be killed"
        if path.is_file():
            done = sum(
                t.state in FINISHED for trials in journal_trials(path).values() for t in trials
            )
            if done >= at_least:
                return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {at_least} trials finished in 90 s")


@pytest.mark.slow
def test_resume_after_sigkill_ends_where_an_uninterrupted_run_does(reference_run, tmp_path):
    write_project(tmp_path, STAGE_PARAMS, n=200)
    journal = ProjectPaths(tmp_path).tune_journal
    n_trials = STAGE_PARAMS["tune"]["n_trials"]
    log = (tmp_path / "killed.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(TUNE_SCRIPT)],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **ONE_THREAD_ENV},
    )
    try:
        # A few trials finished and others under way.
        wait_for_finished(journal, process, at_least=n_trials + 2)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    assert process.returncode == -signal.SIGKILL
    assert not (tmp_path / "models" / "best_params.json").exists()

    before = journal_trials(journal)
    finished = {
        (name, t.number): (t.state, t.params, t.value, t.user_attrs.get("fold_scores"))
        for name, trials in before.items()
        for t in trials
        if t.state in FINISHED
    }
    cut_off = {
        (name, t.number)
        for name, trials in before.items()
        for t in trials
        if t.state == TrialState.RUNNING
    }
    assert len(finished) >= 3
    # At most one trial per study was running: studies run side by side (one per usable
    # core, tests/tuning/test_concurrent.py), each one trial at a time.
    assert len({name for name, _ in cut_off}) == len(cut_off)
    # A kill inside a journal write (each holds the lock while it fsyncs) leaves the lock
    # file behind; make sure this run has one, as about one kill in five really does.
    lock = Path(f"{journal}.lock")
    if not lock.is_symlink():
        os.symlink(journal, lock)

    resumed = run_tune_script(tmp_path)

    # The stale lock was not waited on (Optuna warns after 10 s and breaks it after 30 s).
    assert "lock file" not in resumed.stderr

    after = journal_trials(journal)
    reference = journal_trials(ProjectPaths(reference_run).tune_journal)
    assert set(after) == set(reference)
    assert len(after) == 3  # outer0, outer1, final
    for (name, number), kept in finished.items():
        t = next(t for t in after[name] if t.number == number)
        assert (t.state, t.params, t.value, t.user_attrs.get("fold_scores")) == kept
    for name, number in cut_off:
        t = next(t for t in after[name] if t.number == number)
        assert t.state == TrialState.FAIL
    for name, trials in after.items():
        assert sum(t.state in FINISHED for t in trials) == n_trials, name
        assert sum(t.state == TrialState.FAIL for t in trials) == sum(n == name for n, _ in cut_off)
        assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
        # Trial by trial, the resumed study asked and found what the uninterrupted one did.
        assert by_index(trials) == by_index(reference[name]), name
    best, nested = outputs(tmp_path)
    reference_best, reference_nested = outputs(reference_run)
    assert best == reference_best
    assert nested == reference_nested
    summary = json.loads((tmp_path / "reports" / "tune" / "tune.json").read_text())
    assert summary["complete"] + summary["pruned"] == n_trials


# ------------------------------------------------------------------------------ 7


def outer_like(outer: float, inner: float, metric: str, params: dict | None = None):
    study = SimpleNamespace(best_value=inner, best_params=params or {}, n_complete=3, n_pruned=1)
    return OuterFold(0, {metric: outer}, 10, inner, params or {}, {"model": study})


T_975_DF2 = 4.302652729911275  # Student t, 97.5th percentile, 2 degrees of freedom


def test_nested_summary_higher_is_better_flattered_inner_scores_give_a_positive_gap():
    folds = [
        outer_like(0.80, 0.86, "roc_auc"),
        outer_like(0.84, 0.85, "roc_auc"),
        outer_like(0.78, 0.90, "roc_auc"),
    ]
    summary = nested_summary(folds, "roc_auc", {})
    mean = (0.80 + 0.84 + 0.78) / 3
    std = math.sqrt(sum((v - mean) ** 2 for v in (0.80, 0.84, 0.78)) / 2)
    assert summary["greater_is_better"] is True
    assert summary["outer_scores"] == [0.80, 0.84, 0.78]
    assert summary["mean"] == pytest.approx(mean)
    assert summary["std"] == pytest.approx(std)
    half = T_975_DF2 * std / math.sqrt(3)
    assert summary["ci95_low"] == pytest.approx(mean - half)
    assert summary["ci95_high"] == pytest.approx(mean + half)
    assert summary["optimism_gap_per_fold"] == pytest.approx([0.06, 0.01, 0.12])
    assert summary["optimism_gap_mean"] == pytest.approx(0.19 / 3)
    assert summary["optimism_gap_mean"] > 0
    assert summary["trials_per_fold"] == [{"complete": 3, "pruned": 1}] * 3


def test_nested_summary_lower_is_better_flattered_inner_scores_give_a_positive_gap():
    # rmse: the inner (tuning) scores are lower, i.e. better, than the honest outer ones.
    folds = [
        outer_like(1.2, 1.0, "rmse"),
        outer_like(1.0, 1.1, "rmse"),
        outer_like(1.4, 1.1, "rmse"),
    ]
    summary = nested_summary(folds, "rmse", {})
    assert summary["greater_is_better"] is False
    assert summary["mean"] == pytest.approx(1.2)
    assert summary["std"] == pytest.approx(0.2)
    half = T_975_DF2 * 0.2 / math.sqrt(3)
    assert (summary["ci95_low"], summary["ci95_high"]) == pytest.approx((1.2 - half, 1.2 + half))
    assert summary["optimism_gap_per_fold"] == pytest.approx([0.2, -0.1, 0.3])
    assert summary["optimism_gap_mean"] == pytest.approx(0.4 / 3)
    assert summary["optimism_gap_mean"] > 0


@pytest.mark.parametrize(("metric", "outer", "inner"), [("roc_auc", 0.9, 0.8), ("rmse", 1.0, 1.3)])
def test_nested_summary_pessimistic_inner_scores_give_a_negative_gap(metric, outer, inner):
    folds = [outer_like(outer, inner, metric), outer_like(outer, inner, metric)]
    summary = nested_summary(folds, metric, {})
    assert summary["optimism_gap_mean"] < 0
    # Identical folds: no spread, so the interval is the mean itself.
    assert summary["std"] == 0.0
    assert summary["ci95_low"] == summary["ci95_high"] == summary["mean"] == outer


def test_nested_summary_of_one_fold_has_no_interval_and_stability_of_params():
    space, _ = search_space(parse_config(make_params()), "binary")
    chosen = {
        "learning_rate": 0.1,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 1e-3,
    }
    summary = nested_summary([outer_like(0.7, 0.75, "roc_auc", chosen)], "roc_auc", space)
    assert summary["std"] == 0.0
    assert summary["ci95_low"] == summary["ci95_high"] == 0.7
    assert summary["param_stability"]["learning_rate"]["spread_of_range"] == 0.0
    assert summary["param_stability"]["learning_rate"]["stable"] is True


def test_nested_summary_matches_the_outer_folds_of_a_real_run(nested_run):
    run = nested_run
    metric = run.data.problem.metric
    summary = nested_summary(run.outer, metric, run.tuner.space)
    assert summary["outer_scores"] == [o.scores[metric] for o in run.outer]
    assert summary["inner_best_scores"] == [o.study.best_value for o in run.outer]
    for o in run.outer:
        # The inner score is the best trial's mean over the inner folds.
        best = o.study.study.best_trial
        assert o.study.best_value == pytest.approx(np.mean(best.user_attrs["fold_scores"]))
    assert summary["ci95_low"] <= summary["mean"] <= summary["ci95_high"]
    assert [t["complete"] + t["pruned"] for t in summary["trials_per_fold"]] == [
        run.config.tune.n_trials
    ] * 3


# ------------------------------------------------------------------ trial settings, quick


def test_trial_settings_reach_only_the_inner_trial_fits(tmp_path, monkeypatch):
    """Cheaper trial fits rank the trials; the outer refit is the model that is shipped."""
    trial = {"hist_gradient_boosting": {"max_bins": 63}}
    prepared = write_project(tmp_path, make_params(tune={"n_trials": 2, "trial_settings": trial}))
    config = load_config(tmp_path / "params.yaml")
    data = training_data(prepared.train, prepared.schema)
    folds = folds_for(data, config)
    tuner = make_tuner(config, data, folds, tmp_path / "studies.journal", worker=False)
    planned = plan_studies(config, data, folds)[0]
    seen: list = []
    fit = TabularModel.fit

    def recording_fit(model, X, y, *, X_val=None, y_val=None):
        seen.append((model.settings or {}).get("max_bins"))
        return fit(model, X, y, X_val=X_val, y_val=y_val)

    monkeypatch.setattr(TabularModel, "fit", recording_fit)
    score_outer(tuner, data, planned, 0)
    trial_fits = 2 * config.cv.inner_folds
    assert seen[:trial_fits] == [63] * trial_fits
    assert seen[trial_fits:] == [None]  # one refit on the outer training part, as shipped


def test_trial_settings_are_checked_by_name(nested_run):
    bad = make_params(tune={"trial_settings": {"hist_gradient_boosting": {"max_binz": 63}}})
    with pytest.raises(
        FoldwiseError, match=r"tune\.trial_settings\.hist_gradient_boosting\.max_binz"
    ):
        check_trial_settings(parse_config(bad), nested_run.data)
    with pytest.raises(FoldwiseError, match=r"tune\.trial_settings\.xgboost"):
        parse_config(make_params(tune={"trial_settings": {"xgboost": {"depth": 3}}}))


def test_quick_setting_runs_one_study_of_the_defaults(tmp_path):
    """The quick setting of docs/honest-numbers.md: no outer loop, trial 0 (the defaults) only."""
    prepared = write_project(tmp_path, make_params(tune={"nested": False, "n_trials": 1}))
    config = load_config(tmp_path / "params.yaml")
    data = training_data(prepared.train, prepared.schema)
    folds = folds_for(data, config)
    plan = plan_studies(config, data, folds)
    assert [p.name for p in plan] == ["final"]
    tuner = make_tuner(config, data, folds, tmp_path / "studies.journal", worker=False)
    result = tuner.run(plan[0].name, plan[0].data, plan[0].inner, plan[0].seed)
    assert (result.n_complete, result.n_pruned) == (1, 0)
    assert result.best_params == default_trial(config, tuner.space)


def test_another_trial_budget_is_another_study(nested_run):
    """A study with more finished trials must not stand in for a run with a smaller budget."""
    from foldwise.tuning import study_key

    config = nested_run.config
    keys = {
        study_key(
            config.model_copy(update={"tune": config.tune.model_copy(update={"n_trials": n})}),
            nested_run.data,
            "folds",
            {},
        )
        for n in (6, 8)
    }
    assert len(keys) == 2


def test_other_rows_or_columns_are_another_study(nested_run):
    """Same row count and folds, other data: a dropped column or one corrected value must not
    resume the trials fitted on the old table."""
    from foldwise.tuning import study_key

    config, data = nested_run.config, nested_run.data
    same = replace(data, X=data.X.copy(), y=data.y.copy())
    corrected = replace(data, X=data.X.copy())
    corrected.X.iloc[7, corrected.X.columns.get_loc("x2")] += 1.0
    dropped = replace(
        data,
        X=data.X.drop(columns="colour"),
        features=[f for f in data.features if f["name"] != "colour"],
    )
    relabelled = replace(data, y=1 - data.y)
    key = study_key(config, data, "folds", {})
    assert study_key(config, same, "folds", {}) == key
    for other in (corrected, dropped, relabelled):
        assert study_key(config, other, "folds", {}) != key


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        # The forest's library defaults (max_features "sqrt", max_depth None) are outside the
        # search space's numbers; trial 0 must not replace them.
        ("random_forest", {"n_estimators": 30, "min_samples_leaf": 2}),
        # A configured learning rate outside the searched range is kept, not clipped.
        ("catboost", {**FAST_CATBOOST, "learning_rate": 0.5}),
    ],
)
def test_one_trial_is_exactly_the_configured_model(name, settings, tmp_path):
    """The quick setting (n_trials 1) ships model.<name> unchanged: never worse than it."""
    params = make_params(name, tune={"nested": False, "n_trials": 1})
    params["model"][name] = settings
    prepared = write_project(tmp_path, params)
    config = load_config(tmp_path / "params.yaml")
    data = training_data(prepared.train, prepared.schema)
    folds = folds_for(data, config)
    (final,) = plan_studies(config, data, folds)
    tuner = make_tuner(config, data, folds, tmp_path / "studies.journal", worker=False)
    result = tuner.run(final.name, final.data, final.inner, final.seed)
    assert result.n_complete == 1
    # Only configured keys are in trial 0, with their configured values.
    assert result.best_params == {k: v for k, v in settings.items() if k in tuner.space}
    shipped = {**config.model.settings(name), **tuner.fixed, **result.best_params}
    assert shipped == config.model.settings(name) == settings
    built = tuner.build(data, result.best_params, 0)
    assert built.settings == settings
    if name == "random_forest":
        estimator = built.backend.estimator(built.spec())
        assert estimator.max_features == "sqrt"
        assert estimator.max_depth is None
