"""validate's gate, edge cases, ONNX export and the model card with an ensemble bundle."""

from __future__ import annotations

import json

import pytest
from threadpoolctl import threadpool_limits

from foldwise.config.operations import ProductionConfig
from foldwise.paths import ProjectPaths
from foldwise.production.card import render_card
from foldwise.production.edge_cases import run_edge_cases
from foldwise.production.export import export_onnx
from foldwise.production.gate import gate_metrics, render_gate, run_gate
from tests.support.ensemble import train_ensemble_bundle

TASKS = ["binary", "multiclass", "regression"]
REASON = (
    "an ensemble (catboost 0.5, random_forest 0.3, logistic_regression 0.2) is not exported to ONNX"
)


@pytest.fixture(autouse=True)
def one_thread():
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    out = {}
    for task in TASKS:
        folder = tmp_path_factory.mktemp(task) / "bundle"
        bundle, table = train_ensemble_bundle(task, folder)
        out[task] = (bundle, table, folder)
    return out


@pytest.mark.parametrize("task", TASKS)
def test_every_edge_case_holds_for_an_ensemble(bundles, task):
    bundle, table, _ = bundles[task]
    rows = table.drop(columns=["label"]).head(200)
    cases = {case["name"]: case for case in run_edge_cases(bundle, rows, large_rows=2000)}
    assert len(cases) == 9
    for case in cases.values():
        assert case["passed"], case
    assert "'x1'" in cases["missing column"]["detail"]


@pytest.mark.parametrize("task", TASKS)
def test_onnx_export_of_an_ensemble_says_why_not(bundles, task, tmp_path):
    bundle, table, _ = bundles[task]
    result = export_onnx(bundle, table.head(50), tmp_path / "model.onnx")
    assert result["exported"] is False
    assert result["reason"].startswith(REASON)
    assert "stays the deployable artifact" in result["reason"]
    assert not (tmp_path / "model.onnx").exists()


def test_the_gate_measures_an_ensemble_bundle_in_a_fresh_process(bundles, tmp_path):
    _, table, folder = bundles["binary"]
    train = tmp_path / "train.parquet"
    table.to_parquet(train)
    config = ProductionConfig(
        max_latency_ms=10_000, min_rows_per_s=1, latency_calls=20, large_batch_rows=500
    )
    result = run_gate(folder, train, config, tmp_path / "model.onnx", seed=0)
    report = result.report
    assert result.failures == []
    assert report["model"] == "ensemble"
    assert report["verdict"] == "pass"
    assert report["figures"]["latency_p99_ms"] > 0
    assert report["figures"]["model_mb"] > 0
    assert any(name.startswith("model/members/00_catboost/") for name in report["bundle_files"])
    text = render_gate(report)
    assert f"Not exported: {REASON}" in text
    metrics = gate_metrics(report)
    assert metrics["verdict_pass"] is True
    assert metrics["onnx_exported"] is False
    assert metrics["edge_cases_passed"] == metrics["edge_cases"] == 9


def test_the_card_lists_the_members_and_their_weights(bundles, tmp_path):
    bundle, _, _ = bundles["multiclass"]
    paths = ProjectPaths(tmp_path)
    export = paths.models_dir / "export"
    export.mkdir(parents=True)
    (export / "export.json").write_text(
        json.dumps({"exported": False, "reason": "an ensemble (...) is not exported to ONNX"})
    )
    validate = paths.report_dir("validate")
    validate.mkdir(parents=True)
    gate = {"verdict_pass": True, "model_mb": 1.5, "edge_cases_passed": 9, "edge_cases": 9}
    (validate / "metrics.json").write_text(json.dumps(gate))
    card = render_card(paths, bundle)
    assert (
        "- model: ensemble, the weighted sum of 3 member(s)' probabilities (weights chosen on "
        "out-of-fold predictions, summing to one):" in card
    )
    assert "  - catboost: weight 0.500" in card
    assert "  - random_forest: weight 0.300\n" in card
    assert "  - logistic_regression: weight 0.200\n" in card
    assert "- ONNX export: no. an ensemble (...) is not exported to ONNX" in card
    regression = render_card(paths, bundles["regression"][0])
    assert "weighted sum of 3 member(s)' predictions" in regression
