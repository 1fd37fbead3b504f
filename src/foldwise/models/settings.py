"""Checks of a model's settings from params.yaml, shared by every backend.

An unknown key names the closest real one; keys foldwise sets itself (early stopping,
categorical columns) are refused; scikit-learn's parameter-validation messages are given the
params.yaml key they are about.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from foldwise.errors import FoldwiseError
from foldwise.metrics import Task

__all__ = [
    "ModelSpec",
    "check_reserved",
    "invalid_parameter",
    "unknown_setting",
]


@dataclass(frozen=True)
class ModelSpec:
    """What a backend needs to build and fit one model: the wrapper's parameters, checked."""

    name: str
    task: Task
    features: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    max_onehot_categories: int = 20
    early_stopping_rounds: int = 50

    @property
    def is_classifier(self) -> bool:
        return self.task != "regression"

    @property
    def categorical(self) -> list[str]:
        """The names of the categorical features, in schema order."""
        return [str(f["name"]) for f in self.features if f["kind"] == "categorical"]


def unknown_setting(name: str, key: str, estimator: str, allowed: list[str]) -> FoldwiseError:
    """``model.<name>.<key> is not a setting of <estimator>; did you mean ...?``."""
    hint = difflib.get_close_matches(key, allowed, n=1)
    tip = f"; did you mean {hint[0]!r}?" if hint else ""
    listing = f" (allowed: {', '.join(sorted(allowed))})" if len(allowed) <= 30 else ""
    return FoldwiseError(f"model.{name}.{key} is not a setting of {estimator}{tip}{listing}")


def check_reserved(
    name: str,
    keys: Iterable[str],
    early_stopping: frozenset[str],
    categorical: frozenset[str],
) -> None:
    """Refuse the settings foldwise controls itself, naming the first such key."""
    for key in sorted(keys):
        if key in early_stopping:
            raise FoldwiseError(
                f"model.{name}.{key} is set by foldwise (early stopping on a validation part, "
                "rounds from train.early_stopping_rounds); remove it"
            )
        if key in categorical:
            raise FoldwiseError(
                f"model.{name}.{key} is set by foldwise from the schema's categorical "
                "columns; remove it"
            )


def invalid_parameter(name: str, exc: Exception) -> FoldwiseError:
    """Name the params.yaml key in scikit-learn's parameter-validation message."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    marker = text.split("'")
    key = marker[1] if text.startswith("The '") and len(marker) > 2 else None
    where = f"model.{name}.{key}" if key else f"model.{name}"
    return FoldwiseError(f"{where}: {text}")
