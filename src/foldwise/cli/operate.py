"""``foldwise`` commands after the pipeline: explain rows, serve, shadow-report, model, monitor, simulate, retrain."""

from __future__ import annotations

import argparse
from pathlib import Path


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
        registry_root=Path.cwd(),
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
            print(
                f"no versions of {args.name!r} registered yet; register the committed model "
                f"with `gto register {args.name} --version v1.0.0`"
            )
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
        print(f"{args.name}#{args.stage}: rolled back from {old} to {new}")


def monitor(args: argparse.Namespace) -> int:
    """``foldwise monitor``: judge production periods; exit 1 when retraining is due."""
    from foldwise.config import Config
    from foldwise.model_settings import load_config
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


def simulate(args: argparse.Namespace) -> None:
    """``foldwise simulate``: production batches with planted changes (and a prediction log)."""
    from foldwise.config import Config
    from foldwise.model_settings import load_config
    from foldwise.monitor.simulate import Scenario, write_simulation

    params = args.params
    config = load_config(params) if params.is_file() or params != Path("params.yaml") else Config()
    scenario = Scenario(
        months=args.months,
        rows_per_month=args.rows,
        train_rows=args.train_rows,
        shift_month=args.shift_month or None,
        concept_month=args.concept_month or None,
        label_delay=args.label_delay,
        seed=args.seed,
        demo_rows=config.demo.rows,
        demo_seed=config.demo.seed,
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
    from foldwise.errors import FoldwiseError
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
