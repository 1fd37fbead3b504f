"""Helpers for the compare tests: fabricated runs and predictions, throwaway git repositories."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from foldwise.compare.runs import Run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def binary_predictions(n: int, strength: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = 1 / (1 + np.exp(-(strength * (2 * y - 1) + rng.normal(0, 1, n))))
    labels = np.where(y == 1, "Yes", "No")
    return pd.DataFrame(
        {
            "row_id": [f"R{i}" for i in range(n)],
            "y_true": labels,
            "prediction": np.where(p >= 0.5, "Yes", "No"),
            "proba_No": 1 - p,
            "proba_Yes": p,
        }
    )


def make_run(
    label: str,
    values: list[float],
    *,
    metric: str = "roc_auc",
    task: str = "binary",
    fingerprint: str = "F",
    params: dict | None = None,
    predictions: pd.DataFrame | None = None,
    test_sha: str = "T",
) -> Run:
    evaluate = None
    if predictions is not None:
        evaluate = {
            "test_sha256": test_sha,
            "rows": len(predictions),
            "threshold": 0.5,
            "primary_metric": {"name": metric, "value": 0.8, "ci95_low": 0.78, "ci95_high": 0.82},
            "metrics": {"task": task, "roc_auc": 0.8, "log_loss": 0.5, "f1": 0.7},
        }
    return Run(
        label=label,
        sha=None,
        params=params or {},
        train={
            "task": task,
            "primary_metric": metric,
            "folds": len(values),
            "folds_fingerprint": fingerprint,
            "cv": {
                metric: {
                    "mean": float(np.nanmean(np.asarray(values, dtype="float64"))),
                    "values": values,
                }
            },
        },
        evaluate=evaluate,
        segments=[],
        predictions=predictions,
    )


BASE_SCORES = [0.850, 0.860, 0.845, 0.855, 0.852]


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def init_repo(tmp_path: Path) -> Path:
    """An empty git + DVC repository with a params.yaml, committed."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True)
    (root / "params.yaml").write_text("seed: 1\nproblem:\n  positive_label: Yes\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def write_reports(root: Path, test_sha: str, auc: float) -> None:
    train = make_run("x", [auc, auc + 0.01, auc - 0.01]).train
    (root / "reports" / "train").mkdir(parents=True, exist_ok=True)
    (root / "reports" / "evaluate").mkdir(parents=True, exist_ok=True)
    (root / "reports" / "train" / "metrics.json").write_text(json.dumps(train))
    (root / "reports" / "evaluate" / "metrics.json").write_text(
        json.dumps({"test_sha256": test_sha, "primary_metric": {"value": auc}})
    )


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    return git(root, "rev-parse", "HEAD")
