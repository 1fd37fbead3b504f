"""``foldwise init``: write params.yaml for a table, track it with DVC, print what it chose."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``init`` subcommand."""
    parser = subparsers.add_parser(
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
        "--thousands",
        choices=[",", "."],
        help='thousands separator of numbers written as text, e.g. "," to read 27,000 as 27000 '
        "when no value of a column proves it (data.thousands)",
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite a params.yaml that was edited"
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="project root")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write params.yaml and print the choices made."""
    from foldwise.init import SplitColumns, init_project

    result = init_project(
        args.root,
        args.source,
        args.target,
        test_source=args.test_source,
        split=SplitColumns(args.time_column, args.group_column),
        positive=args.positive,
        task=args.task,
        thousands=args.thousands,
        force=args.force,
    )
    for line in result.lines:
        print(line)
    return 0
