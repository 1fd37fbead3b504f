"""The outer refit of the nested loop, and the tune library function's frozen result.

Each outer fold is scored by ONE fit of the chosen params on its whole training part, which
trains exactly the rounds the inner folds' early stopping found for the best trial (the mean
of that trial's inner-fold best iterations), and never a row of the outer fold's held-out
part. Every fit and prediction is recorded through the ``marker`` column (unique per row).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from foldwise.models import TabularModel
from foldwise.paths import ProjectPaths
from foldwise.training.data import TrainingData, folds_for, training_data
from foldwise.tuning import OuterFold, make_tuner, plan_studies, score_outer
from foldwise.tuning.outputs import write_reports
from foldwise.tuning.report import TuneReports
from foldwise.tuning.run import TuneResult, tune
from tests.support.projects import write_marked_project

FAST = {
    "hist_gradient_boosting": {"max_iter": 60, "learning_rate": 0.1},
    "catboost": {"iterations": 80, "learning_rate": 0.1, "depth": 4, "thread_count": 1},
    "random_forest": {"n_estimators": 20, "min_samples_leaf": 2},
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny fits: thread start-up and contention cost more than they save."""
    with threadpool_limits(limits=1):
        yield


def make_data(root: Path, task: str, name: str, **tune: Any) -> tuple[Any, TrainingData]:
    """A prepared table of ``task`` with a ``marker`` feature unique per row, and its config."""
    params: dict[str, Any] = {
        "seed": 5,
        "data": {"source": "data/raw/table.csv", "target": "label", "id_columns": ["row_id"]},
        "cv": {"folds": 3, "inner_folds": 2},
        "train": {"early_stopping_rounds": 5},
        "model": {"name": name, name: dict(FAST[name])},
        "tune": {"n_trials": 3, **tune},
    }
    if task == "binary":
        params["problem"] = {"positive_label": "Yes"}
    config, prepared = write_marked_project(root, params, task=task, n=240, seed=3)
    return config, training_data(prepared.train, prepared.schema)


def markers(frame: pd.DataFrame) -> set[float]:
    return set(frame["marker"].astype(float))


@dataclass
class Fit:
    model: TabularModel
    rows: set[float]
    validation: set[float] | None


@dataclass
class Recorder:
    """Every fit (the model, its rows, its early-stopping rows) and every prediction's rows."""

    fits: list[Fit] = field(default_factory=list)
    predictions: list[set[float]] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        fit, predict, proba = TabularModel.fit, TabularModel.predict, TabularModel.predict_proba

        def recording_fit(model, X, y, *, X_val=None, y_val=None):
            seen = None if X_val is None else markers(X_val)
            self.fits.append(Fit(model, markers(X), seen))
            return fit(model, X, y, X_val=X_val, y_val=y_val)

        def recording_predict(model, X):
            self.predictions.append(markers(X))
            return predict(model, X)

        def recording_proba(model, X):
            self.predictions.append(markers(X))
            return proba(model, X)

        monkeypatch.setattr(TabularModel, "fit", recording_fit)
        monkeypatch.setattr(TabularModel, "predict", recording_predict)
        monkeypatch.setattr(TabularModel, "predict_proba", recording_proba)


def outer_fold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task: str, name: str, *, tune: bool = True
) -> tuple[OuterFold, Recorder, set[float], set[float]]:
    """Outer fold 0 scored with every fit recorded: (fold, recorder, training part, held rows)."""
    config, data = make_data(tmp_path, task, name)
    folds = folds_for(data, config)
    tuner = make_tuner(config, data, folds, tmp_path / "studies.journal", worker=False)
    planned = plan_studies(config, data, folds)[0]
    recorder = Recorder()
    recorder.install(monkeypatch)
    fold = score_outer(tuner, data, planned, 0, tune=tune)
    assert planned.held_out is not None
    held = markers(data.X.iloc[planned.held_out])
    return fold, recorder, markers(data.X) - held, held


def check_never_fitted_on_held_rows(recorder: Recorder, training: set[float], held: set[float]):
    for fit in recorder.fits:
        assert not fit.rows & held
        assert not (fit.validation or set()) & held
        assert fit.rows | (fit.validation or set()) <= training
    # The held-out rows are predicted once, all together, after every fit of the fold.
    assert [p for p in recorder.predictions if p & held] == [held]
    assert recorder.predictions[-1] == held


