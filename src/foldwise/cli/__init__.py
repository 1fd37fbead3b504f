"""The ``foldwise`` command: set up a table, compare runs, explain, serve, monitor, versions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from foldwise.cli import predict
from foldwise.cli.operate import (
    add_serve_commands,
    explain_rows_command,
    model_command,
    monitor,
    retrain,
    serve,
    shadow_report,
    simulate,
)
from foldwise.cli.pipeline import add_init_parser, compare, init, test_usage, tune_worker
from foldwise.errors import FoldwiseError
from foldwise.stage import EXIT_USER_ERROR


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``foldwise`` console command."""
    parser = argparse.ArgumentParser(prog="foldwise", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    add_init_parser(commands)
    worker = commands.add_parser(
        "tune-worker", help="run extra Optuna trials against the tune stage's shared study"
    )
    worker.add_argument("--root", type=Path, default=Path.cwd(), help="project root")
    worker.add_argument(
        "--wait", type=float, default=600.0, help="seconds to wait for each study to start"
    )
    cmp = commands.add_parser(
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
    usage = commands.add_parser(
        "test-usage", help="count the commits and experiments that scored the same test table"
    )
    usage.add_argument("rev", nargs="?", default=None, help="default: the workspace")
    usage.add_argument("--root", type=Path, default=Path.cwd(), help="project root")
    add_serve_commands(commands)
    predict.add_parser(commands)

    model = commands.add_parser(
        "model", help="model versions (GTO + DVC): list, prod, fetch, rollback"
    )
    model_actions = model.add_subparsers(dest="action", required=True)
    for action, text in (
        ("list", "registered versions, newest first, with their stages"),
        ("prod", "the version assigned to a stage (default prod)"),
        ("fetch", "write a version's bundle (REF: model@v1.2.0 or model#prod) to --out"),
        ("rollback", "re-assign the stage to the version it held before"),
    ):
        sub = model_actions.add_parser(action, help=text)
        sub.add_argument("--root", type=Path, default=Path.cwd(), help="project root")
        if action == "fetch":
            sub.add_argument("ref", help="GTO ref, e.g. model@v1.2.0 or model#prod")
            sub.add_argument("--out", type=Path, required=True, help="folder to write")
        else:
            sub.add_argument("--name", default="model", help="artifact name in dvc.yaml")
        if action in ("prod", "rollback"):
            sub.add_argument("--stage", default="prod", help="GTO stage")

    mon = commands.add_parser(
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
    sim = commands.add_parser(
        "simulate", help="months of production batches with a planted covariate and concept change"
    )
    sim.add_argument("--out", type=Path, default=Path("data/simulated"))
    sim.add_argument("--months", type=int, default=12)
    sim.add_argument("--rows", type=int, default=2000, help="rows per month")
    sim.add_argument("--train-rows", type=int, default=20000, help="rows of train.csv")
    sim.add_argument("--shift-month", type=int, default=5, help="0: no covariate shift")
    sim.add_argument("--concept-month", type=int, default=9, help="0: no concept change")
    sim.add_argument("--label-delay", type=int, default=1, help="months until labels arrive")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--log", type=Path, help="also score the batches into a prediction log here")
    sim.add_argument("--model", type=Path, default=Path("models/model"), help="bundle for --log")
    sim.add_argument(
        "--params", type=Path, default=Path("params.yaml"), help="demo: the population drawn"
    )
    ret = commands.add_parser(
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

    why = commands.add_parser(
        "explain",
        help="explain raw rows with the saved model: top contributions, a waterfall PNG",
        description="Explain the rows of ROWS (CSV or Parquet, raw columns as in the training "
        "table) with the saved bundle: the top SHAP contributions per row go to "
        "OUT/contributions.csv and a waterfall plot of one row to OUT/waterfall_row<N>.png.",
    )
    why.add_argument("rows", type=Path, help="CSV or Parquet file of raw rows")
    why.add_argument("--root", type=Path, default=Path.cwd(), help="project root")
    why.add_argument("--bundle", type=Path, default=Path("models/model"), help="model bundle")
    why.add_argument(
        "--background",
        type=Path,
        default=Path("reports/explain/background.parquet"),
        help="training rows to explain against (linear and fallback explainers only)",
    )
    why.add_argument("--out", type=Path, default=Path("reports/explain_rows"), help="output folder")
    why.add_argument("--row", type=int, default=0, help="row (0-based) for the waterfall plot")
    why.add_argument("--top", type=int, default=5, help="contributions listed per row")
    args = parser.parse_args(argv)
    # Each command returns None or a non-zero exit code (a failed gate, an alert).
    handlers: dict[str, Callable[[argparse.Namespace], int | None]] = {
        "init": init,
        "tune-worker": lambda a: tune_worker(a.root, a.wait),
        "compare": lambda a: compare(
            a.root.resolve(), a.base, a.target, a.out, a.md, a.fail_on_regression
        ),
        "test-usage": lambda a: test_usage(a.root.resolve(), a.rev),
        "serve": serve,
        "predict": predict.run,
        "shadow-report": shadow_report,
        "model": model_command,
        "monitor": monitor,
        "simulate": simulate,
        "retrain": retrain,
        "explain": lambda a: explain_rows_command(
            a.rows, a.root.resolve(), a.bundle, a.background, a.out, a.row, a.top
        ),
    }
    try:
        code = handlers[args.command](args)
    except FoldwiseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    if code:
        sys.exit(code)
