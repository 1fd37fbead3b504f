"""Studies side by side: the same results as one at a time, and a failure stops them all."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from foldwise.errors import FoldwiseError
from foldwise.paths import ProjectPaths
from foldwise.training.data import TrainingData, folds_for, training_data
from foldwise.tuning import run as tuning_run
from foldwise.tuning.budget import unlimited_plan
from foldwise.tuning.nested import make_tuner
from foldwise.tuning.run import TuningOutcome, run_tuning, study_workers
from tests.support.projects import write_marked_project

# One thread per fit both ways (side by side it is always one): CatBoost's trees depend on its
# thread count on larger tables, and this compares the scheduling alone.
SETTINGS: dict[str, dict[str, Any]] = {
    "catboost": {"iterations": 60, "learning_rate": 0.1, "depth": 4, "thread_count": 1},
    "random_forest": {"n_estimators": 20, "min_samples_leaf": 2, "n_jobs": 1},
    "hist_gradient_boosting": {"max_iter": 30},
}


def params(task: str, model: str = "catboost", **tune: Any) -> dict[str, Any]:
    return {
        "seed": 5,
        "data": {"source": "data/raw/table.csv", "target": "label", "id_columns": ["row_id"]},
        "problem": {"positive_label": "Yes"} if task == "binary" else {},
        "cv": {"folds": 3, "inner_folds": 2},
        "train": {"early_stopping_rounds": 10},
        "model": {"name": model, model: dict(SETTINGS[model])},
        "tune": {"n_trials": 3, **tune},
    }


def project(root: Path, task: str, model: str = "catboost", **tune: Any):
    config, prepared = write_marked_project(root, params(task, model, **tune), task=task, n=200)
    data = training_data(prepared.train, prepared.schema)
    return config, data, folds_for(data, config)


def tuned(root: Path, task: str, model: str, workers: int) -> TuningOutcome:
    config, data, folds = project(root, task, model)
    journal = ProjectPaths(root).tune_journal
    return run_tuning(config, data, folds, journal, plan=unlimited_plan(config), workers=workers)


def facts(outcome: TuningOutcome) -> dict[str, Any]:
    """Everything a run's reports are made of, but its seconds."""
    final = {n: (r.best_params, r.best_value, r.best_rounds) for n, r in outcome.final.items()}
    outer = [(o.fold, o.scores, o.params, o.inner_score, o.rounds) for o in outcome.outer]
    trials = {
        name: [(t.params, t.value, t.user_attrs.get("fold_scores")) for t in r.study.trials]
        for name, r in outcome.final.items()
    }
    return {"final": final, "outer": outer, "trials": trials}


@pytest.mark.parametrize(
    ("task", "model"),
    [
        ("binary", "catboost"),
        ("multiclass", "catboost"),
        ("regression", "catboost"),
        ("binary", "random_forest"),
    ],
)
def test_side_by_side_equals_one_at_a_time(tmp_path, task, model):
    serial = tuned(tmp_path / "serial", task, model, workers=1)
    side = tuned(tmp_path / "side", task, model, workers=2)
    assert len(side.outer) == 3
    assert list(side.seconds) == list(serial.seconds) == ["outer0", "outer1", "outer2", "final"]
    assert facts(side) == facts(serial)


def test_studies_go_side_by_side_only_where_results_cannot_change(tmp_path, monkeypatch):
    monkeypatch.setattr(tuning_run, "usable_cores", lambda: 2)
    config, *_ = project(tmp_path / "a", "binary")
    assert study_workers(config, unlimited_plan(config), 4) == 2
    assert study_workers(config, unlimited_plan(config), 1) == 1  # quick: one study
    for changed in ({"n_jobs": 2}, {"storage": "postgresql://user@localhost/db"}):
        other, *_ = project(tmp_path / str(len(changed)) / next(iter(changed)), "binary", **changed)
        assert study_workers(other, unlimited_plan(other), 4) == 1
    hgb, *_ = project(tmp_path / "hgb", "binary", "hist_gradient_boosting")
    assert study_workers(hgb, unlimited_plan(hgb), 4) == 1  # OpenMP threads: never side by side
    # A time budget plans its deadlines one study after another.
    assert study_workers(config, replace(unlimited_plan(config), budget_s=60.0), 4) == 1
    monkeypatch.setattr(tuning_run, "usable_cores", lambda: 1)
    assert study_workers(config, unlimited_plan(config), 4) == 1


def test_a_failing_study_stops_the_others_and_its_error_is_raised(tmp_path, monkeypatch):
    config, data, folds = project(tmp_path, "binary")
    real = tuning_run.score_outer

    def failing_second_fold(tuner, full: TrainingData, planned, fold, *, tune=True):
        if fold == 1:
            raise FoldwiseError("outer1 failed")
        return real(tuner, full, planned, fold, tune=tune)

    monkeypatch.setattr(tuning_run, "score_outer", failing_second_fold)
    before = threading.active_count()
    with pytest.raises(FoldwiseError, match=r"^outer1 failed$"):
        run_tuning(
            config,
            data,
            folds,
            ProjectPaths(tmp_path).tune_journal,
            plan=unlimited_plan(config),
            workers=2,
        )
    assert threading.active_count() == before  # no study left running


def test_fits_side_by_side_have_one_thread_and_their_own_studies(tmp_path, monkeypatch):
    # The configured settings leave the thread count to CatBoost (every core).
    monkeypatch.setitem(SETTINGS, "catboost", {"iterations": 60, "depth": 4})
    config, data, folds = project(tmp_path, "binary", "catboost")
    journal = ProjectPaths(tmp_path).tune_journal
    alone = make_tuner(config, data, folds, journal, worker=False)
    side = make_tuner(config, data, folds, journal, worker=False, threads=1)
    assert "thread_count" not in alone.build(data, {}, 0).settings
    assert side.build(data, {}, 0).settings["thread_count"] == 1
    assert side.build(data, {"depth": 3}, 0, trial=True).settings["thread_count"] == 1
    # A journal of fits with other threads is never resumed: another thread count is
    # another study.
    assert side.key != alone.key
