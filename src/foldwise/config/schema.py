"""The whole of params.yaml: every section, and the checks that span sections."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

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
    Section,
    SplitConfig,
    TrainConfig,
    TuneConfig,
)


class Config(Section):
    seed: Annotated[int, Field(ge=0)] = 42
    # Seconds for tune + train together (the tune stage plans and cuts; docs/time_budget.md).
    time_budget_s: Annotated[float, Field(gt=0)] | None = None
    data: DataConfig = Field(default_factory=DataConfig)
    demo: DemoConfig = Field(default_factory=DemoConfig)
    problem: ProblemConfig = Field(default_factory=ProblemConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    cv: CVConfig = Field(default_factory=CVConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    tune: TuneConfig = Field(default_factory=TuneConfig)
    compare: CompareConfig = Field(default_factory=CompareConfig)
    production: ProductionConfig = Field(default_factory=ProductionConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    retrain: RetrainConfig = Field(default_factory=RetrainConfig)
    explain: ExplainConfig = Field(default_factory=ExplainConfig)

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
