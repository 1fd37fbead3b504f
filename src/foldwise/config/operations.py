"""The params.yaml sections read once a model is trained.

The explain and validate stages (``explain``, ``production``) and the ``foldwise compare``,
``monitor`` and ``retrain`` commands.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from foldwise.config.sections import Section


class CompareConfig(Section):
    """``foldwise compare``: significance level and the regression gate's tolerance."""

    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    tolerance: Annotated[float, Field(ge=0)] = 0.0
    bootstrap_samples: Annotated[int, Field(ge=100, le=100_000)] = 1000


class ProductionConfig(Section):
    """The validate stage's budgets, measured in a fresh process on raw training rows."""

    max_latency_ms: Annotated[float, Field(gt=0)] = 50.0
    min_rows_per_s: Annotated[float, Field(ge=0)] = 2000.0
    max_model_mb: Annotated[float, Field(gt=0)] = 200.0
    max_memory_mb: Annotated[float, Field(gt=0)] = 2048.0
    latency_calls: Annotated[int, Field(ge=20, le=100_000)] = 300
    large_batch_rows: Annotated[int, Field(ge=100, le=10_000_000)] = 20_000


class MonitorConfig(Section):
    """``foldwise monitor``: periods, data-quality and drift thresholds, performance drop."""

    period: Literal["day", "week", "month"] = "month"
    min_rows: Annotated[int, Field(ge=1)] = 200
    drift_psi: Annotated[float, Field(gt=0)] = 0.2
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.01
    drift_min_importance: Annotated[float, Field(ge=0, le=1)] = 0.05
    missing_jump: Annotated[float, Field(gt=0, le=1)] = 0.1
    out_of_range_share: Annotated[float, Field(gt=0, le=1)] = 0.01
    new_category_share: Annotated[float, Field(gt=0, le=1)] = 0.01
    performance_drop: Annotated[float, Field(ge=0)] = 0.05
    bootstrap_samples: Annotated[int, Field(ge=100, le=100_000)] = 500


RetrainTrigger = Literal["drift", "estimated_drop", "realized_drop", "schedule"]
_DEFAULT_TRIGGERS: tuple[RetrainTrigger, ...] = ("drift", "estimated_drop", "realized_drop")


class RetrainConfig(Section):
    """When ``foldwise monitor`` asks for retraining, and what ``foldwise retrain`` holds out."""

    when: list[RetrainTrigger] = Field(default_factory=lambda: list(_DEFAULT_TRIGGERS))
    every_periods: Annotated[int, Field(ge=1)] | None = None
    recent_periods: Annotated[int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _schedule_needs_period(self) -> RetrainConfig:
        if "schedule" in self.when and self.every_periods is None:
            raise ValueError(
                "retrain.when contains 'schedule' but retrain.every_periods is null; "
                "set how many periods apart retraining is due"
            )
        return self


ExplainFinding = Literal["suspect_column", "weak_segment", "disagreement"]


class ExplainConfig(Section):
    """The explain stage: SHAP, agreement, worst mistakes, weak segments, robustness."""

    max_rows: Annotated[int, Field(ge=200, le=10_000_000)] = 4000
    top_k: Annotated[int, Field(ge=1, le=100)] = 10
    suspect_columns: list[str] = Field(default_factory=list)
    fail_on: list[ExplainFinding] = Field(default_factory=list)
    worst_rows: Annotated[int, Field(ge=1, le=100_000)] = 100
    permutation_repeats: Annotated[int, Field(ge=1, le=50)] = 3
    segment_bins: Annotated[int, Field(ge=2, le=20)] = 4
    segment_min_rows: Annotated[int, Field(ge=10)] = 50
    segment_alpha: Annotated[float, Field(gt=0.0, lt=0.5)] = 0.05
    segment_min_ratio: Annotated[float, Field(ge=1.0)] = 1.25
    perturbation: Annotated[float, Field(gt=0.0, le=1.0)] = 0.05
    robustness_tolerance: Annotated[float, Field(gt=0.0)] = 0.1
