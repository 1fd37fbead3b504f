"""foldwise.train_stage.train: the train stage's function, on tiny tables of every task type."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from foldwise.cv import folds_fingerprint
from foldwise.errors import FoldwiseError
from foldwise.evaluation import cv_summary
from foldwise.model_settings import load_config
from foldwise.models import TabularModel
from foldwise.paths import ProjectPaths
from foldwise.prepare import prepare_tables
from foldwise.stage import write_json_atomic, write_parquet_atomic
from foldwise.train_stage import (
    TrainInputs,
    TunedParams,
    metrics_report,
    read_train_inputs,
    train,
    write_outputs,
)
from foldwise.training.crossval import cross_validate
from foldwise.training.data import TrainingRun, training_run
from foldwise.training.fitting import model_for
from tests.conftest import make_table

TASKS = ("binary", "multiclass", "regression")


def params_for(task: str) -> dict[str, Any]:
    return {
        "seed": 3,
        "data": {"source": "data/raw/table.csv", "target": "label", "id_columns": ["row_id"]},
        "problem": {"positive_label": "Yes" if task == "binary" else None},
        "cv": {"folds": 3},
        "train": {"early_stopping_rounds": 5},
        "model": {
            "name": "catboost",
            "catboost": {"iterations": 80, "learning_rate": 0.3, "depth": 3, "thread_count": 1},
        },
    }


def prepared_project(root: Path, task: str) -> tuple[TrainingRun, pd.DataFrame]:
    """A project with prepared tables written as the prepare stage writes them.

    ``marker`` is a numeric feature unique per row, so every row a model saw can be traced.
    Returns the run (training rows only) and the sealed test table.
    """
    (root / "data" / "raw").mkdir(parents=True, exist_ok=True)
    table = make_table(task, n=240, seed=1)
    table["marker"] = np.arange(len(table)) + 0.5
    table.to_csv(root / "data" / "raw" / "table.csv", index=False)
    (root / "params.yaml").write_text(yaml.safe_dump(params_for(task), sort_keys=False))
    paths = ProjectPaths(root)
    config = load_config(paths.params)
    prepared = prepare_tables(config, root)
    write_parquet_atomic(paths.train_table, prepared.train)
    write_parquet_atomic(paths.test_table, prepared.test)
    write_json_atomic(paths.schema, prepared.schema)
    return training_run(config, prepared.schema, prepared.train), prepared.test


@pytest.fixture(scope="module", params=TASKS)
def trained(request, tmp_path_factory) -> dict[str, Any]:
    """train() on in-memory inputs, with every row each model fitted on or scored recorded."""
    task = request.param
    run, test = prepared_project(tmp_path_factory.mktemp(task), task)
    seen: list[frozenset[float]] = []
    fit, predict, proba = TabularModel.fit, TabularModel.predict, TabularModel.predict_proba

    def recording_fit(model, X, y, *, X_val=None, y_val=None):
        seen.append(frozenset(X["marker"].astype(float)))
        if X_val is not None:
            seen.append(frozenset(X_val["marker"].astype(float)))
        return fit(model, X, y, X_val=X_val, y_val=y_val)

    def recording(method):
        def wrapper(model, X):
            seen.append(frozenset(X["marker"].astype(float)))
            return method(model, X)

        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TabularModel, "fit", recording_fit)
        patch.setattr(TabularModel, "predict", recording(predict))
        patch.setattr(TabularModel, "predict_proba", recording(proba))
        result = train(TrainInputs(run, TunedParams.untuned(run.config)))
    return {"task": task, "run": run, "test": test, "result": result, "seen": seen}


def test_the_result_is_frozen(trained):
    result = trained["result"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.bundle = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.trained.model = None  # type: ignore[misc]


def test_the_final_fit_trains_the_mean_of_the_folds_rounds(trained):
    result = trained["result"]
    rounds = result.trained.fold_best_iterations
    assert len(rounds) == 3
    assert all(isinstance(r, int) and r >= 1 for r in rounds)
    expected = max(1, round(float(np.mean(rounds))))
    assert result.trained.best_iteration == expected
    assert result.bundle.metadata["best_iteration"] == expected
    model = result.bundle.model
    assert isinstance(model, TabularModel)
    # One fit on all rows, no early stopping: exactly that many trees, no validation curve.
    assert model.n_iterations_ == expected
    assert model.best_iteration_ is None
    assert int(model.estimator_.tree_count_) == expected


def test_the_learning_curve_is_the_folds_mean(trained):
    curve = trained["result"].trained.learning_curve
    assert curve is not None
    assert curve["folds"] == 3
    assert curve["train"]
    assert len(curve["train"]) == len(curve["validation"])
    # Each fold's early-stopping fit ran at least its best rounds; the mean covers the shortest.
    assert len(curve["validation"]) >= min(trained["result"].trained.fold_best_iterations)
    assert all(np.isfinite(curve["validation"]))


def test_no_test_row_is_fitted_or_scored(trained):
    test_markers = frozenset(trained["test"]["marker"].astype(float))
    train_markers = frozenset(trained["run"].data.X["marker"].astype(float))
    assert test_markers
    assert not test_markers & train_markers
    assert trained["seen"]
    for rows in trained["seen"]:
        assert not rows & test_markers
    oof = trained["result"].oof
    assert len(oof) == len(trained["run"].data.y)
    assert set(oof["id:row_id"]).isdisjoint(set(trained["test"]["row_id"]))


def test_scores_threshold_and_report(trained):
    result, task = trained["result"], trained["task"]
    run = trained["run"]
    assert result.summary == cv_summary(result.trained.fold_scores)
    primary = run.data.problem.metric
    assert len(result.summary[primary]["values"]) == 3
    if task == "binary":
        assert result.threshold is not None
        assert 0 < result.threshold.value < 1
        assert result.bundle.threshold == result.threshold.value
    else:
        assert result.threshold is None
        assert result.bundle.threshold is None
    report = metrics_report(result)
    assert report["task"] == task
    assert report["vs_baselines"] == {}
    assert report["folds_fingerprint"] == folds_fingerprint(run.folds)
    assert report["fold_best_iterations"] == result.trained.fold_best_iterations
    json.dumps(report, allow_nan=False)


def baseline_file(run: TrainingRun, path: Path, fingerprint: str) -> None:
    """A baseline report with the dummy's per-fold scores, as the baseline stage writes it."""
    cv = cross_validate(
        model_for("dummy", run.data, run.config), run.data, run.folds, run.config, "d"
    )
    report = {
        "folds_fingerprint": fingerprint,
        "models": {"dummy": {"cv": cv_summary(cv.fold_scores)}},
    }
    write_json_atomic(path, report)


