"""The params.yaml sections the pipeline reads from the audit to evaluation, and shared types.

Every section is a frozen, strict pydantic model that refuses unknown keys
(:class:`foldwise.config.base.Section`); the sections that describe the table and the problem
live in :mod:`foldwise.config.data_sections`, the model section in
:mod:`foldwise.config.model_sections` and the tune section in :mod:`foldwise.config.tune_sections`;
all are re-exported here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from foldwise.config.base import Scalar, Section
from foldwise.config.data_sections import (
    CVConfig,
    DataConfig,
    DemoConfig,
    ProblemConfig,
    SplitConfig,
)
from foldwise.config.model_sections import EnsembleConfig, ModelConfig, ModelName
from foldwise.config.tune_sections import ChoiceSpec, RangeSpec, TuneConfig

__all__ = [
    "AuditConfig",
    "AuditFinding",
    "CVConfig",
    "ChoiceSpec",
    "CostConfig",
    "DataConfig",
    "DemoConfig",
    "EnsembleConfig",
    "EvaluateConfig",
    "ModelConfig",
    "ModelName",
    "ProblemConfig",
    "RangeSpec",
    "Scalar",
    "SplitConfig",
    "TrainConfig",
    "TuneConfig",
]

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


def _findings(*names: AuditFinding) -> list[AuditFinding]:
    return list(names)


class AuditConfig(Section):
    fail_on: list[AuditFinding] = Field(
        default_factory=lambda: _findings("leakage", "train_test_duplicates", "temporal_overlap"),
        description="Findings that fail the audit stage: leakage, train_test_duplicates, "
        "temporal_overlap, drift, adversarial, missing, constant, high_cardinality, "
        "imbalance, outliers, duplicates.",
    )
    leakage_score: Annotated[float, Field(gt=0.5, le=1.0)] = Field(
        default=0.9,
        description="A column whose cross-validated ROC-AUC on its own reaches this, and stands "
        "out from the other columns (robust z >= 2), is flagged as leakage (classification). "
        "Near-perfect columns (>= 0.99) and columns far above all others (robust z > 5, AUC "
        ">= 0.8) are flagged regardless.",
        json_schema_extra={
            "comment": "single-feature CV ROC-AUC that flags leakage (classification)"
        },
    )
    leakage_r2: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        default=0.8,
        description="The same for regression, as R2.",
        json_schema_extra={"comment": "the same for regression, as R2"},
    )
    drift_psi: Annotated[float, Field(gt=0.0)] = Field(
        default=0.25,
        description="Population stability index between train and test above which a column "
        "is flagged as drifted.",
        json_schema_extra={"comment": "PSI train vs test that flags drift"},
    )
    adversarial_auc: Annotated[float, Field(gt=0.5, le=1.0)] = Field(
        default=0.75,
        description="ROC-AUC of a classifier telling train rows from test rows above which the "
        "split is flagged.",
        json_schema_extra={
            "comment": "AUC of telling train rows from test rows that flags the split"
        },
    )
    near_constant_share: Annotated[float, Field(gt=0.5, le=1.0)] = Field(
        default=0.99,
        description="A column whose most common value covers at least this share is near-constant.",
        json_schema_extra={"comment": "most common value's share that flags a column"},
    )
    high_cardinality: Annotated[int, Field(ge=2)] = Field(
        default=50,
        description="Categorical columns with more distinct values are flagged as "
        "high-cardinality.",
        json_schema_extra={"comment": "distinct values that flag a categorical column"},
    )
    missing_share: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        default=0.5,
        description="Columns missing more than this share are flagged.",
    )
    outlier_share: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        default=0.05,
        description="Numeric columns with more than this share outside 3xIQR fences are flagged.",
    )
    imbalance_ratio: Annotated[float, Field(ge=1.0)] = Field(
        default=20.0,
        description="Majority/minority class ratio above which the target is flagged as "
        "imbalanced.",
        json_schema_extra={"comment": "majority/minority class ratio that flags the target"},
    )
    max_rows: Annotated[int, Field(ge=1000)] = Field(
        default=200_000,
        description="Rows sampled for the audit's model-based checks (leakage, adversarial "
        "validation).",
        json_schema_extra={"comment": "rows sampled for the model-based checks"},
    )
    duplicate_excess: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        default=0.01,
        description="train_test_duplicates is judged against the training table's own repeat "
        "rate (the share of its rows equal to another training row): it fails only when the "
        "test rows equal training rows significantly more often (one-sided Fisher exact test, "
        "p < 0.001) and the share in excess, (observed - expected) / (1 - expected), reaches "
        "this.",
        json_schema_extra={
            "comment": "train_test_duplicates fails only when this share of test rows equals "
            "training rows beyond the table's own repeat rate"
        },
    )


class TrainConfig(Section):
    early_stopping_rounds: Annotated[int, Field(ge=1)] = Field(
        default=30,
        description="Boosting models stop after this many rounds without improvement on the "
        "carved validation part.",
        json_schema_extra={
            "comment": "boosting: stop after this many rounds without improvement (CatBoost's own default is 20)"
        },
    )
    validation_size: Annotated[float, Field(gt=0.0, le=0.5)] = Field(
        default=0.2,
        description="Share of a training part carved out (respecting time and groups) to find "
        "the number of rounds; the model is then refit on all rows with that number.",
        json_schema_extra={"comment": "share of the training part carved out for early stopping"},
    )
    threshold: Literal["f1", "cost"] = Field(
        default="f1",
        description="Binary only: choose the decision threshold from out-of-fold predictions "
        "by maximising `f1`, or by minimising `cost` (see `evaluate.cost`). Never from the test "
        "set.",
        json_schema_extra={
            "comment": "binary decision threshold from out-of-fold predictions: {choices}"
        },
    )


class CostConfig(Section):
    false_positive: Annotated[float, Field(ge=0.0)] = Field(
        default=1.0,
        description="Cost of one false positive, for `train.threshold: cost` and the cost "
        "reported by evaluate.",
    )
    false_negative: Annotated[float, Field(ge=0.0)] = Field(
        default=5.0, description="Cost of one false negative."
    )


class EvaluateConfig(Section):
    segments: list[str] = Field(
        default_factory=list,
        description="Columns whose values (or quantile bins, for numbers) get their own metrics "
        "on the test set; segments much worse than the whole are flagged.",
        json_schema_extra={"comment": "metrics per value of these columns"},
    )
    segment_min_rows: Annotated[int, Field(ge=1)] = Field(
        default=30, description="Segments with fewer test rows are listed without a metric."
    )
    cost: CostConfig = Field(
        default_factory=CostConfig,
        description="Costs of the two errors of a binary decision.",
        json_schema_extra={"comment": "used when train.threshold is cost"},
    )
    bootstrap_samples: Annotated[int, Field(ge=100, le=100_000)] = Field(
        default=1000,
        description="Bootstrap resamples of the test rows for the primary metric's 95% interval.",
        json_schema_extra={"comment": "resamples for the primary metric's 95% interval"},
    )
