"""foldwise compare: reading runs from revisions and the workspace, their test predictions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from foldwise.compare.runs import load_run, scored_predictions
from foldwise.errors import FoldwiseError
from tests.compare.helpers import BASE_SCORES, commit, init_repo, make_run, write_reports


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path)


def test_scored_predictions_maps_numeric_labels():
    frame = pd.DataFrame(
        {
            "y_true": [0, 2, 1],
            "prediction": [0, 2, 2],
            "proba_0": [0.8, 0.1, 0.1],
            "proba_1": [0.1, 0.1, 0.3],
            "proba_2": [0.1, 0.8, 0.6],
        }
    )
    run = make_run("a", BASE_SCORES, metric="log_loss", task="multiclass", predictions=frame)
    scored = scored_predictions(run)
    assert scored is not None
    assert scored.y.tolist() == [0, 2, 1]
    assert scored.classes == ["0", "1", "2"]


def test_load_run_reads_a_commit_and_the_workspace(repo):
    write_reports(repo, "T1", 0.8)
    commit(repo, "run 1")
    write_reports(repo, "T1", 0.9)
    committed = load_run(repo, "HEAD")
    workspace = load_run(repo, None)
    assert committed.train["cv"]["roc_auc"]["mean"] == pytest.approx(0.8)
    assert workspace.train["cv"]["roc_auc"]["mean"] == pytest.approx(0.9)
    assert committed.params["problem"]["positive_label"] == "Yes"  # YAML 1.2: not True
    assert committed.sha is not None
    assert workspace.label == "workspace"
    assert any("not in the local DVC cache" in note for note in committed.notes)


def test_load_run_errors_name_the_revision(repo):
    with pytest.raises(FoldwiseError, match=r"HEAD has no reports/train/metrics\.json"):
        load_run(repo, "HEAD")
    with pytest.raises(FoldwiseError, match="'no-such-exp' is neither a git revision nor a DVC"):
        load_run(repo, "no-such-exp")
    (repo / "reports" / "train").mkdir(parents=True)
    (repo / "reports" / "train" / "metrics.json").write_text(
        json.dumps({"primary_metric": "roc_auc", "cv": {"roc_auc": {"mean": 0.8}}})
    )
    with pytest.raises(FoldwiseError, match="no per-fold scores"):
        load_run(repo, None)


def test_cli_errors_are_one_line_with_exit_2(repo):
    result = subprocess.run(
        [sys.executable, "-m", "foldwise.cli", "compare", "nope", "--root", str(repo)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: compare: 'nope' is neither")
