"""End-to-end guarantees of baseline, train and evaluate, in temporary DVC projects."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_table
from tests.support.finished import finished_copy, table_run

pytestmark = pytest.mark.slow


def _setup(project, task="binary", n=300, **extra):
    source = project.write_table(make_table(task, n=n))
    project.set_params(
        data={"source": source, "target": "label", "id_columns": ["row_id"], "drop_columns": []},
        problem={"positive_label": "Yes" if task == "binary" else None},
        evaluate={"segments": ["colour"]},
        **extra,
    )


def _ran(result) -> list[str]:
    return [
        line.split("'")[1]
        for line in result.stdout.splitlines()
        if line.startswith("Running stage")
    ]


def _digest(path: Path) -> str:
    if path.is_dir():
        parts = sorted(p for p in path.rglob("*") if p.is_file())
        return hashlib.sha256(b"".join(_digest(p).encode() for p in parts)).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def binary_run(request, tmp_path):
    """A copy of the whole pipeline's run on a small binary table (shared with test_repro.py)."""
    return finished_copy(request, tmp_path, "binary-table", table_run("binary"))


def test_default_run_outputs_and_evaluate_only_rerun(binary_run):
    project = binary_run
    metrics = project.read_json("reports/evaluate/metrics.json")
    primary = metrics["primary_metric"]
    assert primary["name"] == "roc_auc"
    assert primary["ci95_low"] <= primary["value"] <= primary["ci95_high"]
    assert len(metrics["test_sha256"]) == 64
    train = project.read_json("reports/train/metrics.json")
    assert set(train["vs_baselines"]) == {"dummy", "logistic_regression"}
    assert 0.0 <= train["threshold"]["threshold"] <= 1.0
    assert (project.root / "models/model/bundle.json").is_file()
    assert (project.root / "reports/train/live/plots/metrics/loss/validation.tsv").is_file()
    assert (project.root / "reports/evaluate/live/plots/sklearn/roc.json").is_file()
    shown = project.dvc("metrics", "show").stdout
    assert "reports/evaluate/metrics.json" in shown

    # Only evaluate reruns, and the card when a report it quotes changed (it reads reports).
    only_evaluate = (["evaluate"], ["evaluate", "card"])
    project.set_params(evaluate={"bootstrap_samples": 300})
    assert _ran(project.dvc("repro")) in only_evaluate
    project.set_params(evaluate={"segment_min_rows": 10})
    assert _ran(project.dvc("repro")) in only_evaluate