@pytest.mark.parametrize(
    ("task", "name"),
    [
        ("binary", "hist_gradient_boosting"),
        ("multiclass", "hist_gradient_boosting"),
        ("regression", "hist_gradient_boosting"),
        ("binary", "catboost"),
    ],
)
def test_outer_refit_trains_the_best_trials_inner_rounds_once(task, name, tmp_path, monkeypatch):
    fold, recorder, training, held = outer_fold(tmp_path, monkeypatch, task, name)
    *trial_fits, refit = recorder.fits
    # One refit, on the whole outer training part, with no early-stopping rows carved out.
    assert refit.rows == training
    assert refit.validation is None
    assert all(f.validation is not None for f in trial_fits)  # every other fit is a trial's
    check_never_fitted_on_held_rows(recorder, training, held)
    # The best trial's own inner-fold fits (trials run one after another, n_jobs 1).
    study = fold.study.study
    best = study.best_trial
    start = sum(len(t.user_attrs["fold_scores"]) for t in study.trials[: best.number])
    best_fits = trial_fits[start : start + len(best.user_attrs["fold_scores"])]
    assert len(best_fits) == 2  # both inner folds (a pruned trial cannot be the best)
    expected = max(1, round(float(np.mean([f.model.best_iteration_ for f in best_fits]))))
    assert fold.rounds == fold.study.best_rounds == expected
    assert refit.model.n_iterations_ == expected  # the fitted model's tree count
    if name == "catboost":
        assert refit.model.estimator_.tree_count_ == expected


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_untuned_outer_refit_trains_trial_zeros_inner_rounds(task, tmp_path, monkeypatch):
    """No study (a time budget too short to search): the configured model, fitted as trial 0."""
    fold, recorder, training, held = outer_fold(
        tmp_path, monkeypatch, task, "hist_gradient_boosting", tune=False
    )
    assert fold.studies == {}
    assert fold.params == {}
    assert fold.inner_score is None
    *inner, refit = recorder.fits
    assert len(inner) == 2
    assert all(f.validation is not None for f in inner)
    assert refit.rows == training
    assert refit.validation is None
    check_never_fitted_on_held_rows(recorder, training, held)
    expected = max(1, round(float(np.mean([f.model.best_iteration_ for f in inner]))))
    assert fold.rounds == refit.model.n_iterations_ == expected
    assert refit.model.settings == FAST["hist_gradient_boosting"] | {"max_iter": expected}


def test_a_model_without_rounds_is_refit_once_as_chosen(tmp_path, monkeypatch):
    fold, recorder, training, held = outer_fold(tmp_path, monkeypatch, "binary", "random_forest")
    *trial_fits, refit = recorder.fits
    assert len(trial_fits) >= 2
    assert refit.rows == training
    check_never_fitted_on_held_rows(recorder, training, held)
    assert fold.rounds is None
    assert refit.model.best_iteration_ is None
    chosen = refit.model.settings
    assert {k: chosen[k] for k in fold.params} == fold.params


def test_tune_returns_a_frozen_result_that_the_writers_read(tmp_path):
    config, data = make_data(tmp_path, "binary", "hist_gradient_boosting", n_trials=2)
    folds = folds_for(data, config, n_splits=2)
    paths = ProjectPaths(tmp_path)
    result = tune(config, data, folds, paths.tune_journal)
    assert isinstance(result, TuneResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.metric = "log_loss"  # type: ignore[misc]
    assert (result.model, result.metric, result.n_trials) == (
        "hist_gradient_boosting",
        "roc_auc",
        2,
    )
    assert [o.fold for o in result.outcome.outer] == [0, 1]
    assert set(result.seconds) == {"outer0", "outer1", "final"}
    reports = write_reports(paths, result)
    assert isinstance(reports, TuneReports)
    with pytest.raises(dataclasses.FrozenInstanceError):
        reports.best = {}  # type: ignore[misc]
    nested = json.loads((paths.report_dir("tune") / "nested_cv.json").read_text())
    assert nested.keys() == reports.nested.keys()  # the writer rounds the numbers only
    outer = [o.scores["roc_auc"] for o in result.outcome.outer]
    assert nested["outer_scores"] == pytest.approx(outer, rel=1e-5)
    summary = json.loads((paths.report_dir("tune") / "tune.json").read_text())
    assert summary["nested"]["rounds_per_fold"] == [o.rounds for o in result.outcome.outer]
    best = json.loads(paths.best_params.read_text())
    assert best["rounds"] == result.outcome.final["hist_gradient_boosting"].best_rounds
