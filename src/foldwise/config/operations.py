"""The params.yaml sections read once a model is trained.

The explain and validate stages (``explain``, ``production``) and the ``foldwise compare``,
``monitor`` and ``retrain`` commands.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from foldwise.config.base import Section


class CompareConfig(Section):
    """``foldwise compare``: significance level and the regression gate's tolerance."""

    alpha: Annotated[float, Field(gt=0, lt=0.5)] = Field(
        default=0.05,
        description="Significance level of `foldwise compare`'s paired tests: its verdicts and "
        "the regression gate use (1 - alpha) intervals.",
        json_schema_extra={"comment": "significance level of the paired tests (verdicts and gate)"},
    )
    tolerance: Annotated[float, Field(ge=0)] = Field(
        default=0.0,
        description="`foldwise compare --fail-on-regression` fails only when the "
        "cross-validated primary metric is significantly worse by more than this, in the "
        "metric's units. Read from BASE's `params.yaml`.",
        json_schema_extra={
            "comment": "--fail-on-regression fails only if the CV primary metric is "
            "significantly worse by more than this (in metric units)"
        },
    )
    bootstrap_samples: Annotated[int, Field(ge=100, le=100_000)] = Field(
        default=1000,
        description="Resamples of the paired bootstrap on the two runs' test predictions.",
        json_schema_extra={"comment": "resamples of the paired bootstrap on the test predictions"},
    )


class ProductionConfig(Section):
    """The validate stage's budgets, measured in a fresh process on raw training rows."""

    max_latency_ms: Annotated[float, Field(gt=0)] = Field(
        default=50.0,
        description="`validate` fails when the p99 latency of scoring one row (a dict, the "
        "serving path), measured in a fresh process, is above this.",
        json_schema_extra={"comment": "p99 latency of scoring one row (a dict, the serving path)"},
    )
    min_rows_per_s: Annotated[float, Field(ge=0)] = Field(
        default=2000.0,
        description="`validate` fails when batch scoring of the raw training rows is slower "
        "than this.",
        json_schema_extra={"comment": "batch throughput on the training rows"},
    )
    max_model_mb: Annotated[float, Field(gt=0)] = Field(
        default=200.0,
        description="`validate` fails when the bundle folder is larger than this (MB).",
        json_schema_extra={"comment": "size of the bundle folder"},
    )
    max_memory_mb: Annotated[float, Field(gt=0)] = Field(
        default=2048.0,
        description="`validate` fails when the scoring process's peak memory (imports "
        "included) is above this (MB).",
        json_schema_extra={"comment": "peak memory of the scoring process (imports included)"},
    )
    latency_calls: Annotated[int, Field(ge=20, le=100_000)] = Field(
        default=300, description="One-row calls timed for the p99."
    )
    large_batch_rows: Annotated[int, Field(ge=100, le=10_000_000)] = Field(
        default=20_000, description="Rows of the edge-case suite's large batch."
    )


class MonitorConfig(Section):
    """``foldwise monitor``: periods, data-quality and drift thresholds, performance drop."""

    period: Literal["day", "week", "month"] = Field(
        default="month",
        description="`foldwise monitor` groups production rows by `day`, `week` (from Monday) "
        "or `month` of their timestamp; `--by` overrides.",
        json_schema_extra={"comment": "{choices} (--by overrides)"},
    )
    min_rows: Annotated[int, Field(ge=1)] = Field(
        default=200,
        description="Periods with fewer rows are listed but not judged (only a schedule can "
        "trigger there).",
        json_schema_extra={"comment": "periods with fewer rows are reported but not judged"},
    )
    drift_psi: Annotated[float, Field(gt=0)] = Field(
        default=0.2,
        description="A feature (or the predictions) drifted when its PSI against the reference "
        "reaches this plus the PSI sampling noise gives, (bins - 1)(1/n + 1/n_reference), and "
        "its test (KS for numbers and dates, chi-square for the top categories plus "
        '"other") is significant.',
        json_schema_extra={
            "comment": "PSI vs reference that counts as drift (with a significant test)"
        },
    )
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = Field(
        default=0.01,
        description="Significance of the drift, data-quality (missing share, out of range, "
        "unseen categories) and residual tests, Bonferroni-corrected over the features.",
        json_schema_extra={"comment": "significance of the drift tests (Bonferroni over features)"},
    )
    drift_min_importance: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.05,
        description="Drift in a feature with a smaller share of the model's importance only "
        "warns; it does not trigger retraining.",
        json_schema_extra={"comment": "drift in a feature with less importance share only warns"},
    )
    missing_jump: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.1,
        description="A column whose missing share exceeds the reference's by more than this "
        "(significantly) is flagged.",
        json_schema_extra={"comment": "missing share above the reference's by more than this"},
    )
    out_of_range_share: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.01,
        description="Share of a numeric column's values outside the training range that is "
        "flagged.",
        json_schema_extra={"comment": "share of values outside the training range that is flagged"},
    )
    new_category_share: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.01,
        description="Share of rows with categories never seen in training, beyond what the "
        "training tail predicts (Good-Turing), that is flagged.",
        json_schema_extra={"comment": "share of unseen categories that is flagged"},
    )
    performance_drop: Annotated[float, Field(ge=0)] = Field(
        default=0.05,
        description="Realized or estimated primary metric worse than the CV mean by more than "
        "this, with the CV mean outside its 95% interval, is a drop.",
        json_schema_extra={
            "comment": "primary metric below the CV mean by more than this (significant)"
        },
    )
    bootstrap_samples: Annotated[int, Field(ge=100, le=100_000)] = Field(
        default=500,
        description="Resamples for the realized-performance intervals and label draws for the "
        "estimated ones.",
        json_schema_extra={"comment": "resamples for the realized and estimated intervals"},
    )


