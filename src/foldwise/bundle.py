"""The model bundle: everything needed to score raw rows, in one folder."""

from __future__ import annotations

import importlib.metadata
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foldwise.artifacts import REBUILD, damaged, missing, read_json_checked
from foldwise.errors import FoldwiseError
from foldwise.integrity import (
    SELF_HASH_KEY,
    folder_hashes,
    read_verified_manifest,
    seal_manifest,
)
from foldwise.models import MODEL_FILE, MODEL_NAMES, PIPELINE_FILE, TabularModel, saved_model_file
from foldwise.models.ensemble import ENSEMBLE_FILE, EnsembleModel, load_model
from foldwise.problem import Problem
from foldwise.scoring.ensemble import EnsembleScorer, scorer_for
from foldwise.scoring.fast import FastScorer
from foldwise.scoring.rows import Rows
from foldwise.stage import rounded, staged_folder

# 2: sha256 of every file in the manifest; scikit-learn pipelines as skops, not joblib.
BUNDLE_FORMAT = 2
MANIFEST = "bundle.json"
MODEL_DIR = "model"
INPUT_SCHEMA = "input_schema.json"
REFERENCE = "reference.json"  # the monitoring reference profile (foldwise.profile.reference)
LIBRARIES = ("foldwise", "catboost", "scikit-learn", "pandas", "numpy")
NAME_HASH_CHARS = 12  # of the content hash, in a bundle's name


def bundle_name(sha256: str, version: str | None = None) -> str:
    """A bundle's one name, in the prediction log, ``/health`` and every report.

    ``model@v1.2.0 (sha256:abcdef123456)`` when it is a registered version (``version`` is the
    GTO ref), else ``sha256:abcdef123456``. The hash is the manifest's own sha256
    (:attr:`Bundle.sha256`), which covers every file's sha256, so two bundles share a name only
    if every byte of every file agrees.
    """
    short = f"sha256:{sha256[:NAME_HASH_CHARS]}"
    return f"{version} ({short})" if version else short


