"""What every library backend of :class:`~foldwise.models.TabularModel` provides.

A backend is a small stateless object for one registry name: it checks the settings, builds
and fits the library's estimator on the model frame (early-stopped when it can, recording the
learning curve), saves and loads the fitted estimator in the library's own file format (never
pickle), and names the estimator class and the settings it accepts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foldwise.metrics import Task
from foldwise.models.settings import ModelSpec, check_reserved, unknown_setting


@dataclass(frozen=True)
class Fitted:
    """A fitted estimator with what its fit learned about rounds.

    ``best_iteration`` is the number of rounds early stopping chose (None without a validation
    part); ``learning_curve`` holds the loss per round (``train``, ``validation``, ``metric``)
    of boosting models.
    """

    estimator: Any
    n_iterations: int | None = None
    best_iteration: int | None = None
    learning_curve: dict[str, Any] | None = None
    stopped_by_time: int | None = None  # the rounds trained when a time limit stopped the fit


class Backend(ABC):
    """One registry model's library: settings, fit, files."""

    #: The file the fitted estimator is saved in, inside the model folder.
    model_file: str
    #: Settings foldwise sets itself and refuses from params.yaml.
    early_stopping_keys: frozenset[str] = frozenset()
    categorical_keys: frozenset[str] = frozenset()
    #: Its fits stop at a time limit (:mod:`foldwise.models.deadline`) between two rounds.
    time_limited: bool = False

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def supports_early_stopping(self) -> bool:
        return False

    @abstractmethod
    def setting_keys(self, task: Task) -> tuple[str, list[str]]:
        """The estimator's class name for ``task`` and the setting names it accepts."""

    def check_keys(self, task: Task, settings: dict[str, Any]) -> None:
        """Refuse unknown and reserved keys, naming the first one."""
        estimator, allowed = self.setting_keys(task)
        known = set(allowed)
        for key in sorted(settings):
            if key not in known:
                raise unknown_setting(self.name, key, estimator, allowed)
        self.check_reserved(settings)

    def check_reserved(self, keys: Any) -> None:
        """Refuse the keys foldwise controls (early stopping, categorical columns)."""
        check_reserved(self.name, keys, self.early_stopping_keys, self.categorical_keys)

    def check_values(self, task: Task, settings: dict[str, Any]) -> None:  # noqa: B027
        """Refuse values the library itself refuses, without fitting (when it can tell).

        The default checks nothing: such values are refused when fitting.
        """

    @abstractmethod
    def check(self, spec: ModelSpec) -> None:
        """Raise :class:`~foldwise.errors.FoldwiseError` for settings that cannot build."""

    def with_rounds(self, settings: dict[str, Any], n: int) -> dict[str, Any]:
        """``settings`` that train exactly ``n`` boosting rounds."""
        raise ValueError(f"model {self.name!r} has no boosting rounds to fix")

    @abstractmethod
    def fit(
        self,
        spec: ModelSpec,
        table: pd.DataFrame,
        y: np.ndarray,
        validation: tuple[pd.DataFrame, np.ndarray] | None,
        n_classes: int | None,
    ) -> Fitted:
        """Fit on the model frame; early-stop on ``validation`` when given and supported."""

    @abstractmethod
    def save(self, estimator: Any, directory: Path, params: dict[str, Any]) -> None:
        """Write the fitted estimator into ``directory`` (``params``: the wrapper's)."""

    @abstractmethod
    def load(self, directory: Path, spec: ModelSpec) -> Any:
        """Read the estimator written by :meth:`save`."""

    def versions(self) -> dict[str, str]:
        """Library versions to record beside the saved model, beyond scikit-learn/CatBoost."""
        return {}
