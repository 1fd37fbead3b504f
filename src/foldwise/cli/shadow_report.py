"""``foldwise shadow-report``: the primary and shadow predictions of a prediction log compared."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``shadow-report`` subcommand."""
    rep = subparsers.add_parser(
        "shadow-report",
        help="compare the primary and shadow predictions of a prediction log",
        description=(
            "Agreement and score differences between the primary and shadow models on the "
            "logged rows; with --labels (CSV/Parquet with the target column and the model's id "
            "columns by name, or `id`), which "
            "model is better by a paired bootstrap on the same rows."
        ),
    )
    rep.add_argument("log", type=Path, help="prediction log folder (--log-dir of serve)")
    rep.add_argument("--labels", type=Path, default=None, help="labels file joined on the ids")
    rep.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    rep.add_argument("--alpha", type=float, default=0.05, help="significance level")
    rep.add_argument("--bootstrap-samples", type=int, default=1000)
    rep.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print (and optionally write) the shadow comparison."""
    from foldwise.serve.report import render_text, shadow_report_for
    from foldwise.stage import write_json_atomic

    report = shadow_report_for(
        args.log, args.labels, alpha=args.alpha, n_samples=args.bootstrap_samples
    )
    print(render_text(report))
    if args.json is not None:
        write_json_atomic(args.json, report)
    return 0
