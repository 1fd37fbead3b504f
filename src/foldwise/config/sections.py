"""The params.yaml sections the pipeline reads up to evaluation, and the shared value types.

Every section is a frozen, strict pydantic model that refuses unknown keys (``_Section``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from foldwise.metrics import METRICS

ModelName = Literal[
    "catboost",
    "logistic_regression",
    "random_forest",
    "hist_gradient_boosting",
    "dummy",
    "lightgbm",
    "extra_trees",
]
Scalar = str | int | float | bool | None
AuditFinding = Literal[
    "leakage",
    "train_test_duplicates",
    "temporal_overlap",
    "drift",
    "adversarial",
    "missing",
    "constant",
    "high_cardinality",
    "imbalance",
    "outliers",
    "duplicates",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DataConfig(_Section):
    source: str = "data/builtin/churn.csv"
    test_source: str | None = None
    target: str = "churned"
    id_columns: list[str] = Field(default_factory=list)
    time_column: str | None = None
    group_column: str | None = None
    drop_columns: list[str] = Field(default_factory=list)
    date_columns: list[str] = Field(default_factory=list)
    csv_separator: Annotated[str, Field(min_length=1, max_length=1)] = ","
    drop_duplicates: bool = True
    decimal: Literal[".", ","] = "."
    label_map: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _label_map_is_one_step(self) -> DataConfig:
        for old, new in self.label_map.items():
            if not old.strip() or not new.strip():
                raise ValueError("data.label_map: labels must not be empty or blank")
            if old.strip() != old:
                raise ValueError(
                    f"data.label_map key {old!r}: write it without surrounding spaces (cells "
                    "are compared with their spaces trimmed)"
                )
            if old == new:
                raise ValueError(f"data.label_map maps {old!r} to itself; remove the entry")
            if new in self.label_map:
                raise ValueError(
                    f"data.label_map maps to {new!r}, which it also renames; each label is "
                    "renamed once, so map every spelling straight to the final label"
                )
        return self

    @model_validator(mode="after")
    def _roles_do_not_overlap(self) -> DataConfig:
        roles: dict[str, list[str]] = {
            "data.id_columns": list(self.id_columns),
            "data.drop_columns": list(self.drop_columns),
            "data.time_column": [self.time_column] if self.time_column else [],
            "data.group_column": [self.group_column] if self.group_column else [],
        }
        for key, cols in roles.items():
            if self.target in cols:
                raise ValueError(
                    f"{key} contains the target column {self.target!r}; the target cannot also "
                    "be an id, dropped, time or group column"
                )
            dupes = sorted({c for c in cols if cols.count(c) > 1})
            if dupes:
                raise ValueError(f"{key} lists {dupes} more than once")
        if self.decimal == self.csv_separator:
            raise ValueError(
                f"data.decimal {self.decimal!r} is also data.csv_separator; a table with "
                'decimal commas is separated by another character, e.g. csv_separator: ";"'
            )
        if self.time_column and self.time_column in self.drop_columns:
            raise ValueError(f"data.time_column {self.time_column!r} is also in data.drop_columns")
        return self


class DemoConfig(_Section):
    rows: Annotated[int, Field(ge=500, le=20_000_000)] = 20_000
    seed: Annotated[int, Field(ge=0)] = 0


class ProblemConfig(_Section):
    task: Literal["auto", "binary", "multiclass", "regression"] = "auto"
    positive_label: Scalar = None
    metric: str = "auto"

    @model_validator(mode="after")
    def _metric_fits_task(self) -> ProblemConfig:
        if self.metric != "auto":
            if self.metric not in METRICS:
                raise ValueError(
                    f"problem.metric {self.metric!r} is not known; allowed: auto, "
                    + ", ".join(METRICS)
                )
            tasks = METRICS[self.metric].tasks
            if self.task != "auto" and self.task not in tasks:
                raise ValueError(
                    f"problem.metric {self.metric!r} does not fit problem.task "
                    f"{self.task!r}; it is for {', '.join(tasks)}"
                )
        if self.positive_label is not None and self.task in ("regression", "multiclass"):
            raise ValueError(
                f"problem.positive_label is set ({self.positive_label!r}) but problem.task is "
                f"{self.task!r}; a positive label only applies to binary tasks"
            )
        return self


class SplitConfig(_Section):
    strategy: Literal["auto", "stratified", "random", "temporal", "group"] = "auto"
    test_size: Annotated[float, Field(gt=0.0, le=0.5)] = 0.2


class CVConfig(_Section):
    folds: Annotated[int, Field(ge=2, le=20)] = 5
    inner_folds: Annotated[int, Field(ge=2, le=10)] = 2


class ModelConfig(_Section):
    name: ModelName = "catboost"
    catboost: dict[str, Scalar] = Field(default_factory=dict)
    logistic_regression: dict[str, Scalar] = Field(default_factory=dict)
    random_forest: dict[str, Scalar] = Field(default_factory=dict)
    hist_gradient_boosting: dict[str, Scalar] = Field(default_factory=dict)
    dummy: dict[str, Scalar] = Field(default_factory=dict)
    lightgbm: dict[str, Scalar] = Field(default_factory=dict)
    extra_trees: dict[str, Scalar] = Field(default_factory=dict)
    max_onehot_categories: Annotated[int, Field(ge=2, le=1000)] = 20

    def settings(self, name: str | None = None) -> dict[str, Scalar]:
        """The fixed settings from params.yaml for model ``name`` (default: the chosen one)."""
        return dict(getattr(self, name or self.name))


class AuditConfig(_Section):
    fail_on: list[AuditFinding] = Field(default_factory=list)
    leakage_score: Annotated[float, Field(gt=0.5, le=1.0)] = 0.9
    leakage_r2: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8
    drift_psi: Annotated[float, Field(gt=0.0)] = 0.25
    adversarial_auc: Annotated[float, Field(gt=0.5, le=1.0)] = 0.75
    near_constant_share: Annotated[float, Field(gt=0.5, le=1.0)] = 0.99
    high_cardinality: Annotated[int, Field(ge=2)] = 50
    missing_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5
    outlier_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.05
    imbalance_ratio: Annotated[float, Field(ge=1.0)] = 20.0
    max_rows: Annotated[int, Field(ge=1000)] = 200_000
    duplicate_excess: Annotated[float, Field(gt=0.0, le=1.0)] = 0.01


class TrainConfig(_Section):
    early_stopping_rounds: Annotated[int, Field(ge=1)] = 50
    validation_size: Annotated[float, Field(gt=0.0, le=0.5)] = 0.2
    threshold: Literal["f1", "cost"] = "f1"


class CostConfig(_Section):
    false_positive: Annotated[float, Field(ge=0.0)] = 1.0
    false_negative: Annotated[float, Field(ge=0.0)] = 1.0


class EvaluateConfig(_Section):
    segments: list[str] = Field(default_factory=list)
    segment_min_rows: Annotated[int, Field(ge=1)] = 30
    cost: CostConfig = Field(default_factory=CostConfig)
    bootstrap_samples: Annotated[int, Field(ge=100, le=100_000)] = 1000


class RangeSpec(_Section):
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


class ChoiceSpec(_Section):
    """A categorical search dimension: ``{choices: [a, b]}``."""

    choices: Annotated[list[str | int | float | bool], Field(min_length=1)]


class TuneConfig(_Section):
    n_trials: Annotated[int, Field(ge=1, le=100_000)] = 30
    timeout_s: Annotated[float, Field(gt=0)] | None = None
    storage: str | None = None
    nested: bool = True
    n_jobs: Annotated[int, Field(ge=1, le=64)] = 1
    pruning: bool = True
    search_space: dict[str, RangeSpec | ChoiceSpec | Scalar] = Field(default_factory=dict)
    # Settings added to model.<name> for the inner-fold trial fits only (cheaper fits to rank
    # trials); outer refits, the train stage and the bundle use model.<name> alone.
    trial_settings: dict[ModelName, dict[str, Scalar]] = Field(default_factory=dict)

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
