"""``time_budget_s`` when even the smallest plan is over: the train stage's fits keep to it."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from foldwise.bundle import Bundle
from tests.support.projects import write_marked_project
from tests.support.stages import run_stage, stage_start_up_seconds


@pytest.mark.slow
def test_fits_stop_at_the_time_left_when_the_smallest_plan_is_over_budget(tmp_path):
    """CatBoost with 200,000 rounds at a learning rate that never early-stops: unlimited,
    the train stage alone would take hours. With ``time_budget_s`` the plan cuts to no
    tuning and no nested loop, says it is over, and the train stage stops every boosting fit
    at its share of the seconds left: tune + train end within 10 % of the budget, and the
    model it ships is whole (it scores new rows, its rounds are those it trained)."""
    budget = round(max(25.0, 12 * stage_start_up_seconds()))
    params = {
        "seed": 3,
        "time_budget_s": float(budget),
        "data": {"source": "data/raw/table.csv", "target": "label", "id_columns": ["row_id"]},
        "problem": {"positive_label": "Yes"},
        "cv": {"folds": 3, "inner_folds": 2},
        "train": {"early_stopping_rounds": 5000},
        "model": {
            "name": "catboost",
            "catboost": {"iterations": 200_000, "learning_rate": 0.0005, "thread_count": 1},
        },
        "tune": {"n_trials": 20},
        "evaluate": {"segments": []},
    }
    write_marked_project(tmp_path, params, task="binary", n=900)
    run_stage(tmp_path, "baseline")
    started = time.perf_counter()
    tune = run_stage(tmp_path, "tune")
    train = run_stage(tmp_path, "train")
    wall = time.perf_counter() - started

    assert "cut: over budget" in tune.stdout
    assert "stops boosting fits at their share of the time left" in tune.stdout
    best = json.loads((tmp_path / "models" / "best_params.json").read_text())
    assert 0 < best["budget"]["train_s"] < budget
    assert wall <= 1.1 * budget, (wall, tune.stdout[-2000:], train.stdout[-2000:])

    metrics = json.loads((tmp_path / "reports" / "train" / "metrics.json").read_text())
    limit = metrics["time_budget"]["train"]
    assert limit["boosting_fits"] == 3 * 2 + 1  # per fold a probe and a refit; the final fit
    assert limit["stopped_by_time"] >= 1
    assert "stopped by the time limit" in train.stdout

    bundle = Bundle.load(tmp_path / "models" / "model")
    rounds = bundle.model.n_iterations_
    assert 0 < rounds < 200_000
    assert rounds == metrics["best_iteration"] or limit["stopped_at_rounds"][-1] == rounds
    rows = pd.read_parquet(tmp_path / "data" / "prepared" / "test.parquet").head(50)
    scores = bundle.predict_scores(rows)
    assert scores.shape == (50, 2)
    assert np.isfinite(scores).all()
