"""Which model each run shipped: its name and, for an ensemble, the members and their weights.

The name is the train report's ``model``; an ensemble's members and weights are read from the
run's bundle (``models/model/model/ensemble.json``, a DVC output), the file the served model
is loaded from. A bundle that is not in the local DVC cache leaves the members unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ENSEMBLE_JSON = "models/model/model/ensemble.json"


@dataclass(frozen=True)
class ModelSummary:
    """A run's model: its name and ``(member, weight)`` pairs (empty for one model)."""

    name: str | None
    members: tuple[tuple[str, float], ...] = ()

    def text(self) -> str:
        """``catboost``, or ``ensemble (catboost 0.5, random_forest 0.3, ...)``."""
        name = self.name or "unknown"
        if not self.members:
            return name
        return f"{name} ({', '.join(f'{member} {weight:.3g}' for member, weight in self.members)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "members": [{"name": member, "weight": weight} for member, weight in self.members],
        }


def _members(state: Any) -> tuple[tuple[str, float], ...]:
    if not isinstance(state, dict) or not isinstance(state.get("members"), list):
        return ()
    pairs = []
    for entry in state["members"]:
        if isinstance(entry, dict) and isinstance(entry.get("weight"), int | float):
            pairs.append((str(entry.get("name")), float(entry["weight"])))
    return tuple(pairs)


def read_model_summary(train: dict[str, Any], read_json: Callable[[str], Any]) -> ModelSummary:
    """The model of a run from its train report and (for an ensemble) its bundle's file."""
    name = train.get("model")
    try:
        state = read_json(ENSEMBLE_JSON)
    except Exception:  # not in the local cache, or unreadable: the members stay unknown
        state = None
    return ModelSummary(None if name is None else str(name), _members(state))


def models_lines(base: ModelSummary | None, target: ModelSummary | None) -> list[str]:
    """The report's model lines: what each run shipped."""
    if base is None and target is None:
        return []
    base_text = base.text() if base else "unknown"
    target_text = target.text() if target else "unknown"
    same = "same model" if base_text == target_text else "the model changed"
    return [f"**Model:** base {base_text} → target {target_text} ({same}).", ""]
