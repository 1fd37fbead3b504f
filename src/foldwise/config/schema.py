"""The whole of params.yaml: every section, and the checks that span sections."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from foldwise.config.base import Section
from foldwise.config.operations import (
    CompareConfig,
    ExplainConfig,
    MonitorConfig,
    ProductionConfig,
    RetrainConfig,
)
from foldwise.config.sections import (
    AuditConfig,
    CVConfig,
    DataConfig,
    DemoConfig,
    EvaluateConfig,
    ModelConfig,
    ProblemConfig,
    SplitConfig,
    TrainConfig,
    TuneConfig,
)


class Config(Section):
    """The whole of ``params.yaml``; each section's field says what the section is for."""

    seed: Annotated[int, Field(ge=0)] = Field(
        default=42,
        description="The one seed for splits, folds, models and tuning; derived per fold and "
        "trial where needed.",
        json_schema_extra={"comment": "one seed for splits, folds, models and tuning"},
    )
    time_budget_s: Annotated[float, Field(gt=0)] | None = Field(
        default=None,
        description="Seconds for tune + train together: the tune stage prints a plan up front "
        "and cuts trials, member tuning, members and the nested loop, in that order, to fit it "
        "(see the time budget page). `null`: no budget.",
        json_schema_extra={"comment": "seconds for tune + train together; null: no budget"},
    )
    data: DataConfig = Field(default_factory=DataConfig, description="The table and its columns.")
    demo: DemoConfig = Field(
        default_factory=DemoConfig,
        description="The built-in churn table (generate stage).",
    )
    problem: ProblemConfig = Field(
        default_factory=ProblemConfig, description="The task, the positive class and the metric."
    )
    split: SplitConfig = Field(
        default_factory=SplitConfig, description="How the sealed test set is split off."
    )
    cv: CVConfig = Field(default_factory=CVConfig, description="Cross-validation folds.")
    model: ModelConfig = Field(
        default_factory=ModelConfig,
        description="The model, and the fixed settings of each model passed to its estimator.",
    )
    audit: AuditConfig = Field(
        default_factory=AuditConfig,
        description="The audit stage: data quality, drift and leakage; can fail the run.",
    )
    train: TrainConfig = Field(
        default_factory=TrainConfig,
        description="The train stage: early stopping and the decision threshold.",
    )
    evaluate: EvaluateConfig = Field(
        default_factory=EvaluateConfig,
        description="The evaluate stage: the one look at the sealed test table.",
    )
    tune: TuneConfig = Field(
        default_factory=TuneConfig,
        description="Optuna on inner folds only; the outer folds give the honest estimate.",
        json_schema_extra={"comment": "Optuna on inner folds only"},
    )
    compare: CompareConfig = Field(
        default_factory=CompareConfig,
        description="foldwise compare BASE [TARGET]; read from BASE's params.yaml.",
    )
    production: ProductionConfig = Field(
        default_factory=ProductionConfig,
        description="The validate stage's budgets, measured in a fresh process on raw training "
        "rows.",
        json_schema_extra={
            "comment": "validate stage: budgets measured in a fresh process on raw training rows"
        },
    )
    monitor: MonitorConfig = Field(
        default_factory=MonitorConfig,
        description="foldwise monitor: production rows vs the bundle's reference profile.",
    )
    retrain: RetrainConfig = Field(
        default_factory=RetrainConfig,
        description="When foldwise monitor asks for retraining (exit code 1), and what "
        "foldwise retrain holds out.",
        json_schema_extra={"comment": "when monitor asks for retraining (exit code 1)"},
    )
    explain: ExplainConfig = Field(
        default_factory=ExplainConfig,
        description="The explain stage (step 8), on training rows only (never the test table).",
        json_schema_extra={"comment": "step 8 on training rows only (never the test table)"},
    )

    @model_validator(mode="after")
    def _combinations(self) -> Config:
        strategy, data = self.split.strategy, self.data
        if strategy == "temporal" and not data.time_column:
            raise ValueError(
                "split.strategy is 'temporal' but data.time_column is not set; "
                "name the date/time column or choose another strategy"
            )
        if strategy == "group" and not data.group_column:
            raise ValueError(
                "split.strategy is 'group' but data.group_column is not set; "
                "name the group column or choose another strategy"
            )
        if strategy == "stratified" and self.problem.task == "regression":
            raise ValueError(
                "split.strategy is 'stratified' but problem.task is 'regression'; "
                "use 'random' (or 'auto') for regression"
            )
        if data.time_column and data.group_column and strategy == "auto":
            raise ValueError(
                "data.time_column and data.group_column are both set; choose "
                "split.strategy 'temporal' or 'group' explicitly"
            )
        if self.train.threshold == "cost" and self.problem.task in ("multiclass", "regression"):
            raise ValueError(
                "train.threshold is 'cost' but problem.task is "
                f"{self.problem.task!r}; a decision threshold applies to binary tasks only"
            )
        return self
