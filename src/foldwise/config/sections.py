"""The params.yaml sections the pipeline reads from the model to evaluation, and shared types.

Every section is a frozen, strict pydantic model that refuses unknown keys
(:class:`foldwise.config.base.Section`); the sections that describe the table and the problem
live in :mod:`foldwise.config.data_sections` and are re-exported here.
"""

from __future__ import annotations

from typing import Annotated, Literal, cast, get_args

from pydantic import Field, model_validator

from foldwise.config.base import Scalar, Section
from foldwise.config.data_sections import (
    CVConfig,
    DataConfig,
    DemoConfig,
    ProblemConfig,
    SplitConfig,
)

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

ModelName = Literal[
    "catboost",
    "logistic_regression",
    "random_forest",
    "hist_gradient_boosting",
    "dummy",
    "lightgbm",
    "extra_trees",
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
# The name the other config modules used for the base section before it moved to base.py.
_Section = Section

# The default members of model.name ensemble: fast, different families (docs: Ensembles).
ENSEMBLE_MEMBERS = ["catboost", "hist_gradient_boosting", "random_forest", "logistic_regression"]


def _settings(**settings: Scalar) -> dict[str, Scalar]:
    """A model-settings default, typed as the field is."""
    return settings


def _findings(*names: AuditFinding) -> list[AuditFinding]:
    return list(names)


def _per_model(**settings: dict[str, Scalar]) -> dict[ModelName, dict[str, Scalar]]:
    return {cast(ModelName, name): value for name, value in settings.items()}


class EnsembleConfig(Section):
    """``model.ensemble``: members (any registry name, each with its ``model.<name>`` block)."""

    members: list[str] = Field(
        default_factory=lambda: list(ENSEMBLE_MEMBERS),
        description="The models blended when model.name is ensemble; each is fitted with its own "
        "model.<name> settings, and the weights are chosen on out-of-fold predictions.",
    )
    rounds: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=25,
        description="Rounds of greedy ensemble selection with replacement (Caruana et al. "
        "2004): a member chosen k times of the rounds gets weight k / rounds.",
    )

    @model_validator(mode="after")
    def _known_members(self) -> EnsembleConfig:
        known = list(get_args(ModelName))
        if not self.members:
            raise ValueError("model.ensemble.members is empty; name at least one model")
        for name in self.members:
            if name not in known:
                raise ValueError(
                    f"model.ensemble.members: {name!r} is not a model; allowed: {', '.join(known)}"
                )
        dupes = sorted({m for m in self.members if self.members.count(m) > 1})
        if dupes:
            raise ValueError(f"model.ensemble.members lists {dupes} more than once")
        return self


