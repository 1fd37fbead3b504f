"""What the train stage starts from, read and checked: the run, the tuned params, the baselines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foldwise.artifacts import read_json_checked
from foldwise.config import Config
from foldwise.errors import FoldwiseError
from foldwise.paths import ProjectPaths
from foldwise.training.data import TrainingRun, load_training_run


@dataclass(frozen=True)
class TunedParams:
    """The tune stage's choice (``models/best_params.json``): the model and its params.

    ``members`` (an ensemble only) maps each member the tune stage kept to its params;
    ``budget`` is the time-budget plan when ``time_budget_s`` was set. ``source`` names the
    file in errors.
    """

    model: str
    params: dict[str, Any]
    members: dict[str, dict[str, Any]] | None = None
    budget: dict[str, Any] | None = None
    source: str = "models/best_params.json"

    @classmethod
    def read(cls, path: Path) -> TunedParams:
        """The tuned params written by the tune stage at ``path``."""
        raw = read_json_checked(path, ("model", "params"))
        return cls(
            model=raw["model"],
            params=dict(raw["params"]),
            members=raw.get("members"),
            budget=raw.get("budget"),
            source=str(path),
        )

    @classmethod
    def untuned(cls, config: Config) -> TunedParams:
        """No tuning: the ``model.<name>`` settings of params.yaml as they are."""
        name = config.model.name
        members: dict[str, dict[str, Any]] | None = (
            {m: {} for m in config.model.members} if name == "ensemble" else None
        )
        return cls(model=name, params={}, members=members, source="(untuned)")

    @property
    def recorded(self) -> dict[str, Any]:
        """What the bundle records as its tuned params: per member for an ensemble."""
        return self.members if self.members is not None else self.params

    def settings(self, config: Config) -> dict[str, dict[str, Any]]:
        """Settings per fitted model: ``model.<name>`` with the tuned params on top.

        An ensemble's members are those the tune stage kept (a time budget may drop some).
        """
        name = config.model.name
        if self.model != name:
            raise FoldwiseError(
                f"{self.source}: tuned for model {self.model!r} but model.name is "
                f"{name!r}; run dvc repro so the tune stage runs first"
            )
        if name != "ensemble":
            return {name: {**config.model.settings(name), **self.params}}
        members = self.members
        if not isinstance(members, dict) or not members or set(members) - set(config.model.members):
            raise FoldwiseError(
                f"{self.source}: its members do not match model.ensemble.members "
                f"{config.model.members}; run dvc repro so the tune stage runs first"
            )
        return {m: {**config.model.settings(m), **members[m]} for m in members}


@dataclass(frozen=True)
class BaselineScores:
    """The baselines' per-fold scores of the primary metric, and the folds they were made on."""

    folds: Mapping[str, list[float]]
    folds_fingerprint: str | None

    @classmethod
    def read(cls, path: Path, metric: str) -> BaselineScores:
        """The baseline stage's per-fold ``metric`` scores (``reports/baseline/metrics.json``)."""
        baselines = read_json_checked(path, ("models",))
        try:
            folds = {
                base: report["cv"][metric]["values"] for base, report in baselines["models"].items()
            }
        except (KeyError, TypeError, AttributeError):
            raise FoldwiseError(
                f"{path}: no per-fold {metric} scores; run `dvc repro` to rebuild it"
            ) from None
        return cls(folds, baselines.get("folds_fingerprint"))


@dataclass(frozen=True)
class TrainInputs:
    """Everything :func:`foldwise.train_stage.train` reads: no file is opened after this.

    ``baselines`` None: no baseline comparison (the report's ``vs_baselines`` is empty).
    """

    run: TrainingRun
    tuned: TunedParams
    baselines: BaselineScores | None = None


def read_train_inputs(paths: ProjectPaths) -> TrainInputs:
    """params.yaml, the prepared training table, the tuned params and the baseline scores.

    The test table is never read.
    """
    run = load_training_run(paths)
    tuned = TunedParams.read(paths.best_params)
    baselines = BaselineScores.read(
        paths.report_dir("baseline") / "metrics.json", run.data.problem.metric
    )
    return TrainInputs(run, tuned, baselines)
