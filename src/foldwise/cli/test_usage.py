"""``foldwise test-usage``: how many commits and experiments scored this test table."""

from __future__ import annotations

import argparse
from pathlib import Path

from foldwise.errors import FoldwiseError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``test-usage`` subcommand."""
    usage = subparsers.add_parser(
        "test-usage", help="count the commits and experiments that scored the same test table"
    )
    usage.add_argument("rev", nargs="?", default=None, help="default: the workspace")
    usage.add_argument("--root", type=Path, default=Path.cwd(), help="project root")
    usage.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print how often the test table of ``rev`` was looked at."""
    from foldwise.compare.looks import count_test_looks
    from foldwise.compare.runs import load_run

    root: Path = args.root.resolve()
    found = load_run(root, args.rev, command="test-usage")
    if found.test_sha256 is None:
        raise FoldwiseError(
            f"test-usage: {found.label} has no reports/evaluate/metrics.json with a test_sha256; "
            "run the evaluate stage first"
        )
    print(count_test_looks(root, found.test_sha256).message())
    return 0
