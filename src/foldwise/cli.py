"""The ``foldwise`` command: set up a table, compare runs, explain, serve, monitor, versions."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from foldwise.errors import FoldwiseError
from foldwise.stage import EXIT_USER_ERROR


def tune_worker(root: Path, wait_s: float) -> None:
    """Join the tune stage's studies in a shared database and run trials until they are full."""
    import optuna  # imported here: compare and test-usage need none of the training stack

    from foldwise.config import load_config
    from foldwise.paths import ProjectPaths
    from foldwise.training import load_training_run
    from foldwise.tuning import make_tuner, plan_studies, study_exists

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    paths = ProjectPaths(root)
    if load_config(paths.params).tune.storage is None:
        raise FoldwiseError(
            "params.yaml: tune.storage is null; an extra worker needs a shared database "
            "(e.g. postgresql://user:pass@host:5432/optuna)"
        )
    run = load_training_run(paths)
    config, data, folds = run.config, run.data, run.folds
    tuner = make_tuner(config, data, folds, paths.tune_journal, worker=True)
    for planned in plan_studies(config, data, folds):
        deadline = time.monotonic() + wait_s
        while not study_exists(tuner, planned.name):
            if time.monotonic() > deadline:
                raise FoldwiseError(
                    f"tune worker: study {planned.name!r} did not start within {wait_s:.0f} s; "
                    "start `dvc repro tune` first"
                )
            time.sleep(1.0)
        result = tuner.run(planned.name, planned.data, planned.inner, planned.seed)
        print(f"worker: study {planned.name} has {result.n_complete} complete trial(s)", flush=True)


EXIT_REGRESSION = 1


def compare(
    root: Path, base: str, target: str | None, out: Path, markdown: bool, fail: bool
) -> int:
    """``foldwise compare``: write the report; exit code 1 if the gate is on and fails."""
    from foldwise.compare import compare_runs, count_test_looks, load_run
    from foldwise.compare_report import render_markdown, summary_line, write_report

    base_run = load_run(root, base)
    target_run = load_run(root, target)
    comparison = compare_runs(base_run, target_run)
    sha = target_run.test_sha256 or base_run.test_sha256
    looks = count_test_looks(root, sha) if sha else None
    out = out if out.is_absolute() else root / out
    report, plots = write_report(comparison, out, looks)
    if markdown:
        prefix = os.path.relpath(out, Path.cwd()).replace(os.sep, "/") + "/"
        print(render_markdown(comparison, plots, looks, image_prefix=prefix))
    else:
        for i, row in enumerate(comparison.cv_rows):
            print(("* " if i == 0 else "  ") + "cv " + summary_line(row))
        for warning in comparison.warnings:
            print(f"warning: {warning}")
        if looks is not None:
            print(looks.message())
        from foldwise.explain.moves import feature_moves

        moved = [
            m
            for m in feature_moves(base_run.importance, target_run.importance)
            if m["move"] != "same"
        ]
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
    if fail and comparison.gate_failed:
        print(f"error: regression gate {comparison.gate_message}", file=sys.stderr)
        return EXIT_REGRESSION
    return 0


def test_usage(root: Path, rev: str | None) -> None:
    """``foldwise test-usage``: how many commits and experiments scored this test table."""
    from foldwise.compare import count_test_looks, load_run

    run = load_run(root, rev, command="test-usage")
    if run.test_sha256 is None:
        raise FoldwiseError(
            f"test-usage: {run.label} has no reports/evaluate/metrics.json with a test_sha256; "
            "run the evaluate stage first"
        )
    print(count_test_looks(root, run.test_sha256).message())


def init(args: argparse.Namespace) -> None:
    """``foldwise init``: write params.yaml for a table, track it with DVC, print what it chose."""
    from foldwise.init import init_project

    result = init_project(
        args.root,
        args.source,
        args.target,
        test_source=args.test_source,
        time_column=args.time_column,
        group_column=args.group_column,
        positive=args.positive,
        task=args.task,
        force=args.force,
    )
    for line in result.lines:
        print(line)


def _add_init_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "init",
        help="write params.yaml for your own table (task, positive class, ids, dates, segments)",
        description=(
            "Read SOURCE (CSV or Parquet under data/raw/), decide the task, the positive class, "
            "id, date and segment columns and the metric, track the table with DVC if needed and "
            "write params.yaml with every other key at its default. Then run `dvc repro`."
        ),
    )
    parser.add_argument("source", help="the table, e.g. data/raw/customers.csv")
    parser.add_argument("--target", required=True, help="the column to predict")
    parser.add_argument("--test-source", help="a separate test table with the same columns")
    parser.add_argument("--time-column", help="date/number column for a temporal split")
    parser.add_argument("--group-column", help="rows sharing a value stay on one side")
    parser.add_argument("--positive", help="binary targets: the positive class label")
    parser.add_argument(
        "--task", choices=["binary", "multiclass", "regression"], help="override the inferred task"
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite a params.yaml that was edited"
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="project root")