def bundle_sha256(directory: Path) -> str:
    """The content hash of the bundle in ``directory`` (its manifest's own sha256), unverified.

    Read it after :meth:`Bundle.load` checked the folder, or use :attr:`Bundle.sha256`.
    """
    path = Path(directory) / MANIFEST
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get(SELF_HASH_KEY)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        value = None
    if not isinstance(value, str):
        raise FoldwiseError(f"{path}: not a foldwise bundle manifest with a content hash")
    return value


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
    """A fitted model with its schema, label mapping, threshold and provenance.

    ``model`` is one :class:`TabularModel` or an :class:`EnsembleModel` (its folder then holds
    ``ensemble.json`` and one saved member per folder; every file is in the manifest's hashes).
    """

    model: TabularModel | EnsembleModel
    problem: Problem
    features: list[dict[str, Any]]
    threshold: float | None
    metadata: dict[str, Any] = field(default_factory=dict)
    # JSON Schema of one input row with what training saw (foldwise.profile.contract).
    input_schema: dict[str, Any] | None = None
    # What training rows and predictions looked like, for `foldwise monitor` (reference.json).
    reference: dict[str, Any] | None = None
    # sha256 of every file of the folder, as recorded in the manifest (filled by save/load).
    files: dict[str, str] = field(default_factory=dict)
    # The manifest's own sha256, covering all of the above: the content hash (save/load).
    sha256: str = ""
    _scorer: FastScorer | EnsembleScorer | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def save(self, directory: Path) -> None:
        """Write the bundle to ``directory`` (replaced as a whole, never half-written)."""
        with staged_folder(directory) as staging:
            self.model.save(staging / MODEL_DIR)
            if self.input_schema is not None:
                # Floats rounded like every report (foldwise.stage.rounded), so the files and
                # their hashes reproduce on another CPU.
                text = json.dumps(
                    rounded(self.input_schema), indent=2, allow_nan=False, default=str
                )
                (staging / INPUT_SCHEMA).write_text(text + "\n", encoding="utf-8")
            if self.reference is not None:
                text = json.dumps(rounded(self.reference), indent=1, allow_nan=False, default=str)
                (staging / REFERENCE).write_text(text + "\n", encoding="utf-8")
            # Hash last, after every file is in place, whoever wrote it.
            self.files = folder_hashes(staging, MANIFEST)
            manifest = seal_manifest(
                rounded(
                    {
                        "format": BUNDLE_FORMAT,
                        "problem": self.problem.to_dict(),
                        "features": self.features,
                        "threshold": self.threshold,
                        "metadata": self.metadata,
                        "files": self.files,
                    }
                )
            )
            text = json.dumps(manifest, indent=2, default=str)
            (staging / MANIFEST).write_text(text + "\n", encoding="utf-8")
            self.sha256 = manifest[SELF_HASH_KEY]

    @classmethod
    def load(cls, directory: Path) -> Bundle:
        """Read a bundle written by :meth:`save`, after checking every file's sha256."""
        directory = Path(directory)
        # Verified before any model file is opened: nothing is deserialised unchecked.
        manifest = read_verified_manifest(directory, MANIFEST)
        manifest_path = directory / MANIFEST
        if manifest.get("format") != BUNDLE_FORMAT:
            raise FoldwiseError(
                f"{manifest_path}: bundle format {manifest.get('format')!r} is not supported "
                f"(expected {BUNDLE_FORMAT}); retrain with dvc repro train"
            )
        schema_path = directory / INPUT_SCHEMA
        return cls(
            model=load_model(directory / MODEL_DIR),
            problem=Problem.from_dict(manifest["problem"]),
            features=manifest["features"],
            threshold=manifest["threshold"],
            metadata=manifest.get("metadata", {}),
            input_schema=json.loads(schema_path.read_text()) if schema_path.is_file() else None,
            reference=load_reference(directory),
            files=dict(manifest["files"]),
            sha256=str(manifest[SELF_HASH_KEY]),
        )

    @property
    def scorer(self) -> FastScorer | EnsembleScorer:
        """The fast raw-row scorer of this bundle's model (built once; per member for an ensemble)."""
        if self._scorer is None:
            self._scorer = scorer_for(self.model)
        return self._scorer

    def predict_scores(self, rows: Rows) -> np.ndarray:
        """Class probabilities (n, k) or regression values (n,) for raw rows."""
        return self.scorer.scores(rows)

    def name(self, version: str | None = None) -> str:
        """This bundle's name (:func:`bundle_name`); ``version`` is its GTO ref, if registered."""
        return bundle_name(self.sha256, version)

    def predict_codes(self, scores: np.ndarray) -> np.ndarray:
        """Hard predictions as class codes, using the bundle's threshold for binary tasks."""
        if self.problem.task == "binary":
            threshold = 0.5 if self.threshold is None else self.threshold
            return (scores[:, 1] >= threshold).astype("int64")
        return scores.argmax(axis=1)

    def predict(self, rows: Rows) -> pd.DataFrame:
        """Score raw rows: a frame of predictions (original labels) and class probabilities.

        ``rows`` is a table, or one mapping of column to value, or a list of them (parsed
        JSON); the result's index is the table's, else 0..n-1.
        """
        scores = self.predict_scores(rows)
        index = rows.index if isinstance(rows, pd.DataFrame) else pd.RangeIndex(len(scores))
        columns: dict[str, Any] = {}
        if self.problem.task == "regression":
            columns["prediction"] = scores
        else:
            assert self.problem.classes is not None
            columns["prediction"] = self.problem.decode(self.predict_codes(scores))
            for i, label in enumerate(self.problem.classes):
                columns[f"proba_{label}"] = scores[:, i]
        return pd.DataFrame(columns, index=index, copy=False)

    def predict_records(self, rows: Rows) -> list[dict[str, Any]]:
        """Score raw rows into plain dicts (for JSON): ``prediction`` and ``proba_<label>``."""
        scores = self.predict_scores(rows)
        if self.problem.task == "regression":
            return [{"prediction": float(v)} for v in scores]
        assert self.problem.classes is not None
        labels = self.problem.decode(self.predict_codes(scores))
        names = [f"proba_{label}" for label in self.problem.classes]
        return [
            {"prediction": label, **dict(zip(names, row.tolist(), strict=True))}
            for label, row in zip(labels, scores, strict=True)
        ]


def _saved_model_file(folder: Path) -> Path:
    """The model file of one saved model folder, after checking its ``model.json``."""
    state = read_json_checked(folder / MODEL_FILE, ("format", "params", "fitted"))
    params = state.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    model_file = folder / (saved_model_file(name) if name in MODEL_NAMES else PIPELINE_FILE)
    if not model_file.is_file():
        raise missing(model_file)
    return model_file


def _model_files(folder: Path) -> list[Path]:
    """The model files of a bundle's model folder: one model, or every ensemble member's."""
    if not (folder / ENSEMBLE_FILE).is_file():
        return [_saved_model_file(folder)]
    state = read_json_checked(folder / ENSEMBLE_FILE, ("format", "members"))
    members = state["members"]
    if not isinstance(members, list) or not all(
        isinstance(m, dict) and isinstance(m.get("folder"), str) for m in members
    ):
        raise FoldwiseError(
            f"{folder / ENSEMBLE_FILE}: 'members' must be a list of objects with a folder; "
            f"{REBUILD}"
        )
    return [_saved_model_file(folder / m["folder"]) for m in members]


def load_bundle_checked(directory: Path) -> Bundle:
    """The model bundle in ``directory``; any read failure names the file that failed."""
    if not directory.is_dir():
        raise FoldwiseError(f"{directory}: model bundle not found; {REBUILD}")
    read_json_checked(directory / MANIFEST, ("format", "problem", "features"))
    model_files = _model_files(directory / MODEL_DIR)
    try:
        return Bundle.load(directory)
    except FoldwiseError:
        raise
    except Exception as exc:  # CatBoost, joblib/pickle, KeyError from a hand-edited manifest
        culprit = model_files[0] if len(model_files) == 1 else directory / MODEL_DIR
        if isinstance(exc, KeyError | TypeError):
            culprit = directory / MANIFEST
        raise damaged(culprit, exc) from None
