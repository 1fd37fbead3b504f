"""The ``foldwise`` command: set up a table, compare runs, explain, serve, monitor, versions.

One module per command (``foldwise/cli/<command>.py``), each with ``add_parser(subparsers)``,
which registers the command and its ``run``, and ``run(args) -> int``, the exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from foldwise.cli import (
    compare,
    explain,
    init,
    model,
    monitor,
    predict,
    retrain,
    serve,
    shadow_report,
    simulate,
    test_usage,
    tune_worker,
)
from foldwise.errors import FoldwiseError
from foldwise.stage import EXIT_USER_ERROR

# In the order `foldwise --help` lists them.
COMMANDS = (
    init,
    tune_worker,
    compare,
    test_usage,
    serve,
    shadow_report,
    predict,
    model,
    monitor,
    simulate,
    retrain,
    explain,
)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``foldwise`` console command."""
    parser = argparse.ArgumentParser(prog="foldwise", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    args = parser.parse_args(argv)
    try:
        code = args.run(args)
    except FoldwiseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    if code:
        sys.exit(code)
