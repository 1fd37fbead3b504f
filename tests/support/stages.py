"""Stage scripts run as DVC runs them: a process each, in a project folder, one BLAS thread."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def stage_env() -> dict[str, str]:
    return {**os.environ, **ONE_THREAD_ENV, "PYTHONPATH": str(ROOT / "src")}


def run_stage(root: Path, name: str) -> subprocess.CompletedProcess:
    """Run ``stages/<name>.py`` in ``root``; it must succeed (its output tail otherwise)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "stages" / f"{name}.py")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        env=stage_env(),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def stage_start_up_seconds() -> float:
    """Seconds a stage process spends importing what tune and train import (machine load).

    The model libraries load on first use: the backends the budget tests fit (scikit-learn's,
    CatBoost's) are imported here as the stages import them.
    """
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import foldwise.tuning.run, foldwise.ensembling.shipped, dvclive, "
            "foldwise.models.sklearn_backend, foldwise.models.catboost_backend",
        ],
        check=True,
        env=stage_env(),
    )
    return time.perf_counter() - started
