"""A bundle loaded for serving: its version, its input contract and row scoring for the log."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foldwise.bundle import Bundle
from foldwise.errors import FoldwiseError, quoted

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
    """A loaded bundle with the name it is served as (:func:`foldwise.bundle.bundle_name`)."""

    bundle: Bundle
    version: str  # the bundle's name: ``model@v1.2.0 (sha256:abcdef123456)`` or the hash
    path: Path

    @classmethod
    def load(
        cls, path: Path, version: str | None = None, registry_root: Path | None = None
    ) -> ServedModel:
        """Load a bundle folder and name it by its GTO ref ``version`` and content hash.

        Without ``version``, the registry in ``registry_root`` (a git + DVC repository) is
        asked which registered version has this content, so the same bundle has the same
        name whether it is served by version or by path.
        """
        from foldwise.production.registry import registered_name

        bundle = Bundle.load(path)
        return cls(bundle, registered_name(bundle, registry_root, version), path)

    @property
    def task(self) -> str:
        return self.bundle.problem.task

    @property
    def id_columns(self) -> list[str]:
        """The id columns of the training table, as the bundle records them."""
        return [str(c) for c in self.bundle.metadata.get("id_columns") or []]

    @property
    def id_column(self) -> str | None:
        """The first id column of the training table, if the bundle records it."""
        return self.id_columns[0] if self.id_columns else None

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
            "id_columns": self.id_columns,
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
                f"{quoted(theirs.classes or ())}, but the primary model predicts {mine.task} "
                f"{mine.target!r} with classes {quoted(mine.classes or ())}"
            )

    def raw_features(self, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
        """The request's values of each feature, as sent (the log types them at compaction),
        checked: every row names every feature with a JSON value of an accepted type.

        Each feature's values are taken out of the rows once, for the check, the scorer and
        the log alike.
        """
        out = {}
        for name, kind in ((str(f["name"]), f["kind"]) for f in self.bundle.features):
            allowed = JSON_TYPES[kind]
            types = tuple(t for a in allowed if a != "null" for t in _PY_TYPES[a])
            # Parsed JSON holds exact types: a column whose value types are all accepted ones
            # passes at once; any other column is checked cell by cell (the message).
            try:
                values = [row[name] for row in rows]
            except KeyError:
                self._check_cells(rows, name, kind, allowed, types)  # names the row
                raise
            if not set(map(type, values)) <= {*types, type(None)}:
                self._check_cells(rows, name, kind, allowed, types)
            out[name] = values
        return out

    @staticmethod
    def _check_cells(
        rows: list[dict[str, Any]], name: str, kind: str, allowed: tuple, types: tuple
    ) -> None:
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

    def score(self, raw: dict[str, list[Any]]) -> Scores:
        """Score raw feature values with the bundle's public scorer and threshold.

        The same scores, labels and threshold as :meth:`Bundle.predict`, without building a
        result frame (a one-row frame and its column lookups cost more than the scoring).
        A value the model cannot read raises :class:`FoldwiseError` naming the column.
        """
        scorer = self.bundle.scorer
        try:
            scores = scorer.scores_of(scorer.columns_matrix(raw))
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
            text = id_text(row.get(column)) if column else None
            ids.append(f"{request_id}:{i}" if text is None else text)
        return ids

    def id_values(self, rows: list[dict[str, Any]]) -> dict[str, list[str | None]]:
        """Per id column of the model, each row's value as text (None where it is not given)."""
        return {name: [id_text(row.get(name)) for row in rows] for name in self.id_columns}


def id_text(value: Any) -> str | None:
    """An id as sent, as text: whole numbers without ``.0``; None when missing or not a value."""
    if value is None or isinstance(value, dict | list) or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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
