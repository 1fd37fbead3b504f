"""``foldwise model list|prod|fetch|rollback``: model versions through GTO and DVC."""

from __future__ import annotations

import argparse
from pathlib import Path

ACTIONS = (
    ("list", "registered versions, newest first, with their stages"),
    ("prod", "the version assigned to a stage (default prod)"),
    ("fetch", "write a version's bundle (REF: model@v1.2.0 or model#prod) to --out"),
    ("rollback", "re-assign the stage to the version it held before"),
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``model`` subcommand and its actions."""
    model = subparsers.add_parser(
        "model", help="model versions (GTO + DVC): list, prod, fetch, rollback"
    )
    model_actions = model.add_subparsers(dest="action", required=True)
    for action, text in ACTIONS:
        sub = model_actions.add_parser(action, help=text)
        sub.add_argument("--root", type=Path, default=Path.cwd(), help="project root")
        if action == "fetch":
            sub.add_argument("ref", help="GTO ref, e.g. model@v1.2.0 or model#prod")
            sub.add_argument("--out", type=Path, required=True, help="folder to write")
        else:
            sub.add_argument("--name", default="model", help="artifact name in dvc.yaml")
        if action in ("prod", "rollback"):
            sub.add_argument("--stage", default="prod", help="GTO stage")
    model.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run one action and print its outcome."""
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
    return 0
