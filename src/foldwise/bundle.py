"""The model bundle: everything needed to score raw rows, in one folder."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foldwise.errors import FoldwiseError
from foldwise.models import TabularModel, feature_frame
from foldwise.problem import Problem

BUNDLE_FORMAT = 1
MANIFEST = "bundle.json"
MODEL_DIR = "model"
REFERENCE = "reference.json"  # the monitoring reference profile (foldwise.monitor.reference)
LIBRARIES = ("foldwise", "catboost", "scikit-learn", "pandas", "numpy")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a bundle depends on."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def load_reference(directory: Path) -> dict[str, Any] | None:
    """The bundle's reference profile (``reference.json``), or None if it has none."""
    path = directory / REFERENCE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FoldwiseError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


@dataclass
class Bundle:
    """A fitted model with its schema, label mapping, threshold and provenance."""

    model: TabularModel
    problem: Problem
    features: list[dict[str, Any]]
    threshold: float | None
    metadata: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] | None = None

    def save(self, directory: Path) -> None:
        """Write the bundle to ``directory`` (replaced as a whole, never half-written)."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
        try:
            self.model.save(staging / MODEL_DIR)
            manifest = {
                "format": BUNDLE_FORMAT,
                "problem": self.problem.to_dict(),
                "features": self.features,
                "threshold": self.threshold,
                "metadata": self.metadata,
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
            if self.reference is not None:
                text = json.dumps(self.reference, indent=1, allow_nan=False, default=str)
                (staging / REFERENCE).write_text(text + "\n")
            if directory.exists():
                shutil.rmtree(directory)
            staging.rename(directory)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    @classmethod
    def load(cls, directory: Path) -> Bundle:
        """Read a bundle written by :meth:`save`."""
        manifest_path = directory / MANIFEST
        if not manifest_path.is_file():
            raise FoldwiseError(f"{directory}: not a foldwise model bundle (no {MANIFEST})")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != BUNDLE_FORMAT:
            raise FoldwiseError(
                f"{manifest_path}: bundle format {manifest.get('format')!r} is not supported "
                f"(expected {BUNDLE_FORMAT})"
            )
        return cls(
            model=TabularModel.load(directory / MODEL_DIR),
            problem=Problem.from_dict(manifest["problem"]),
            features=manifest["features"],
            threshold=manifest["threshold"],
            metadata=manifest.get("metadata", {}),
            reference=load_reference(directory),
        )

    def predict_scores(self, rows: pd.DataFrame) -> np.ndarray:
        """Class probabilities (n, k) or regression values (n,) for raw rows."""
        X = feature_frame(rows, self.features)
        if self.problem.task == "regression":
            return np.asarray(self.model.predict(X), dtype="float64")
        return np.asarray(self.model.predict_proba(X), dtype="float64")

    def predict_codes(self, scores: np.ndarray) -> np.ndarray:
        """Hard predictions as class codes, using the bundle's threshold for binary tasks."""
        if self.problem.task == "binary":
            threshold = 0.5 if self.threshold is None else self.threshold
            return (scores[:, 1] >= threshold).astype("int64")
        return scores.argmax(axis=1)

    def predict(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Score raw rows: a frame of predictions (original labels) and class probabilities."""
        scores = self.predict_scores(rows)
        out = pd.DataFrame(index=rows.index)
        if self.problem.task == "regression":
            out["prediction"] = scores
            return out
        assert self.problem.classes is not None
        out["prediction"] = self.problem.decode(self.predict_codes(scores))
        for i, label in enumerate(self.problem.classes):
            out[f"proba_{label}"] = scores[:, i]
        return out
