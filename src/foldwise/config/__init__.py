"""Load ``params.yaml`` and validate every key into typed, frozen objects.

Each stage calls :func:`foldwise.model_settings.load_config` first. Any problem stops the stage with a
:class:`~foldwise.errors.FoldwiseError` whose one-line message names the key, the value and
what is allowed. Checks that need the data (does the target exist, which task is it) live
in :mod:`foldwise.problem`.

The code lives in :mod:`foldwise.config.data_sections`, :mod:`foldwise.config.model_sections`,
:mod:`foldwise.config.tune_sections`, :mod:`foldwise.config.sections` (audit, train, evaluate;
it re-exports the other three) and :mod:`foldwise.config.operations` (the sections),
:mod:`foldwise.config.schema` (the whole file), :mod:`foldwise.config.messages`
(error messages) and :mod:`foldwise.config.load` (reading and validating); this package
re-exports their public names. :func:`foldwise.model_settings.load_config` reads the file and
also checks the model settings against the estimators (this package knows no estimator).
"""

from foldwise.config.load import parse_config, parse_params_text, read_config, read_params
from foldwise.config.operations import (
    CompareConfig,
    ExplainConfig,
    ExplainFinding,
    MonitorConfig,
    ProductionConfig,
    RetrainConfig,
    RetrainTrigger,
)
from foldwise.config.schema import Config
from foldwise.config.sections import (
    AuditConfig,
    AuditFinding,
    ChoiceSpec,
    CostConfig,
    CVConfig,
    DataConfig,
    DemoConfig,
    EnsembleConfig,
    EvaluateConfig,
    ModelConfig,
    ModelName,
    ProblemConfig,
    RangeSpec,
    Scalar,
    SplitConfig,
    TrainConfig,
    TuneConfig,
)

__all__ = [
    "AuditConfig",
    "AuditFinding",
    "CVConfig",
    "ChoiceSpec",
    "CompareConfig",
    "Config",
    "CostConfig",
    "DataConfig",
    "DemoConfig",
    "EnsembleConfig",
    "EvaluateConfig",
    "ExplainConfig",
    "ExplainFinding",
    "ModelConfig",
    "ModelName",
    "MonitorConfig",
    "ProblemConfig",
    "ProductionConfig",
    "RangeSpec",
    "RetrainConfig",
    "RetrainTrigger",
    "Scalar",
    "SplitConfig",
    "TrainConfig",
    "TuneConfig",
    "parse_config",
    "parse_params_text",
    "read_config",
    "read_params",
]
