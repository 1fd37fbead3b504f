"""One run of the pipeline as a comparison reads it: its reports, params and test predictions.

Files are read through :class:`dvc.api.DVCFileSystem`, so git-tracked reports and
DVC-cached predictions come from commits and experiments alike.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foldwise.compare.models import ModelSummary, read_model_summary
from foldwise.errors import FoldwiseError
from foldwise.metrics import METRICS

TRAIN_METRICS = "reports/train/metrics.json"
EVALUATE_METRICS = "reports/evaluate/metrics.json"
SEGMENTS = "reports/evaluate/segments.json"
PREDICTIONS = "reports/evaluate/predictions.parquet"
PARAMS = "params.yaml"
WORKSPACE = "workspace"

# --- reading a run ----------------------------------------------------------------------


@dataclass
class Run:
    """What one revision's pipeline produced, as far as a comparison needs it."""

    label: str
    sha: str | None  # None: the workspace
    params: dict[str, Any]
    train: dict[str, Any]
    evaluate: dict[str, Any] | None
    segments: list[dict[str, Any]]
    predictions: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)
    importance: dict[str, Any] | None = None  # reports/explain/importance.json
    model: ModelSummary | None = None  # the model it shipped (an ensemble's members, weights)

    @property
    def task(self) -> str:
        task = self.train.get("task") or ((self.evaluate or {}).get("metrics") or {}).get("task")
        if task is None:
            raise FoldwiseError(
                f"compare: {self.label}: {TRAIN_METRICS} does not say the task and there is "
                f"no {EVALUATE_METRICS}; rerun the pipeline there"
            )
        return str(task)

    @property
    def primary(self) -> str:
        return str(self.train["primary_metric"])

    @property
    def test_sha256(self) -> str | None:
        return (self.evaluate or {}).get("test_sha256")

    def test_train_ratio(self) -> float:
        """Mean rows scored / rows fitted per fold (k-fold: 1 / (k - 1))."""
        rows = self.train.get("fold_rows")
        if rows and rows.get("fit") and rows.get("scored"):
            return float(np.mean(np.asarray(rows["scored"]) / np.asarray(rows["fit"])))
        k = int(self.train.get("folds") or 0)
        return 1.0 / (k - 1) if k > 1 else 1.0


def resolve_revision(root: Path, rev: str, command: str = "compare") -> str:
    """The commit a git revision or DVC experiment name points at; one-line error if none."""
    from dvc.scm import RevError, resolve_rev
    from scmrepo.git import Git

    try:
        scm = Git(str(root))
    except Exception as exc:  # scmrepo raises its own errors for a non-repository
        raise FoldwiseError(f"{command}: {root} is not a git repository ({exc})") from None
    try:
        return str(resolve_rev(scm, rev))
    except RevError:
        raise FoldwiseError(
            f"{command}: {rev!r} is neither a git revision nor a DVC experiment in this "
            "repository (see `git log` and `dvc exp list`)"
        ) from None
    finally:
        scm.close()


def stale_stages(root: Path) -> list[str]:
    """Stages whose outputs do not match the workspace's params, code or data (``dvc status``)."""
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            status = repo.status()
    except Exception:  # no DVC project or an unreadable one: nothing to say
        return []
    return sorted(name.split(":")[-1] for name in status)


@dataclass(frozen=True)
class _RevisionFiles:
    """A revision's files through DVC's file system, read as bytes or JSON (None if absent)."""

    fs: Any
    label: str
    command: str

    def read(self, path: str) -> bytes | None:
        try:
            if not self.fs.isfile(path):
                return None
            return bytes(self.fs.read_bytes(path))
        except FileNotFoundError:
            return None

    def read_json(self, path: str) -> Any:
        raw = self.read(path)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise FoldwiseError(f"{self.command}: {self.label}: {path} is not valid JSON") from None


