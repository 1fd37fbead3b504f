"""The audit stage as a library function: :func:`run_audit` returns an :class:`AuditResult`.

The stage script (``stages/audit.py``) reads the training table, the schema and prepare's
split checks, calls :func:`run_audit` and writes what the result gives; it never reads the
sealed test table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from foldwise.audit.build import build_audit, failed_findings
from foldwise.audit.report import failure_line, render_markdown
from foldwise.config import AuditConfig
from foldwise.stage import rounded

# audit.json: the headline numbers (DVC metrics: one column each in `dvc exp show`).
HEADLINE = (
    "passed",
    "n_findings",
    "n_failing",
    "rows_train",
    "n_features",
    "adversarial_auc",
    "max_psi",
    "leakage_columns",
    "max_leakage_score",
    "train_test_duplicates",
    "temporal_overlap_rows",
)


@dataclass(frozen=True)
class AuditResult:
    """The audit, rounded once (so the JSON, the Markdown and the verdict read the same
    digits), and the findings that fail it (``audit.fail_on``)."""

    details: dict[str, Any]  # every section: audit_details.json
    failing: tuple[dict[str, Any], ...]

    @property
    def passed(self) -> bool:
        return not self.failing

    def headline(self) -> dict[str, Any]:
        """``audit.json``: the headline numbers the audit has."""
        return {k: self.details[k] for k in HEADLINE if k in self.details}

    def markdown(self) -> str:
        """``audit.md``."""
        return render_markdown(self.details)

    def summary_line(self, report: str) -> str:
        """One line for the console, naming the Markdown report."""
        status = "passed" if self.passed else "FAILED"
        return (
            f"audit {status}: {self.details['n_findings']} finding(s), {len(self.failing)} "
            f"failing; report in {report}"
        )

    def failure_message(self) -> str:
        """What failed and what to do, in one line (only when the audit failed)."""
        return failure_line(list(self.failing))


def run_audit(
    train: pd.DataFrame,
    schema: dict[str, Any],
    split_checks: dict[str, Any],
    config: AuditConfig,
    seed: int,
) -> AuditResult:
    """Audit the training table; ``split_checks`` are prepare's label-free train-vs-test checks."""
    details = rounded(build_audit(train, schema, split_checks, config, seed))
    return AuditResult(details, tuple(failed_findings(details, config.fail_on)))
