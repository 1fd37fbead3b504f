"""The train stage as a library: typed inputs in, a frozen :class:`TrainResult` out.

:func:`read_train_inputs` reads what the stage needs, :func:`train` cross-validates the tuned
model, picks the decision threshold out of fold, compares with the baselines and fits the
final bundle, and :func:`write_outputs` writes the result (``stages/train.py`` is these three
calls). Tests and benchmarks call :func:`train` on inputs built in memory.
"""

from foldwise.train_stage.inputs import BaselineScores, TrainInputs, TunedParams, read_train_inputs
from foldwise.train_stage.output import metrics_report, summary_lines, write_outputs
from foldwise.train_stage.run import Threshold, TrainResult, train

__all__ = [
    "BaselineScores",
    "Threshold",
    "TrainInputs",
    "TrainResult",
    "TunedParams",
    "metrics_report",
    "read_train_inputs",
    "summary_lines",
    "train",
    "write_outputs",
]