class ModelConfig(_Section):
    name: Literal[ModelName, "ensemble"] = Field(
        default="catboost",
        description="The model the tune and train stages fit (`logistic_regression` is ridge "
        "for regression; `ensemble`: a weighted blend of model.ensemble.members, weights "
        "chosen out of fold).",
        json_schema_extra={"comment": "{choices}"},
    )
    ensemble: EnsembleConfig = Field(
        default_factory=EnsembleConfig,
        description="The members and selection rounds of model.name ensemble.",
    )
    catboost: dict[str, Scalar] = Field(
        default_factory=lambda: _settings(
            iterations=1000, learning_rate=0.1, depth=6, max_ctr_complexity=2
        ),
        description="Fixed CatBoost settings, passed to the estimator (unknown keys are refused "
        "by name). Unset keys keep CatBoost's library defaults (e.g. border_count 254). The "
        "shipped model needs them: border_count 64 and no feature combinations cost 0.008 AUC "
        "on the demo and 1% RMSE on a house-price table; tune.trial_settings keeps those for "
        "the trial fits only.",
        json_schema_extra={
            "notes": {
                "iterations": "an upper bound: early stopping finds the rounds",
                "max_ctr_complexity": "CTRs of feature pairs: on the house-price table as "
                "accurate as the library default (4), and cheaper",
            }
        },
    )
    logistic_regression: dict[str, Scalar] = Field(
        default_factory=dict,
        description="Fixed settings of the linear model, e.g. C: 1.0 (classification) or "
        "alpha: 1.0 (ridge, regression).",
    )
    random_forest: dict[str, Scalar] = Field(
        default_factory=lambda: _settings(n_estimators=300, min_samples_leaf=2),
        description="Fixed random-forest settings (e.g. n_estimators, min_samples_leaf).",
    )
    hist_gradient_boosting: dict[str, Scalar] = Field(
        default_factory=lambda: _settings(max_iter=500, learning_rate=0.05),
        description="Fixed settings of scikit-learn's histogram gradient boosting.",
    )
    dummy: dict[str, Scalar] = Field(
        default_factory=dict,
        description="Settings of the dummy baseline, e.g. strategy: prior (classification) or "
        "mean (regression).",
    )
    lightgbm: dict[str, Scalar] = Field(
        default_factory=lambda: _settings(
            n_estimators=2000, learning_rate=0.05, cat_smooth=50, min_data_per_group=200
        ),
        description="Fixed LightGBM settings (LightGBM's own names or their scikit-learn "
        "aliases). LightGBM splits categories natively and learns where missing values go.",
        json_schema_extra={
            "comment": "LightGBM's own names or their scikit-learn aliases",
            "notes": {
                "n_estimators": "an upper bound: early stopping finds the rounds",
                "learning_rate": "AutoGluon's; num_leaves 31, min_child_samples 20: LightGBM's",
                "cat_smooth": "smoother categorical splits than LightGBM's 10 and 100: on the",
                "min_data_per_group": "demo's city column +0.007 CV AUC (no categories: no effect)",
            },
        },
    )
    extra_trees: dict[str, Scalar] = Field(
        default_factory=lambda: _settings(n_estimators=300, max_leaf_nodes=15000, max_features=0.5),
        description="Fixed extra-trees settings: AutoGluon's extra trees (its zero-shot "
        "portfolio's XT), 300 trees of at most 15,000 leaves (bounded memory on big tables), "
        "half the features tried at each split.",
        json_schema_extra={"comment": "AutoGluon's extra trees (its zero-shot portfolio's XT)"},
    )
    max_onehot_categories: Annotated[int, Field(ge=2, le=1000)] = Field(
        default=20,
        description="Categorical columns with more levels than this get target encoding "
        "instead of one-hot (models other than CatBoost).",
        json_schema_extra={"comment": "more levels than this: target encoding instead of one-hot"},
    )

    def settings(self, name: str | None = None) -> dict[str, Scalar]:
        """The fixed settings from params.yaml for model ``name`` (default: the chosen one)."""
        name = name or self.name
        if name == "ensemble":
            raise ValueError("model.ensemble has members, not estimator settings")
        return dict(getattr(self, name))

    @property
    def members(self) -> list[str]:
        """The models fitted: the ensemble's members, or the one chosen model."""
        return list(self.ensemble.members) if self.name == "ensemble" else [self.name]


class AuditConfig(_Section):
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


class TrainConfig(_Section):
    early_stopping_rounds: Annotated[int, Field(ge=1)] = Field(
        default=50,
        description="Boosting models stop after this many rounds without improvement on the "
        "carved validation part.",
        json_schema_extra={"comment": "boosting: stop after this many rounds without improvement"},
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


class CostConfig(_Section):
    false_positive: Annotated[float, Field(ge=0.0)] = Field(
        default=1.0,
        description="Cost of one false positive, for `train.threshold: cost` and the cost "
        "reported by evaluate.",
    )
    false_negative: Annotated[float, Field(ge=0.0)] = Field(
        default=5.0, description="Cost of one false negative."
    )


class EvaluateConfig(_Section):
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
            catboost=_settings(border_count=64, max_ctr_complexity=1)
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
