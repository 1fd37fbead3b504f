"""Retrain with evidence, promote and roll back, in a real git + DVC + GTO project (slow)."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from foldwise.bundle import Bundle
from foldwise.cli import main
from foldwise.errors import FoldwiseError
from foldwise.monitor.simulate import Scenario, write_simulation
from foldwise.production import registry

# The concept change starts in month 2: the champion never saw it, the challenger trains on
# months 1-3 and both are compared on month 4.
SCENARIO = Scenario(
    months=4, rows_per_month=900, train_rows=1500, shift_month=None, concept_month=2,
    label_delay=0, seed=5,
)  # fmt: skip


@pytest.mark.slow
def test_retrain_promote_and_roll_back(project, tmp_path, capsys):
    root = project.root
    manifest = write_simulation(SCENARIO, tmp_path / "sim")
    shutil.copy(manifest["train"], root / "data" / "raw" / "churn.csv")
    project.dvc("add", "data/raw/churn.csv")
    # The quick setting (trial 0, no outer loop): this test is about retraining, not tuning.
    project.set_params(
        data={"source": "data/raw/churn.csv"},
        monitor={"period": "month"},
        tune={"nested": False, "n_trials": 1},
    )
    project.dvc("repro")
    project.commit("champion")
    gto = [sys.executable, "-m", "gto.cli"]
    project.run([*gto, "register", "model", "HEAD", "--version", "v0.1.0"])
    project.run([*gto, "assign", "model", "--version", "v0.1.0", "--stage", "prod"])
    assert registry.stage_version(root).ref == "model@v0.1.0"
    rows_before = (root / "data" / "raw" / "churn.csv").read_text().count("\n")

    main(["retrain", *manifest["batches"], "--labels", *manifest["labels"], "--root", str(root)])
    out = capsys.readouterr().out
    assert "challenger model@v0.2.0 vs champion model@v0.1.0" in out
    assert "challenger better" in out, out
    assert "not promoted; after review: gto assign model --version v0.2.0 --stage prod" in out
    report = (root / "reports" / "retrain" / "report.md").read_text()
    assert "paired bootstrap" in report
    assert "2025-04" in report
    assert "- champion: `model@v0.1.0 (sha256:" in report
    assert "registered as `model@v0.2.0 (sha256:" in report
    rows_after = (root / "data" / "raw" / "churn.csv").read_text().count("\n")
    summary = json.loads((root / "reports" / "retrain" / "comparison.json").read_text())
    assert summary["train_periods"] == ["2025-01", "2025-02", "2025-03"]
    assert summary["recent_periods"] == ["2025-04"]
    # Months 1-3 (the generator's exact duplicates count once).
    assert rows_after - rows_before == summary["appended_rows"] > 0.99 * 3 * SCENARIO.rows_per_month
    # Registered, never promoted by the command.
    assert registry.stage_version(root).ref == "model@v0.1.0"

    # A person promotes after reading the report ...
    project.run([*gto, "assign", "model", "--version", "v0.2.0", "--stage", "prod"])
    assert registry.stage_version(root).ref == "model@v0.2.0"
    promoted = Bundle.load(registry.fetch_bundle(root, "model#prod", tmp_path / "p"))
    # ... and rolls back with one command: prod returns to the previous version.
    project.run([*gto, "deprecate", "model", "v0.2.0", "prod"])
    assert registry.stage_version(root).ref == "model@v0.1.0"
    rolled = Bundle.load(registry.fetch_bundle(root, "model#prod", tmp_path / "r"))
    assert promoted.metadata["train_sha256"] != rolled.metadata["train_sha256"]
    # Nothing earlier than v0.1.0 was in prod: a further rollback refuses.
    with pytest.raises(FoldwiseError, match=r"v0\.1\.0 is the first version deployed to 'prod'"):
        registry.rollback(root)
