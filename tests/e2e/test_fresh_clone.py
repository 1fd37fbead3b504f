"""A fresh clone's first `dvc repro`, on another CPU, reproduces the committed dvc.lock and reports."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.finished import fast_demo_run, finished_copy


@pytest.mark.slow
def test_first_repro_of_a_fresh_clone_leaves_git_status_clean(request, tmp_path):
    # A committed project after its `dvc repro` (a copy of the run tests/e2e/test_production.py
    # shares: tests/support/finished.py::fast_demo_run).
    project = finished_copy(request, tmp_path, "demo-fast", fast_demo_run)
    assert (project.root / ".foldwise" / "tune" / "studies.journal").is_file()
    # tune alone, forced (forcing it with its upstream stages reran generate and prepare too)
    rerun = project.dvc("repro", "--force", "--single-item", "tune")
    assert "timing: this run so far" in rerun.stdout
    project.commit("a run: dvc.lock and reports")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", str(project.root), str(clone)], check=True, capture_output=True
    )
    # No DVC cache in the clone: every stage runs, as for a new user, and as on another x86-64
    # CPU: numpy without its AVX2/AVX-512 kernels and OpenBLAS with its oldest x86-64 kernels
    # (which change the last bits of sums and solves). Reports hold 6 significant digits
    # (foldwise.stage.SIGNIFICANT_DIGITS), so the same text comes out.
    other_cpu = {
        **os.environ,
        "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
        "OPENBLAS_CORETYPE": "Prescott",
    }
    result = subprocess.run(
        [sys.executable, "-m", "dvc", "repro"],
        cwd=clone,
        capture_output=True,
        text=True,
        env=other_cpu,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True
    )
    diff = subprocess.run(["git", "diff"], cwd=clone, capture_output=True, text=True).stdout
    assert status.stdout == "", diff[:3000]
