"""foldwise compare between a single-model run and an ensemble run names both models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from foldwise.cli import main
from foldwise.compare.models import ModelSummary, models_lines
from foldwise.compare.runs import load_run
from tests.compare.helpers import commit, init_repo, write_reports
from tests.support.ensemble import train_ensemble_bundle

ENSEMBLE_TEXT = "ensemble (catboost 0.5, random_forest 0.3, logistic_regression 0.2)"


def _set_model(root: Path, name: str) -> None:
    path = root / "reports" / "train" / "metrics.json"
    train = json.loads(path.read_text())
    path.write_text(json.dumps({**train, "model": name}))


def test_compare_names_the_single_model_and_the_ensembles_members(tmp_path, capsys):
    repo = init_repo(tmp_path)
    write_reports(repo, "T1", 0.80)
    _set_model(repo, "catboost")
    commit(repo, "catboost run")
    write_reports(repo, "T1", 0.81)
    _set_model(repo, "ensemble")
    train_ensemble_bundle("binary", repo / "models" / "model", n=200)
    subprocess.run([sys.executable, "-m", "dvc", "add", "-q", "models/model"], cwd=repo, check=True)
    base, target = load_run(repo, "HEAD"), load_run(repo, None)
    assert base.model == ModelSummary("catboost")
    assert target.model is not None
    assert target.model.text() == ENSEMBLE_TEXT
    code = main(["compare", "HEAD", "--root", str(repo), "--md"])
    assert code in (None, 0)
    out = capsys.readouterr().out
    assert f"**Model:** base catboost → target {ENSEMBLE_TEXT} (the model changed)." in out
    summary = json.loads((repo / "reports" / "compare" / "comparison.json").read_text())
    assert summary["models"]["base"] == {"name": "catboost", "members": []}
    assert summary["models"]["target"]["members"] == [
        {"name": "catboost", "weight": 0.5},
        {"name": "random_forest", "weight": 0.3},
        {"name": "logistic_regression", "weight": 0.2},
    ]


def test_model_lines_say_when_the_model_is_unchanged():
    same = ModelSummary("ensemble", (("catboost", 0.6), ("random_forest", 0.4)))
    assert models_lines(same, same) == [
        "**Model:** base ensemble (catboost 0.6, random_forest 0.4) → target ensemble "
        "(catboost 0.6, random_forest 0.4) (same model).",
        "",
    ]
    assert models_lines(None, None) == []
    assert ModelSummary(None).text() == "unknown"
