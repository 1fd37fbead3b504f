"""Data audit: leakage, train-vs-test checks and data-quality findings, as JSON and Markdown.

Two entry points keep the sealed test table out of the audit stage:
:func:`compute_split_checks` is called by ``prepare`` on label-free train and test frames and
its result is stored in ``split_checks.json``; :func:`build_audit` then reads only the training
table plus those stored checks.

Modules by concern: ``common`` (shared helpers), ``split_checks`` (drift, adversarial
validation, temporal and group overlap), ``duplicates`` (repeated rows and the cross-split
duplicate rule), ``leakage``, ``quality`` (profiles, target, per-column findings), ``build``
(assembling the audit) and ``report`` (Markdown, failure line).
"""

from foldwise.audit.build import FINDING_KINDS, build_audit, failed_findings
from foldwise.audit.report import failure_line, render_markdown
from foldwise.audit.split_checks import compute_split_checks

__all__ = [
    "FINDING_KINDS",
    "build_audit",
    "compute_split_checks",
    "failed_findings",
    "failure_line",
    "render_markdown",
]