def test_bundle_in_fresh_process_scores_like_evaluate(binary_run):
    project = binary_run
    script = (
        "import sys, pandas as pd\n"
        "from pathlib import Path\n"
        "from foldwise.bundle import Bundle\n"
        "b = Bundle.load(Path('models/model'))\n"
        "raw = pd.read_csv('data/raw/table.csv', dtype={'row_id': str})\n"
        "test_ids = pd.read_parquet('data/prepared/test.parquet')['row_id']\n"
        "rows = raw.set_index('row_id').loc[test_ids].reset_index()\n"
        "b.predict(rows).to_parquet('raw_scores.parquet')\n"
        "b.predict(pd.read_parquet('data/prepared/test.parquet')).to_parquet('scores.parquet')\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=project.root, check=True)
    evaluated = pd.read_parquet(project.root / "reports/evaluate/predictions.parquet")
    for name in ("scores.parquet", "raw_scores.parquet"):
        fresh = pd.read_parquet(project.root / name)
        for column in fresh.columns:
            assert (fresh[column].to_numpy() == evaluated[column].to_numpy()).all(), (name, column)


def test_shuffled_test_target_changes_only_evaluate(project):
    _setup(project)
    test = make_table("binary", n=120, seed=9)
    project.set_params(data={"test_source": project.write_table(test, "test.csv")})
    project.dvc("repro")
    watched = [
        "data/prepared/train.parquet",
        "data/prepared/schema.json",
        "data/prepared/split_checks.json",
        "reports/audit/audit.json",
        "reports/baseline/metrics.json",
        "models/best_params.json",
        "reports/tune/nested_cv.json",
        "reports/train/metrics.json",
        "reports/train/oof_predictions.parquet",
        "models/model",
    ]
    before = {p: _digest(project.root / p) for p in watched}
    evaluate_before = _digest(project.root / "reports/evaluate/metrics.json")

    shuffled = test.copy()
    shuffled["label"] = np.random.default_rng(1).permutation(shuffled["label"].to_numpy())
    project.write_table(shuffled, "test.csv")
    ran = _ran(project.dvc("repro"))
    assert ran == ["prepare", "evaluate", "card"]  # the card quotes the test result
    assert {p: _digest(project.root / p) for p in watched} == before
    assert _digest(project.root / "reports/evaluate/metrics.json") != evaluate_before


# Every family in one run: an ensemble of all of them goes through tune (nested), train,
# explain, validate and evaluate, so each family is fitted, saved, scored, explained and
# measured by the pipeline (single-model behaviour per family: tests/models/test_families.py).
ALL_FAMILIES = [
    "catboost",
    "lightgbm",
    "extra_trees",
    "random_forest",
    "hist_gradient_boosting",
    "logistic_regression",
]


@pytest.mark.parametrize("model", ["ensemble", "dummy"])
def test_every_model_runs_end_to_end(project, model):
    _setup(project)
    # The pipeline is under test here, not the speed budgets (validate's own tests do that):
    # on a busy 2-core CI machine a forest's or HGB's one-row p99 can pass 50 ms and its batch
    # throughput fall under 2,000 rows/s (1,178 measured once).
    project.set_params(
        model={
            "name": model,
            "ensemble": {"members": ALL_FAMILIES, "rounds": 10},
            "random_forest": {"n_estimators": 30},
            "extra_trees": {"n_estimators": 30},
            "lightgbm": {"n_estimators": 300, "learning_rate": 0.1},
        },
        tune={"n_trials": 1},
        production={"max_latency_ms": 5000.0, "min_rows_per_s": 1.0},
    )
    project.dvc("repro")
    assert project.read_json("reports/evaluate/metrics.json")["model"] == model
    if model != "ensemble":
        return
    report = project.read_json("reports/train/ensemble.json")
    assert sorted(report["members"]) == sorted(ALL_FAMILIES)
    assert sum(report["weights"].values()) == pytest.approx(1.0)
    assert (project.root / "models/model/model/ensemble.json").is_file()
    assert project.read_json("reports/validate/metrics.json")["verdict_pass"]


@pytest.mark.parametrize(
    ("dataset", "target", "task", "metric"),
    [
        ("breast_cancer", "diagnosis", "binary", "roc_auc"),
        ("wine", "cultivar", "multiclass", "log_loss"),
        ("diabetes", "progression", "regression", "rmse"),
    ],
)
def test_builtin_datasets_each_task(project, dataset, target, task, metric):
    project.set_params(
        data={
            "source": f"data/builtin/{dataset}.csv",
            "target": target,
            "id_columns": [],
            "drop_columns": [],
        },
        problem={"positive_label": None},
        evaluate={"segments": []},
    )
    # What is checked is evaluate's and train's; the stages after evaluate run for every task
    # in tests/e2e/test_repro.py::test_repro_runs_each_task_then_does_nothing.
    project.dvc("repro", "evaluate")
    metrics = project.read_json("reports/evaluate/metrics.json")
    assert (
        metrics["metrics"]["task"] == task if task != "regression" else "rmse" in metrics["metrics"]
    )
    assert metrics["primary_metric"]["name"] == metric
    train = project.read_json("reports/train/metrics.json")
    dummy = train["vs_baselines"]["dummy"]
    assert (
        dummy["folds_better"] == dummy["folds"]
    )  # real data: the model beats the dummy on every fold
