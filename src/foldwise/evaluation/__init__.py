"""Reports built from predictions: metrics, decision threshold, bootstrap intervals, segments.

Every function is pure and returns plain JSON (``json.dumps(..., allow_nan=False)`` works):
a metric that is undefined on the rows given becomes ``None`` with a note saying why (MAPE is
left out of the regression report instead), never NaN.

The code lives in :mod:`foldwise.evaluation.reports` (classification and regression reports),
:mod:`foldwise.evaluation.threshold`, :mod:`foldwise.evaluation.bootstrap`,
:mod:`foldwise.evaluation.segments` and :mod:`foldwise.evaluation.folds` (cross-validation
summaries), with shared helpers in :mod:`foldwise.evaluation.common`; this package re-exports
their public names.
"""

from foldwise.evaluation.bootstrap import (
    bootstrap_interval,
    bootstrap_p_value,
    paired_bootstrap,
    percentile_interval,
    resample_counts,
)
from foldwise.evaluation.folds import better_if, cv_summary
from foldwise.evaluation.reports import classification_report, regression_report
from foldwise.evaluation.segments import (
    MISSING,
    SEGMENT_DRAWS,
    SEGMENT_MIN_EXCESS_ERROR,
    SEGMENT_MIN_Z,
    segment_report,
)
from foldwise.evaluation.threshold import choose_threshold

__all__ = [
    "MISSING",
    "SEGMENT_DRAWS",
    "SEGMENT_MIN_EXCESS_ERROR",
    "SEGMENT_MIN_Z",
    "better_if",
    "bootstrap_interval",
    "bootstrap_p_value",
    "choose_threshold",
    "classification_report",
    "cv_summary",
    "paired_bootstrap",
    "percentile_interval",
    "regression_report",
    "resample_counts",
    "segment_report",
]