def serve(args: argparse.Namespace) -> int:
    """``foldwise serve``: the model behind HTTP, with an optional shadow and the prediction log."""
    from foldwise.serve.app import ServeSettings
    from foldwise.serve.auth import load_token
    from foldwise.serve.server import run_server

    model, model_version = args.model, None
    shadow, shadow_version = args.shadow, None
    if args.version or args.shadow_version:
        from foldwise.production.registry import materialize

        root = Path.cwd()
        if args.version:
            model, version = materialize(root, args.version)
            model_version = version.ref
            print(f"serving {version.ref} (commit {version.commit[:12]}) from {model}")
        if args.shadow_version:
            shadow, version = materialize(root, args.shadow_version)
            shadow_version = version.ref
            print(f"shadow: {version.ref} (commit {version.commit[:12]}) from {shadow}")
    settings = ServeSettings(
        model=model or Path("models/model"),
        model_version=model_version,
        shadow=shadow,
        shadow_version=shadow_version,
        log_dir=args.log_dir,
        token=load_token(args.token_file),
        max_rows=args.max_rows,
        max_body_bytes=args.max_body_bytes,
        compact_every=args.compact_every,
        wait_for_model=args.wait_for_model,
    )
    return run_server(settings, args.host, args.port, args.workers, args.token_file)


def add_serve_commands(commands: argparse._SubParsersAction) -> None:
    """The ``serve`` and ``shadow-report`` subcommands."""
    srv = commands.add_parser(
        "serve",
        help="serve a model bundle over HTTP (/predict, /health, /schema, /metrics)",
        description=(
            "Serve a bundle with FastAPI + uvicorn, log every prediction as partitioned Parquet "
            "under --log-dir, optionally score a --shadow bundle beside it. The bearer token "
            "comes from --token-file or $FOLDWISE_TOKEN, never from the command line."
        ),
    )
    primary = srv.add_mutually_exclusive_group()
    primary.add_argument("--model", type=Path, default=None, help="bundle folder (models/model)")
    primary.add_argument(
        "--version", default=None, help="a registered version: model@v1.2.0 or model#prod"
    )
    second = srv.add_mutually_exclusive_group()
    second.add_argument("--shadow", type=Path, default=None, help="a second bundle in shadow")
    second.add_argument(
        "--shadow-version", default=None, help="a registered version scored in shadow"
    )
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument(
        "--workers", type=int, default=1, help="server processes (e.g. one per core); default 1"
    )
    srv.add_argument("--log-dir", type=Path, default=Path("logs/predictions"))
    srv.add_argument("--token-file", type=Path, default=None, help="file holding the token")
    srv.add_argument("--max-rows", type=int, default=1000, help="rows per request")
    srv.add_argument("--max-body-bytes", type=int, default=1 << 20, help="request body size")
    srv.add_argument(
        "--compact-every", type=float, default=60.0, help="seconds between log compactions"
    )
    srv.add_argument(
        "--wait-for-model",
        type=float,
        default=0.0,
        help="seconds to wait for --model to appear (e.g. mounted or copied in later); "
        "/health answers 503 meanwhile",
    )
    rep = commands.add_parser(
        "shadow-report",
        help="compare the primary and shadow predictions of a prediction log",
        description=(
            "Agreement and score differences between the primary and shadow models on the "
            "logged rows; with --labels (CSV/Parquet with `id` and the target column), which "
            "model is better by a paired bootstrap on the same rows."
        ),
    )
    rep.add_argument("log", type=Path, help="prediction log folder (--log-dir of serve)")
    rep.add_argument("--labels", type=Path, default=None, help="labels file joined on `id`")
    rep.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    rep.add_argument("--alpha", type=float, default=0.05, help="significance level")
    rep.add_argument("--bootstrap-samples", type=int, default=1000)


def shadow_report(args: argparse.Namespace) -> None:
    """``foldwise shadow-report``: print (and optionally write) the shadow comparison."""
    from foldwise.serve.report import render_text, shadow_report_for
    from foldwise.stage import write_json_atomic

    report = shadow_report_for(
        args.log, args.labels, alpha=args.alpha, n_samples=args.bootstrap_samples
    )
    print(render_text(report))
    if args.json is not None:
        write_json_atomic(args.json, report)


def model_command(args: argparse.Namespace) -> None:
    """``foldwise model list|prod|fetch|rollback``: model versions through GTO and DVC."""
    from foldwise.production import registry

    root = args.root.resolve()
    if args.action == "list":
        versions = registry.list_versions(root, args.name)
        if not versions:
            print(f"{args.name}: no registered versions")
        for v in versions:
            stages = f" [{', '.join(v.stages)}]" if v.stages else ""
            print(f"{v.ref}{stages} {v.commit[:12]} {v.created_at}")
    elif args.action == "prod":
        v = registry.stage_version(root, args.name, args.stage)
        print(f"{v.ref} {v.commit[:12]}")
    elif args.action == "fetch":
        out = registry.fetch_bundle(root, args.ref, args.out)
        print(f"{args.ref}: bundle verified and written to {out}")
    elif args.action == "rollback":
        old, new = registry.rollback(root, args.name, args.stage)
        print(f"{args.name}#{args.stage}: {old} -> {new}")


