"""``foldwise serve``: the model behind HTTP, with an optional shadow and the prediction log."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``serve`` subcommand."""
    srv = subparsers.add_parser(
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
    srv.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the bundles (by path or registered version) and run the server."""
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
