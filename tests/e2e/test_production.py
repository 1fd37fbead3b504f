"""End to end: `dvc repro` runs validate and card; validate never reads the test table."""

from __future__ import annotations

import pytest

from tests.support.finished import fast_demo_run, finished_copy

CARD_HEADINGS = (
    "## Intended use",
    "## Training data and model version",
    "## How good is it",
    "## Where it does worse",
    "## Data audit warnings",
    "## Top features",
    "## In production",
    "## Library versions",
)


@pytest.mark.slow
def test_validate_gates_the_pipeline_and_the_card_follows(request, tmp_path):
    # The whole pipeline on the demo, with a cheaper latency measurement (a copy of the run
    # tests/e2e/test_fresh_clone.py shares: tests/support/finished.py::fast_demo_run).
    project = finished_copy(request, tmp_path, "demo-fast", fast_demo_run)
    assert "Running stage" not in project.dvc("repro", "card").stdout
    report = project.read_json("reports/validate/report.json")
    assert report["verdict"] == "pass"
    assert all(case["passed"] for case in report["edge_cases"])
    assert not report["onnx"]["exported"]  # the demo's CatBoost has categorical features
    card = (project.root / "reports/validate/model_card.md").read_text()
    for heading in CARD_HEADINGS:
        assert heading in card
    assert "**Sealed test set**" in card
    assert "**Honest estimate**" in card

    # Proof by instrument: the sealed table replaced by garbage changes nothing for validate.
    (project.root / "data/prepared/test.parquet").write_bytes(b"not a parquet file")
    project.dvc("repro", "-f", "-s", "validate")

    project.set_params(production={"max_latency_ms": 0.001})
    failed = project.dvc("repro", "-s", "validate", check=False)
    assert failed.returncode != 0
    assert "error: validate: production.max_latency_ms: measured " in failed.stderr
    assert "budget at most 0.001" in failed.stderr
    text = (project.root / "reports/validate/report.md").read_text()
    assert "# Production readiness: FAIL" in text