def monitor(args: argparse.Namespace) -> int:
    """``foldwise monitor``: judge production periods; exit 1 when retraining is due."""
    from foldwise.config import Config, load_config
    from foldwise.monitor.run import monitor as run_monitor

    params = args.params
    config = load_config(params) if params.is_file() or params != Path("params.yaml") else Config()
    summary = run_monitor(
        args.batches,
        model_dir=args.model,
        labels_paths=args.labels or [],
        period=args.by or config.monitor.period,
        out=args.out,
        config=config,
        time_column=args.time_column,
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


def simulate(args: argparse.Namespace) -> None:
    """``foldwise simulate``: production batches with planted changes (and a prediction log)."""
    from foldwise.monitor.simulate import Scenario, write_simulation

    scenario = Scenario(
        months=args.months,
        rows_per_month=args.rows,
        train_rows=args.train_rows,
        shift_month=args.shift_month or None,
        concept_month=args.concept_month or None,
        label_delay=args.label_delay,
        seed=args.seed,
    )
    manifest = write_simulation(scenario, args.out)
    if args.log is not None:
        from foldwise.monitor.simulate import write_log

        write_log(manifest, args.model, args.log)
    print(
        f"simulate: {len(manifest['batches'])} monthly batches in {args.out}/batches, "
        f"labels in {args.out}/labels (delay {args.label_delay} month(s))"
        + (f", prediction log in {args.log}" if args.log is not None else "")
    )


def retrain(args: argparse.Namespace) -> None:
    """``foldwise retrain``: challenger experiment, paired comparison, GTO registration."""
    from foldwise.config import load_config
    from foldwise.monitor.retrain import retrain as run_retrain

    root = args.root.resolve()
    summary = run_retrain(
        root,
        load_config(root / "params.yaml"),
        batches=[p.resolve() for p in args.batches],
        labels_paths=[p.resolve() for p in args.labels],
        name=args.name,
        champion_ref=args.champion,
        out=args.out if args.out.is_absolute() else root / args.out,
    )
    c = summary["comparison"]
    print(
        f"challenger {summary['challenger']['registered']} vs champion {summary['champion']} on "
        f"{c['rows']} recent rows: {c['metric']} {c['estimate']:+.4f} "
        f"[{c['low']:+.4f}, {c['high']:+.4f}], p={c['p_value']:.3g}: {c['verdict']}"
    )
    print(f"not promoted; after review: {summary['promote']}")
    print(f"report: {summary['report']}")


def explain_rows_command(
    rows: Path, root: Path, bundle: Path, background: Path, out: Path, row: int, top: int
) -> None:
    """``foldwise explain ROWS.csv``: top contributions per row and a waterfall PNG for one row."""
    from foldwise.explain.rows import explain_rows

    def under_root(path: Path) -> Path:
        return path if path.is_absolute() else root / path

    result = explain_rows(
        rows,
        bundle_dir=under_root(bundle),
        background=under_root(background),
        out=under_root(out),
        row=row,
        top=top,
    )
    for line in result.lines:
        print(line)
    print(f"contributions: {result.csv}")
    print(f"waterfall: {result.waterfall}")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``foldwise`` console command."""
    parser = argparse.ArgumentParser(prog="foldwise", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_init_parser(commands)
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
        "--labels", type=Path, nargs="+", action="extend", help="CSV/Parquet files: id + target"
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
    ret = commands.add_parser(
        "retrain",
        help="append newly labelled rows, run a challenger experiment, compare it with prod",
        description=(
            "Append the labelled production rows (all but the latest retrain.recent_periods) to "
            "the DVC-tracked data.source, run `dvc exp run` (the challenger), compare it with "
            "the champion (--champion, default the version in prod) on the held-out recent rows "
            "with a paired bootstrap, and register it with GTO without promoting it."
        ),
    )
    ret.add_argument("batches", nargs="+", type=Path, metavar="BATCH", help="CSV/Parquet")
    ret.add_argument("--labels", type=Path, nargs="+", action="extend", required=True)
    ret.add_argument("--name", help="experiment name (default: retrain-<latest period>)")
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
    try:
        if args.command == "init":
            init(args)
        elif args.command == "tune-worker":
            tune_worker(args.root, args.wait)
        elif args.command == "compare":
            code = compare(
                args.root.resolve(),
                args.base,
                args.target,
                args.out,
                args.md,
                args.fail_on_regression,
            )
            if code:
                sys.exit(code)
        elif args.command == "test-usage":
            test_usage(args.root.resolve(), args.rev)
        elif args.command == "serve":
            code = serve(args)
            if code:
                sys.exit(code)
        elif args.command == "shadow-report":
            shadow_report(args)

        elif args.command == "model":
            model_command(args)

        elif args.command == "monitor":
            code = monitor(args)
            if code:
                sys.exit(code)
        elif args.command == "simulate":
            simulate(args)
        elif args.command == "retrain":
            retrain(args)

        elif args.command == "explain":
            explain_rows_command(
                args.rows,
                args.root.resolve(),
                args.bundle,
                args.background,
                args.out,
                args.row,
                args.top,
            )
    except FoldwiseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)


if __name__ == "__main__":
    main()
