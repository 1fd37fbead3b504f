"""``foldwise monitor``: judge production periods; exit 1 when retraining is due."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``monitor`` subcommand."""
    mon = subparsers.add_parser(
        "monitor",
        help="data quality, drift and performance of production rows per period; retrain trigger",
        description=(
            "Compare production rows with the bundle's reference profile, per period. BATCH is "
            "the prediction log folder (hive-partitioned Parquet) or CSV/Parquet batch files. "
            "Writes report.md, summary.json, drift.png, performance.png and dashboard.html into "
            "--out. Exit codes: 0 ok, 1 retraining is due (retrain.when), 2 bad input."
        ),
    )
    mon.add_argument("batches", nargs="+", type=Path, metavar="BATCH")
    mon.add_argument(
        "--labels",
        type=Path,
        nargs="+",
        action="extend",
        help="CSV/Parquet files: target + the model's id columns by name (or `id`)",
    )
    mon.add_argument("--by", choices=["day", "week", "month"], help="default: monitor.period")
    mon.add_argument("--model", type=Path, default=Path("models/model"), help="the bundle")
    mon.add_argument("--out", type=Path, default=Path("reports/monitor"), help="report folder")
    mon.add_argument("--params", type=Path, default=Path("params.yaml"), help="monitor: settings")
    mon.add_argument("--time-column", default="ts", help="batch column dating each row")
    mon.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Monitor the batches, print one verdict per period; 1 when retraining is due."""
    from foldwise.config import Config
    from foldwise.model_settings import load_config
    from foldwise.monitor.run import monitor as run_monitor

    params = args.params
    config = Config()
    if params.is_file() or params != Path("params.yaml"):
        config = load_config(params, fitted=())  # fits no model: its settings' names checked
    summary = run_monitor(
        args.batches,
        model_dir=args.model,
        labels_paths=args.labels or [],
        period=args.by or config.monitor.period,
        out=args.out,
        config=config,
        time_column=args.time_column,
        registry_root=Path.cwd(),
    )
    for period in summary["periods"]:
        verdict = period["verdict"]
        print(
            f"{period['period']}: {verdict['status']}"
            + (f" ({'; '.join(verdict['reasons'][:3])})" if verdict["reasons"] else "")
        )
    first = summary["first_retrain_period"]
    print(f"retraining {'due from ' + first if first else 'not due'}; report: {summary['report']}")
    return int(summary["exit_code"])