def load_run(root: Path, rev: str | None, command: str = "compare") -> Run:
    """Read a revision's reports (``rev`` None: the workspace) through DVC's file system."""
    from dvc.api import DVCFileSystem

    sha = None if rev is None else resolve_revision(root, rev, command)
    label = WORKSPACE if rev is None else rev
    files = _RevisionFiles(DVCFileSystem(str(root), rev=sha), label, command)
    train = _train_metrics(files)
    params = _params(files)
    evaluate = files.read_json(EVALUATE_METRICS)
    importance = files.read_json("reports/explain/importance.json")
    segments = files.read_json(SEGMENTS) or {}
    predictions, notes = _test_predictions(files) if evaluate is not None else (None, [])
    if sha is None:
        stale = stale_stages(root)
        if stale:
            notes.append(
                f"The workspace's reports are out of date for stage(s) {', '.join(stale)} "
                "(`dvc status`): its params.yaml, code or data changed since they were written; "
                "run `dvc repro` first for a comparison of what is in the workspace."
            )
    return Run(
        label=label,
        sha=sha,
        params=params if isinstance(params, dict) else {},
        train=train,
        evaluate=evaluate,
        segments=segments.get("segments", []) if isinstance(segments, dict) else [],
        predictions=predictions,
        notes=notes,
        importance=importance if isinstance(importance, dict) else None,
        model=read_model_summary(train, files.read_json),
    )


def _train_metrics(files: _RevisionFiles) -> dict[str, Any]:
    """The train stage's metrics, which must hold per-fold scores of the primary metric."""
    command, label = files.command, files.label
    train = files.read_json(TRAIN_METRICS)
    if train is None:
        raise FoldwiseError(
            f"{command}: {label} has no {TRAIN_METRICS}; run the pipeline there first "
            "(`dvc repro` and commit, or `dvc exp run`)"
        )
    primary = train.get("primary_metric")
    if primary not in (train.get("cv") or {}) or "values" not in train["cv"][primary]:
        raise FoldwiseError(
            f"{command}: {label}: {TRAIN_METRICS} has no per-fold scores of its primary metric "
            f"{primary!r}; it was written by an older foldwise; rerun `dvc repro` there"
        )
    return dict(train)


def _params(files: _RevisionFiles) -> Any:
    """The revision's params.yaml as parsed (``{}`` when there is none)."""
    from foldwise.config import parse_params_text

    raw_params = files.read(PARAMS)
    if raw_params is None:
        return {}
    try:
        return parse_params_text(raw_params.decode("utf-8")) or {}
    except Exception:
        raise FoldwiseError(f"{files.command}: {files.label}: {PARAMS} is not valid YAML") from None


def _test_predictions(files: _RevisionFiles) -> tuple[pd.DataFrame | None, list[str]]:
    """The evaluate stage's test predictions, or a note saying why they are unavailable."""
    label = files.label
    try:
        raw_pred = files.read(PREDICTIONS)
    except Exception as exc:  # not in the cache and no remote that has it
        return None, [f"{label}: test predictions unavailable ({type(exc).__name__}: {exc})"]
    if raw_pred is None:
        return None, [
            f"{label}: {PREDICTIONS} is not in the local DVC cache; `dvc pull` it (or "
            "configure a DVC remote) for the paired test-set comparison"
        ]
    return pd.read_parquet(io.BytesIO(raw_pred)), []


# --- test predictions -------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """A run's test predictions as metric inputs: codes + probabilities, or values."""

    y: np.ndarray
    x: np.ndarray
    threshold: float
    classes: list[str]


def scored_predictions(run: Run) -> Scored | None:
    """y and probabilities (classification) or predictions (regression) from predictions.parquet."""
    frame = run.predictions
    if frame is None or "y_true" not in frame:
        return None
    if run.task == "regression":
        return Scored(
            frame["y_true"].to_numpy("float64"), frame["prediction"].to_numpy("float64"), 0.5, []
        )
    proba_cols = [c for c in frame.columns if c.startswith("proba_")]
    classes = [c.removeprefix("proba_") for c in proba_cols]
    index = {label: i for i, label in enumerate(classes)}
    labels = frame["y_true"].astype("object").map(str)
    if not labels.isin(index).all():
        return None
    threshold = float((run.evaluate or {}).get("threshold") or 0.5)
    return Scored(
        labels.map(index).to_numpy("int64"),
        frame[proba_cols].to_numpy("float64"),
        threshold,
        classes,
    )


def reported_test_metrics(run: Run) -> list[str]:
    """The registered metrics the evaluate report holds for this task, primary first."""
    reported = (run.evaluate or {}).get("metrics") or {}
    names = [
        name
        for name, metric in METRICS.items()
        if name in reported and run.task in metric.tasks and isinstance(reported[name], int | float)
    ]
    names.sort(key=lambda name: name != run.primary)
    return names
