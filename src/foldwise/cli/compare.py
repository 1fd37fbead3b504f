"""``foldwise compare``: two runs side by side (params, paired CV and test verdicts, plots)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from foldwise.compare.comparison import Comparison
    from foldwise.compare.looks import LookCount
    from foldwise.compare.runs import Run

EXIT_REGRESSION = 1


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``compare`` subcommand."""
    cmp = subparsers.add_parser(
        "compare",
        help="compare two runs: params, paired CV and test verdicts, plots, segments",
        description=(
            "Compare TARGET (default: the workspace) with BASE. BASE and TARGET are git "
            "revisions or DVC experiment names. Writes report.md, comparison.json and PNG plots "
            "into --out. Exit codes: 0 ok, 1 the regression gate failed, 2 bad input."
        ),
    )
    cmp.add_argument("base", help="git revision or DVC experiment name to compare against")
    cmp.add_argument("target", nargs="?", default=None, help="default: the workspace")
    cmp.add_argument("--root", type=Path, default=Path.cwd(), help="project root")
    cmp.add_argument("--out", type=Path, default=Path("reports/compare"), help="report directory")
    cmp.add_argument("--md", action="store_true", help="print the Markdown report to stdout")
    cmp.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when the cross-validated primary metric is significantly worse by more "
        "than compare.tolerance",
    )
    cmp.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the report; exit code 1 if the gate is on and fails."""
    from foldwise.compare.comparison import compare_runs
    from foldwise.compare.looks import count_test_looks
    from foldwise.compare.report import render_markdown, write_report
    from foldwise.compare.runs import load_run

    root: Path = args.root.resolve()
    base_run = load_run(root, args.base)
    target_run = load_run(root, args.target)
    comparison = compare_runs(base_run, target_run)
    sha = target_run.test_sha256 or base_run.test_sha256
    looks = count_test_looks(root, sha) if sha else None
    out: Path = args.out if args.out.is_absolute() else root / args.out
    report, plots = write_report(comparison, out, looks)
    if args.md:
        prefix = os.path.relpath(out, Path.cwd()).replace(os.sep, "/") + "/"
        print(render_markdown(comparison, plots, looks, image_prefix=prefix))
    else:
        _print_summary(comparison, base_run, target_run, looks, report)
    if args.fail_on_regression and comparison.gate_failed:
        print(f"error: regression gate {comparison.gate_message}", file=sys.stderr)
        return EXIT_REGRESSION
    return 0


def _print_summary(
    comparison: Comparison, base: Run, target: Run, looks: LookCount | None, report: Path
) -> None:
    """The short console summary: CV verdicts, warnings, test looks, features that moved."""
    from foldwise.compare.report import summary_line
    from foldwise.explain.moves import feature_moves

    for i, row in enumerate(comparison.cv_rows):
        print(("* " if i == 0 else "  ") + "cv " + summary_line(row))
    for warning in comparison.warnings:
        print(f"warning: {warning}")
    if looks is not None:
        print(looks.message())
    moved = [m for m in feature_moves(base.importance, target.importance) if m["move"] != "same"]
    if moved:
        print(
            "top features moved: "
            + ", ".join(
                f"{m['feature']} #{m['base_rank'] or '-'} -> #{m['target_rank'] or '-'}"
                for m in moved[:5]
            )
        )
    print(f"regression gate {comparison.gate_message}")
    print(f"report: {report}")
