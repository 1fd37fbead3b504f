"""A few hostile inputs through real stage processes: what the user's terminal shows."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.hostile import ROOT, Tiny, tiny_table


def _project(tmp_path: Path) -> Tiny:
    project = Tiny(tmp_path / "p")
    shutil.copytree(ROOT / "stages", project.root / "stages")
    project.write_frame(tiny_table())
    return project


def _run(project: Tiny, stage: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, f"stages/{stage}.py"],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess, *culprits: str) -> str:
    # The tune stage's own progress bar is cleared before the error; its frames stay in the
    # captured stream, each ending in a carriage return.
    lines = [
        line for line in result.stderr.splitlines() if line.strip() and not line.startswith("tune:")
    ]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for culprit in culprits:
        assert culprit in lines[0]
    return lines[0]


def test_semicolon_file_with_default_separator_hints_the_setting(tmp_path: Path) -> None:
    project = _project(tmp_path)
    text = tiny_table().assign(x1=lambda f: f.x1.map(lambda v: f"{v:.4f}".replace(".", ",")))
    project.write_text("data/raw/table.csv", text.to_csv(index=False, sep=";"))
    _one_line(_run(project, "prepare"), "table.csv", 'data.csv_separator: ";"')
    assert not project.exists("data/prepared/train.parquet")


@pytest.mark.slow
def test_a_fit_error_during_tuning_shows_no_optuna_trace(tmp_path: Path) -> None:
    """A value only the fit refuses: one line, without Optuna's "Trial 0 failed" warning."""
    project = _project(tmp_path)
    assert _run(project, "prepare").returncode == 0
    # CatBoost's parameter check accepts it; its classifier refuses it when fitting.
    project.set({"model": {"catboost": {"loss_function": "RMSE"}}})
    result = _run(project, "tune")
    _one_line(result, "CatBoost", "model.catboost")
    assert "Trial" not in result.stderr, result.stderr
    assert not project.exists("models/best_params.json")


@pytest.mark.slow
def test_truncated_model_file_is_one_line_naming_it(tmp_path: Path) -> None:
    project = _project(tmp_path)
    for stage in ("prepare", "baseline", "tune", "train"):
        assert _run(project, stage).returncode == 0, stage
    model = project.path("models/model/model/model.cbm")
    model.write_bytes(model.read_bytes()[:200])
    _one_line(_run(project, "evaluate"), "model.cbm", "dvc repro")
    assert not project.exists("reports/evaluate/metrics.json")
