"""``foldwise retrain``: challenger experiment, paired comparison, GTO registration."""

from __future__ import annotations

import argparse
from pathlib import Path

from foldwise.errors import FoldwiseError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``retrain`` subcommand."""
    ret = subparsers.add_parser(
        "retrain",
        help="append newly labelled rows, run a challenger experiment, compare it with prod",
        description=(
            "Check everything first (labels join, columns, held-out rows enough for the metric, "
            "a DVC-tracked data.source, a clean git tree); then append the labelled production "
            "rows (all but the latest retrain.recent_periods) to data.source (a pipeline output "
            "such as the built-in demo table is copied to data/raw/ first), run `dvc exp run` "
            "(the challenger), compare it with the champion (--champion, default the version in "
            "prod) on the held-out rows with a paired bootstrap, and register it with GTO without "
            "promoting it. A failure after the first change restores everything."
        ),
    )
    ret.add_argument("batches", nargs="+", type=Path, metavar="BATCH", help="CSV/Parquet")
    ret.add_argument("--labels", type=Path, nargs="+", action="extend", required=True)
    ret.add_argument("--name", help="experiment name (default: retrain-<latest period>)")
    ret.add_argument(
        "--recent-periods", type=int, help="labelled periods held out (retrain.recent_periods)"
    )
    ret.add_argument("--champion", default="model#prod", help="GTO ref or git revision")
    ret.add_argument("--root", type=Path, default=Path.cwd(), help="project root")
    ret.add_argument("--out", type=Path, default=Path("reports/retrain"), help="report folder")
    ret.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Retrain on the labelled rows and print the verdict; the challenger is not promoted."""
    from foldwise.model_settings import load_config
    from foldwise.monitor.retrain import retrain as run_retrain
    from foldwise.monitor.retrain import summary_line

    if args.recent_periods is not None and args.recent_periods < 1:
        raise FoldwiseError(f"--recent-periods must be at least 1, got {args.recent_periods}")
    root = args.root.resolve()
    summary = run_retrain(
        root,
        load_config(root / "params.yaml"),
        batches=[p.resolve() for p in args.batches],
        labels_paths=[p.resolve() for p in args.labels],
        name=args.name,
        champion_ref=args.champion,
        out=args.out if args.out.is_absolute() else root / args.out,
        recent_periods=args.recent_periods,
    )
    print(summary_line(summary))
    print(f"not promoted; after review: {summary['promote']}")
    print(f"report: {summary['report']}")
    return 0
