"""A fresh clone's first `dvc repro` reproduces the committed dvc.lock: `git status` stays clean."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_first_repro_of_a_fresh_clone_leaves_git_status_clean(project, tmp_path):
    project.dvc("repro")
    assert (project.root / ".foldwise" / "tune" / "studies.journal").is_file()
    assert "timing: this run so far" in project.dvc("repro", "--force", "tune").stdout
    project.commit("a run: dvc.lock and reports")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", str(project.root), str(clone)], check=True, capture_output=True
    )
    # No DVC cache in the clone: every stage runs, as for a new user.
    result = subprocess.run(
        [sys.executable, "-m", "dvc", "repro"], cwd=clone, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""
