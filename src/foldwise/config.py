"""Load ``params.yaml`` and validate every key into typed, frozen objects.

Each stage calls :func:`load_config` first. Any problem stops the stage with a
:class:`~foldwise.errors.FoldwiseError` whose one-line message names the key, the value and
what is allowed. Checks that need the data (does the target exist, which task is it) live
in :mod:`foldwise.problem`.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from foldwise.errors import FoldwiseError
from foldwise.metrics import METRICS

ModelName = Literal[
    "catboost",
    "logistic_regression",
    "random_forest",
    "hist_gradient_boosting",
    "dummy",
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


class CompareConfig(_Section):
    """``foldwise compare``: significance level and the regression gate's tolerance."""

    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    tolerance: Annotated[float, Field(ge=0)] = 0.0
    bootstrap_samples: Annotated[int, Field(ge=100, le=100_000)] = 1000


class ProductionConfig(_Section):
    """The validate stage's budgets, measured in a fresh process on raw training rows."""

    max_latency_ms: Annotated[float, Field(gt=0)] = 50.0
    min_rows_per_s: Annotated[float, Field(ge=0)] = 2000.0
    max_model_mb: Annotated[float, Field(gt=0)] = 200.0
    max_memory_mb: Annotated[float, Field(gt=0)] = 2048.0
    latency_calls: Annotated[int, Field(ge=20, le=100_000)] = 300
    large_batch_rows: Annotated[int, Field(ge=100, le=10_000_000)] = 20_000


class MonitorConfig(_Section):
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


class RetrainConfig(_Section):
    """When ``foldwise monitor`` asks for retraining, and what ``foldwise retrain`` holds out."""

    when: list[RetrainTrigger] = Field(
        default_factory=lambda: ["drift", "estimated_drop", "realized_drop"]
    )
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


class ExplainConfig(_Section):
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


class Config(_Section):
    seed: Annotated[int, Field(ge=0)] = 42
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


def _key(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the section that holds ``loc``'s last part."""
    current: type[BaseModel] = model
    for part in loc[:-1]:
        field = current.model_fields.get(str(part))
        ann = getattr(field, "annotation", None) if field else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return []
        current = ann
    return list(current.model_fields)


_TYPE_TAGS = {"str", "int", "float", "bool", "none", "RangeSpec", "ChoiceSpec"}


def _is_type_tag(part: Any) -> bool:
    """Pydantic names union branches in error locations; users never wrote those."""
    text = str(part)
    return text in _TYPE_TAGS or "[" in text


def _describe(error: dict[str, Any], source: str) -> str:
    loc = tuple(p for p in error.get("loc", ()) if not _is_type_tag(p))
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        bad = str(loc[-1])
        allowed = _allowed_keys(Config, loc)
        hint = difflib.get_close_matches(bad, allowed, n=1)
        tip = f"; did you mean {_key((*loc[:-1], hint[0]))!r}?" if hint else ""
        return f"{source}: unknown key {_key(loc)!r}{tip} (allowed here: {', '.join(allowed)})"
    value = error.get("input")
    msg = str(error.get("msg", "invalid value"))
    if kind.startswith("value_error"):
        msg = msg.removeprefix("Value error, ")
        key = _key(loc)
        return f"{source}: {msg}" if not loc or msg.startswith(key) else f"{source}: {key}: {msg}"
    if kind == "missing":
        return f"{source}: {_key(loc)} is required but missing"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{source}: {_key(loc)} = {value!r} is not allowed; expected one of {expected}"
    return f"{source}: {_key(loc)} = {value!r} is invalid: {msg.lower()}"


def parse_config(raw: Any, source: str = "params.yaml") -> Config:
    """Validate an already-loaded params mapping; raise FoldwiseError naming the first bad key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise FoldwiseError(
            f"{source}: expected a mapping of keys at the top level, got {type(raw).__name__}"
        )
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        raise FoldwiseError(_describe(dict(errors[0]), source)) from None


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans (only true/false), as DVC reads params.yaml.

    PyYAML follows YAML 1.1, where an unquoted Yes/No/on/off is a boolean; `dvc exp run -S`
    rewrites params.yaml without quotes, and `positive_label: Yes` must stay the label "Yes".
    """


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_params_text(text: str) -> Any:
    """Parse params YAML text the way DVC does (YAML 1.2 booleans)."""
    return yaml.load(text, Loader=_Yaml12Loader)


def read_params(path: Path) -> Any:
    """Parse a params file the way DVC does (YAML 1.2 booleans)."""
    return parse_params_text(path.read_text(encoding="utf-8"))


def load_config(path: str | Path = "params.yaml") -> Config:
    """Read and validate ``params.yaml``."""
    p = Path(path)
    if not p.is_file():
        raise FoldwiseError(f"{p}: file not found; run from the project root")
    try:
        raw = read_params(p)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise FoldwiseError(f"{p}: not valid YAML{where}") from None
    config = parse_config(raw, str(p.name if p.name == "params.yaml" else p))
    # Model settings are checked against the estimators themselves, so the models module
    # (and its libraries) is imported only here, not by parse_config's other callers.
    from foldwise.model_settings import check_model_settings

    task = config.problem.task
    check_model_settings(config, None if task == "auto" else task)
    return config