RetrainTrigger = Literal["drift", "estimated_drop", "realized_drop", "schedule"]
_DEFAULT_TRIGGERS: tuple[RetrainTrigger, ...] = ("drift", "estimated_drop", "realized_drop")


def _triggers(*names: RetrainTrigger) -> list[RetrainTrigger]:
    return list(names)


class RetrainConfig(Section):
    """When ``foldwise monitor`` asks for retraining, and what ``foldwise retrain`` holds out."""

    when: list[RetrainTrigger] = Field(
        default_factory=lambda: _triggers("drift", "estimated_drop", "realized_drop"),
        description="What makes `foldwise monitor` ask for retraining (exit code 1): `drift` "
        "(a relied-on feature or the predictions), `estimated_drop`, `realized_drop`, "
        "`schedule`.",
        json_schema_extra={"comment": "and/or schedule"},
    )
    every_periods: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="With `schedule`: retraining is due every this many periods (required then).",
        json_schema_extra={"comment": "schedule: retrain every this many periods"},
    )
    recent_periods: Annotated[int, Field(ge=1)] = Field(
        default=1,
        description="`foldwise retrain`: the latest labelled periods held out from the "
        "challenger's training rows to compare it with the champion.",
        json_schema_extra={
            "comment": "foldwise retrain: latest labelled periods held out to compare"
        },
    )

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

    max_rows: Annotated[int, Field(ge=200, le=10_000_000)] = Field(
        default=4000,
        description="Training rows explained with SHAP (final and fold models), permutation "
        "importance and robustness.",
        json_schema_extra={
            "comment": "rows explained with SHAP, permutation importance, robustness"
        },
    )
    top_k: Annotated[int, Field(ge=1, le=100)] = Field(
        default=10,
        description='How many features count as "top": `importance.json`\'s `top_features`, '
        "the suspect check, the report's table.",
        json_schema_extra={"comment": '"top features": importance.json, suspects, the report'},
    )
    suspect_columns: list[str] = Field(
        default_factory=list,
        description="Columns that should not matter (an id-like code, a location); flagged "
        "when among the top features. Empty by default, so a new table never trips over a "
        "demo column; e.g. `-S 'explain.suspect_columns=[city]'` on the demo.",
        json_schema_extra={
            "comment": "columns that should not matter (e.g. [city]); flagged if in the top_k"
        },
    )
    fail_on: list[ExplainFinding] = Field(
        default_factory=list,
        description="Findings that fail the explain stage: `suspect_column`, `weak_segment`, "
        "`disagreement`.",
        json_schema_extra={
            "comment": "suspect_column | weak_segment | disagreement fail the stage"
        },
    )
    worst_rows: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=100,
        description="Worst out-of-fold mistakes listed, by loss.",
        json_schema_extra={"comment": "worst out-of-fold mistakes listed (by loss)"},
    )
    permutation_repeats: Annotated[int, Field(ge=1, le=50)] = Field(
        default=3, description="Shuffles per column for permutation importance."
    )
    segment_bins: Annotated[int, Field(ge=2, le=20)] = Field(
        default=4,
        description="Quantile bins of a numeric or date column when searching weak segments.",
        json_schema_extra={"comment": "quantile bins of a numeric column when searching segments"},
    )
    segment_min_rows: Annotated[int, Field(ge=10)] = Field(
        default=50,
        description='Smallest slice tested; categories with fewer rows are pooled as "(other)".',
        json_schema_extra={"comment": "smallest slice tested"},
    )
    segment_alpha: Annotated[float, Field(gt=0.0, lt=0.5)] = Field(
        default=0.05,
        description="Family-wise error rate over all slices searched (Holm).",
        json_schema_extra={"comment": "family-wise error rate over all slices (Holm)"},
    )
    segment_min_ratio: Annotated[float, Field(ge=1.0)] = Field(
        default=1.25,
        description="A weak slice's mean out-of-fold loss is at least this multiple of the "
        "overall mean.",
        json_schema_extra={"comment": "a weak slice's mean loss is at least this x the overall"},
    )
    perturbation: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        default=0.05,
        description="Robustness: numbers and dates move by this fraction of their "
        "interquartile range.",
        json_schema_extra={
            "comment": "robustness: numbers move by this x their interquartile range"
        },
    )
    robustness_tolerance: Annotated[float, Field(gt=0.0)] = Field(
        default=0.1,
        description='A prediction "moved" when its probability changes by more than this '
        "(regression: this x the target's standard deviation).",
        json_schema_extra={"comment": 'a prediction "moved": probability (or x target std) change'},
    )
