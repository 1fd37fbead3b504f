"""The params.yaml ``tune`` section: trials, storage, nesting, search-space overrides.

Every section is a frozen, strict pydantic model that refuses unknown keys
(:class:`foldwise.config.base.Section`).
"""

from __future__ import annotations

from typing import Annotated, Literal, cast

from pydantic import Field, model_validator

from foldwise.config.base import Scalar, Section
from foldwise.config.model_sections import ModelName, fixed_settings


def _per_model(**settings: dict[str, Scalar]) -> dict[ModelName, dict[str, Scalar]]:
    return {cast(ModelName, name): value for name, value in settings.items()}


class RangeSpec(Section):
    """A numeric search range: ``{low: 0.01, high: 0.3, log: true}``; ``type`` int or float."""

    low: float
    high: float
    log: bool = False
    type: Literal["int", "float"] = "float"

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if not self.low < self.high:
            raise ValueError(f"search range needs low < high, got low={self.low} high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scale search range needs low > 0, got low={self.low}")
        return self


class ChoiceSpec(Section):
    """A categorical search dimension: ``{choices: [a, b]}``."""

    choices: Annotated[list[str | int | float | bool], Field(min_length=1)]


class TuneConfig(Section):
    n_trials: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=6,
        description="Finished trials per study (one study per outer fold, plus the final one); "
        "6 keeps the default run within 5 minutes on 2 cores. `1` runs trial 0 (the model's "
        "default settings) only. TPE models the finished trials after half of them (3 to 10), "
        "the others are random.",
        json_schema_extra={
            "comment": "finished trials per study (one study per outer fold + final)"
        },
    )
    timeout_s: Annotated[float, Field(gt=0)] | None = Field(
        default=None,
        description="Optional time limit per study, in seconds.",
        json_schema_extra={"comment": "optional time limit per study, in seconds"},
    )
    storage: str | None = Field(
        default=None,
        description="`null`: an embedded journal file (`.foldwise/tune/studies.journal`, "
        "untracked) that survives a killed run; or a database URL (`postgresql://...`) shared "
        "by several workers.",
        json_schema_extra={
            "comment": "null: embedded journal file; postgresql://... to share workers"
        },
    )
    nested: bool = Field(
        default=True,
        description="Run the outer loop that gives the honest estimate; `false` skips it for a "
        "quick run (the report says so).",
        json_schema_extra={"comment": "false: skip the outer loop (quick, but no honest estimate)"},
    )
    n_jobs: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1,
        description="Trials run at once. With 1 (and the embedded storage) a rerun reproduces "
        "`best_params.json` exactly.",
        json_schema_extra={
            "comment": "trials at once; 1 makes a rerun reproduce best_params exactly"
        },
    )
    pruning: bool = Field(
        default=True,
        description="Stop a trial early when its score on an inner fold is in the bottom "
        "quarter of the finished trials' scores on that fold.",
        json_schema_extra={"comment": "stop trials whose fold scores are in the bottom quarter"},
    )
    search_space: dict[str, RangeSpec | ChoiceSpec | Scalar] = Field(
        default_factory=dict,
        description="Overrides of the model's search space: `name: {low, high, log, type: "
        "int|float}`, `name: {choices: [...]}`, or `name: value` to fix a setting.",
        json_schema_extra={
            "comment": "overrides, e.g. depth: {low: 4, high: 10, type: int}; lr: 0.1 fixes it"
        },
    )
    trial_settings: dict[ModelName, dict[str, Scalar]] = Field(
        default_factory=lambda: _per_model(
            catboost=fixed_settings(border_count=64, max_ctr_complexity=1)
        ),
        description="Settings added to `model.<name>` for the inner-fold trial fits only, per "
        "model: cheaper fits (about 2-3x faster) to rank the trials. Outer refits, the train "
        "stage and the bundle use `model.<name>` alone, so the nested estimate measures exactly "
        "the model that is shipped. Unknown keys stop the run naming "
        "`tune.trial_settings.<model>.<key>`.",
        json_schema_extra={
            "comment": "added to model.<name> for the inner-fold trial fits only: cheaper fits "
            "to rank trials (~2-3x faster); outer refits, train and the bundle use model.<name> "
            "alone, so the nested estimate measures exactly what is shipped",
            "notes": {
                "catboost.border_count": "the library default is 254",
                "catboost.max_ctr_complexity": "no feature combinations",
            },
        },
    )

    @model_validator(mode="after")
    def _storage_url(self) -> TuneConfig:
        if self.storage is not None and not self.storage.startswith(
            ("postgresql://", "postgresql+psycopg2://", "sqlite:///", "mysql://")
        ):
            raise ValueError(
                f"tune.storage {self.storage!r} is not a database URL; expected null (an "
                "embedded journal file) or e.g. postgresql://user:pass@host:5432/db"
            )
        return self
