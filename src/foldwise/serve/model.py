"""A bundle loaded for serving: its version, its input contract and row scoring for the log."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foldwise.bundle import Bundle
from foldwise.errors import FoldwiseError

VERSION_CHARS = 12
# JSON types accepted per feature kind (raw input format: numbers may come as text, as in a CSV).
JSON_TYPES = {
    "numeric": ("number", "string", "null"),
    "categorical": ("string", "number", "boolean", "null"),
    "boolean": ("boolean", "number", "string", "null"),
    "datetime": ("string", "null"),
}
_PY_TYPES = {
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
}


def bundle_sha256(directory: Path) -> str:
    """A hash of every file in a bundle folder (relative names and bytes, in sorted order)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass
class Scores:
    """One model's answer for the rows of a request."""

    version: str
    labels: list[Any] | None  # classification: original labels; None for regression
    value: np.ndarray  # regression value, P(positive) (binary) or P(predicted class)
    proba: np.ndarray | None  # (n, k) in the bundle's class order; None for regression

    def log_fields(self, prefix: str = "") -> dict[str, Any]:
        """The prediction columns of the log record (``prefix`` ``"shadow_"`` for the shadow)."""
        return {
            f"{prefix}model_version": self.version,
            f"{prefix}prediction": None
            if self.labels is None
            else [str(label) for label in self.labels],
            f"{prefix}value": self.value.tolist(),
            f"{prefix}proba": None if self.proba is None else self.proba.tolist(),
        }


@dataclass
class ServedModel:
    """A loaded bundle with the version it is served as."""

    bundle: Bundle
    version: str
    path: Path

    @classmethod
    def load(cls, path: Path, version: str | None = None) -> ServedModel:
        """Load a bundle folder; its version is ``version`` or its content hash prefix."""
        bundle = Bundle.load(path)
        return cls(bundle, version or bundle_sha256(path)[:VERSION_CHARS], path)

    @property
    def task(self) -> str:
        return self.bundle.problem.task

    @property
    def id_column(self) -> str | None:
        """The first id column of the training table, if the bundle records it."""
        columns = self.bundle.metadata.get("id_columns") or []
        return str(columns[0]) if columns else None

    @property
    def feature_names(self) -> list[str]:
        return [str(feature["name"]) for feature in self.bundle.features]

    def describe(self) -> dict[str, Any]:
        """What a log reader needs to interpret this model's rows (no file paths)."""
        problem = self.bundle.problem
        return {
            "model_version": self.version,
            "problem": problem.to_dict(),
            "threshold": self.bundle.threshold,
            "features": self.bundle.features,
            "id_column": self.id_column,
        }

    def contract(self) -> dict[str, Any]:
        """The input contract served at ``/schema``."""
        problem = self.bundle.problem
        features = []
        for feature in self.bundle.features:
            entry = {
                "name": str(feature["name"]),
                "kind": feature["kind"],
                "json_types": list(JSON_TYPES[feature["kind"]]),
            }
            if feature["kind"] == "categorical":
                entry["categories_seen"] = feature.get("categories", [])
                entry["n_categories"] = feature.get("n_categories")
            features.append(entry)
        return {
            "model_version": self.version,
            "task": problem.task,
            "target": problem.target,
            "classes": None if problem.classes is None else list(problem.classes),
            "positive_label": problem.positive_label if problem.task == "binary" else None,
            "threshold": self.threshold,
            "id_column": self.id_column,
            "features": features,
        }

    @property
    def threshold(self) -> float | None:
        if self.task != "binary":
            return None
        return 0.5 if self.bundle.threshold is None else float(self.bundle.threshold)

    def check_compatible(self, other: ServedModel) -> None:
        """A shadow must answer the same question: same task, target and classes."""
        mine, theirs = self.bundle.problem, other.bundle.problem
        if (mine.task, mine.target, mine.classes) != (theirs.task, theirs.target, theirs.classes):
            raise FoldwiseError(
                f"--shadow {other.path}: predicts {theirs.task} {theirs.target!r} with classes "
                f"{theirs.classes}, but the primary model predicts {mine.task} {mine.target!r} "
                f"with classes {mine.classes}"
            )

    def check_rows(self, rows: list[dict[str, Any]]) -> None:
        """Every row names every feature with a JSON value of an accepted type."""
        for name, kind in ((str(f["name"]), f["kind"]) for f in self.bundle.features):
            allowed = JSON_TYPES[kind]
            types = tuple(t for a in allowed if a != "null" for t in _PY_TYPES[a])
            for i, row in enumerate(rows):
                if name not in row:
                    raise FoldwiseError(
                        f"rows[{i}].{name}: missing feature (send null for an unknown value)"
                    )
                value = row[name]
                if value is None:
                    continue
                if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                    raise FoldwiseError(
                        f"rows[{i}].{name}: expected {' or '.join(allowed)} for a {kind} "
                        f"feature, got {_json_type(value)}"
                    )

    def raw_features(self, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
        """The request's values of each feature, as sent (the log types them at compaction)."""
        return {name: [row[name] for row in rows] for name in self.feature_names}

    def score(self, raw: dict[str, list[Any]]) -> Scores:
        """Score raw feature values with the bundle's public scorer and threshold.

        The same scores, labels and threshold as :meth:`Bundle.predict`, without building a
        result frame (a one-row frame and its column lookups cost more than the scoring).
        A value the model cannot read raises :class:`FoldwiseError` naming the column.
        """
        try:
            n = len(next(iter(raw.values()), []))
            rows = [{k: v[i] for k, v in raw.items()} for i in range(n)]
            scores = self.bundle.predict_scores(rows)
        except FoldwiseError as exc:
            raise FoldwiseError(f"rows: {exc}") from None
        if self.task == "regression":
            return Scores(self.version, None, np.ascontiguousarray(scores, dtype="float64"), None)
        codes = self.bundle.predict_codes(scores)
        labels = self.bundle.problem.decode(codes).tolist()
        if self.task == "binary":
            value = scores[:, 1]
        else:
            value = scores[np.arange(len(scores)), scores.argmax(axis=1)]
        return Scores(self.version, labels, np.ascontiguousarray(value), scores)

    def row_ids(self, rows: list[dict[str, Any]], request_id: str) -> list[str]:
        """Each row's id: its id-column value if given, else ``<request_id>:<row>``."""
        column = self.id_column
        ids = []
        for i, row in enumerate(rows):
            value = row.get(column) if column else None
            if value is None or isinstance(value, dict | list) or value == "":
                ids.append(f"{request_id}:{i}")
            elif isinstance(value, float) and value.is_integer():
                ids.append(str(int(value)))
            else:
                ids.append(str(value))
        return ids


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
