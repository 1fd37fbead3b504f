"""Compare two runs of the pipeline (git revisions, DVC experiments or the workspace).

Every verdict comes from a paired test when the runs allow one:

- cross-validation: the corrected resampled t-test of Nadeau & Bengio (2003) on the per-fold
  differences, when both runs used the same folds (same fingerprint); otherwise a Welch test
  whose variances carry the same correction (weaker, and the report says so);
- test set: a paired bootstrap on the same test rows, when both runs scored the same test
  table (same hash); otherwise independent bootstraps.

The regression gate uses the cross-validated scores only: nothing is chosen by the test set.

Modules by concern: ``runs`` (reading a revision's reports through DVC, its test predictions),
``inference`` (the tests and their verdicts), ``changes`` (params and segments that moved),
``comparison`` (every metric compared, the regression gate), ``looks`` (how often a test table
was scored: ``foldwise test-usage``), ``plots``, ``summary`` (``comparison.json``) and
``report`` (the Markdown report and the files ``foldwise compare`` writes).
"""

from foldwise.compare.comparison import Comparison, MetricRow, compare_runs
from foldwise.compare.inference import Inference
from foldwise.compare.looks import LookCount, count_test_looks
from foldwise.compare.report import render_markdown, summary_line, write_report
from foldwise.compare.runs import Run, load_run

__all__ = [
    "Comparison",
    "Inference",
    "LookCount",
    "MetricRow",
    "Run",
    "compare_runs",
    "count_test_looks",
    "load_run",
    "render_markdown",
    "summary_line",
    "write_report",
]