def test_the_stage_path_never_opens_the_test_table(tmp_path, monkeypatch):
    """read_train_inputs + train + write_outputs with the sealed table unreadable."""
    run, _ = prepared_project(tmp_path, "binary")
    paths = ProjectPaths(tmp_path)
    paths.test_table.write_bytes(b"not a parquet file: reading it would fail")
    write_json_atomic(paths.best_params, {"model": "catboost", "params": {"depth": 2}})
    baseline_file(run, paths.report_dir("baseline") / "metrics.json", folds_fingerprint(run.folds))
    monkeypatch.chdir(tmp_path)
    result = train(read_train_inputs(paths))
    write_outputs(result, paths)
    assert result.trained.settings["depth"] == 2  # the tuned params are on top of model.catboost
    margin = result.margins["dummy"]
    assert margin["comparable"]
    assert margin["folds"] == 3
    assert margin["margin_mean"] > 0
    report = json.loads((paths.report_dir("train") / "metrics.json").read_text())
    assert report["vs_baselines"]["dummy"]["folds_better"] == margin["folds_better"]
    assert (paths.models_dir / "model").is_dir()
    assert (paths.models_dir / "folds").is_dir()
    assert (paths.report_dir("train") / "oof_predictions.parquet").is_file()


def test_baselines_on_other_folds_are_not_compared(tmp_path):
    run, _ = prepared_project(tmp_path, "regression")
    paths = ProjectPaths(tmp_path)
    write_json_atomic(paths.best_params, {"model": "catboost", "params": {}})
    baseline_file(run, paths.report_dir("baseline") / "metrics.json", "other folds")
    result = train(read_train_inputs(paths))
    assert result.margins == {"dummy": {"comparable": False, "reason": "baseline used other folds"}}


def test_params_tuned_for_another_model_are_refused(tmp_path):
    run, _ = prepared_project(tmp_path, "multiclass")
    tuned = TunedParams(model="random_forest", params={}, source="models/best_params.json")
    with pytest.raises(
        FoldwiseError, match=r"models/best_params.json: tuned for model 'random_forest'"
    ):
        train(TrainInputs(run, tuned))


def test_an_ensemble_fits_each_member_once_with_its_folds_mean_rounds(tmp_path):
    """Single models and ensemble members share one final fit (training.fit_final)."""
    run, _ = prepared_project(tmp_path, "binary")
    params = params_for("binary")
    params["model"].update(
        name="ensemble",
        ensemble={"members": ["catboost", "hist_gradient_boosting"], "rounds": 5},
        hist_gradient_boosting={"max_iter": 60, "learning_rate": 0.3},
    )
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run = training_run(load_config(tmp_path / "params.yaml"), run.schema, run.data.frame)
    result = train(TrainInputs(run, TunedParams.untuned(run.config)))
    report = result.trained.ensemble
    assert report is not None
    assert result.bundle.metadata["tuned_params"] == {"catboost": {}, "hist_gradient_boosting": {}}
    fits = {f["member"]: f["rounds"] for f in report["final_fits"]}
    assert fits, "no member kept a weight"
    for member, rounds in fits.items():  # both members are boosting models
        found = report["member_fold_rounds"][member]
        assert all(isinstance(r, int) for r in found)
        assert rounds == max(1, round(float(np.mean(found))))
    assert metrics_report(result)["ensemble"]["optimistic"] is True
