"""A fitted weighted ensemble of :class:`~foldwise.models.TabularModel` members.

The ensemble is what ensemble selection ships: each member was fitted on the same rows, the
weights were chosen on out-of-fold predictions (never on rows a member trained on), are
non-negative and sum to one. Probabilities (classification) or values (regression) are the
weighted sum of the members'; a classification ensemble predicts the argmax of that sum.

Saved as one folder: ``ensemble.json`` (format, weights, member folders) and one saved
:class:`TabularModel` per member under ``members/`` (CatBoost's native file or skops, never
pickle). :func:`load_model` reads either kind of folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from foldwise.errors import FoldwiseError
from foldwise.metrics import Task
from foldwise.models.tabular import TabularModel

ENSEMBLE_FILE = "ensemble.json"
MEMBERS_DIR = "members"
ENSEMBLE_FORMAT = 1
ENSEMBLE_NAME = "ensemble"


@dataclass(frozen=True)
class Member:
    """One fitted member and its weight in the ensemble."""

    model: TabularModel
    weight: float

    @property
    def name(self) -> str:
        return self.model.name


class EnsembleModel:
    """The weighted sum of fitted members' predictions (weights ≥ 0, summing to one)."""

    name = ENSEMBLE_NAME

    def __init__(self, members: Sequence[TabularModel], weights: Sequence[float]) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if len(members) != len(weights):
            raise ValueError(f"{len(members)} members but {len(weights)} weights")
        w = np.asarray(weights, dtype="float64")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or not math.isclose(w.sum(), 1.0):
            raise ValueError(f"ensemble weights must be non-negative and sum to one, got {w}")
        first = members[0]
        for member in members[1:]:
            if member.task != first.task or member.features != first.features:
                raise ValueError("ensemble members must share the task and the feature schema")
            if member.is_classifier and member.n_classes_ != first.n_classes_:
                raise ValueError("ensemble members must predict the same number of classes")
        kept = [(m, float(x)) for m, x in zip(members, w, strict=True) if x > 0]
        self.members: tuple[Member, ...] = tuple(Member(m, x) for m, x in kept)

    # ------------------------------------------------------------------ the model interface

    @property
    def task(self) -> Task:
        return self.members[0].model.task

    @property
    def features(self) -> list[dict]:
        return self.members[0].model.features

    @property
    def is_classifier(self) -> bool:
        return self.members[0].model.is_classifier

    @property
    def n_classes_(self) -> int:
        return self.members[0].model.n_classes_

    @property
    def classes_(self) -> np.ndarray:
        return self.members[0].model.classes_

    @property
    def weights(self) -> dict[str, float]:
        """Weight per member name (a name chosen twice is summed: selection with replacement)."""
        out: dict[str, float] = {}
        for member in self.members:
            out[member.name] = out.get(member.name, 0.0) + member.weight
        return out

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """The weighted sum of the members' class probabilities, shape (n, k)."""
        if not self.is_classifier:
            raise ValueError("predict_proba is for classification; this ensemble is a regressor")
        return sum(m.weight * m.model.predict_proba(X) for m in self.members)  # type: ignore[return-value]

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Class codes (argmax of the weighted probabilities) or weighted regression values."""
        if self.is_classifier:
            return self.predict_proba(X).argmax(axis=1).astype("int64")
        return np.asarray(sum(m.weight * m.model.predict(X) for m in self.members), "float64")

    # ------------------------------------------------------------------ files

    def save(self, directory: Path) -> None:
        """Write ``ensemble.json`` and each member's saved model under ``members/``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        entries = []
        for i, member in enumerate(self.members):
            folder = f"{MEMBERS_DIR}/{i:02d}_{member.name}"
            member.model.save(directory / folder)
            entries.append({"name": member.name, "folder": folder, "weight": member.weight})
        state = {"format": ENSEMBLE_FORMAT, "kind": ENSEMBLE_NAME, "members": entries}
        (directory / ENSEMBLE_FILE).write_text(json.dumps(state, indent=2) + "\n", "utf-8")

    @classmethod
    def load(cls, directory: Path) -> EnsembleModel:
        """Read an ensemble written by :meth:`save`."""
        directory = Path(directory)
        path = directory / ENSEMBLE_FILE
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FoldwiseError(f"{path}: cannot read the ensemble ({exc})") from exc
        if state.get("format") != ENSEMBLE_FORMAT:
            raise FoldwiseError(
                f"{path}: ensemble format {state.get('format')!r} is not supported "
                f"(expected {ENSEMBLE_FORMAT})"
            )
        members = [TabularModel.load(directory / entry["folder"]) for entry in state["members"]]
        return cls(members, [float(entry["weight"]) for entry in state["members"]])


def load_model(directory: Path) -> TabularModel | EnsembleModel:
    """A saved model folder: an ensemble when it holds ``ensemble.json``, else one model."""
    directory = Path(directory)
    if (directory / ENSEMBLE_FILE).is_file():
        return EnsembleModel.load(directory)
    return TabularModel.load(directory)
