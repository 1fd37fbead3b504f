"""``foldwise predict``: score CSV or Parquet files of any size with a bundle, into one file."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

DESCRIPTION = (
    "Score every row of INPUT (CSV or Parquet files, folders or globs) with a model bundle and "
    "write OUTPUT (.parquet or .csv): the id columns as id:<column>, prediction, the class "
    "probabilities and the model version, in input order. Inputs are streamed in chunks, so "
    "memory stays bounded whatever their size; OUTPUT appears only when complete. "
    "Exit codes: 0 ok, 2 bad input (nothing written)."
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``predict`` subcommand."""
    cmd = subparsers.add_parser(
        "predict", help="score CSV/Parquet files of any size into one file", description=DESCRIPTION
    )
    cmd.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders or globs")
    cmd.add_argument("-o", "--output", type=Path, required=True, help=".parquet or .csv")
    which = cmd.add_mutually_exclusive_group()
    which.add_argument("--model", type=Path, default=None, help="bundle folder (models/model)")
    which.add_argument(
        "--version", default=None, help="registered version: model@v1.2.0, model#prod"
    )
    cmd.add_argument("--chunk-rows", type=int, default=100_000, help="rows scored at a time")
    cmd.add_argument(
        "--on-error",
        choices=["fail", "skip"],
        default="fail",
        help="a cell the model cannot read (text in a numeric column): stop naming it (fail), "
        "or leave its row out and count it (skip)",
    )
    cmd.add_argument("--force", action="store_true", help="replace an existing OUTPUT")
    cmd.add_argument("--csv-separator", default=None, help="CSV inputs (default: detected)")
    cmd.add_argument(
        "--engine",
        choices=["local", "spark"],
        default="local",
        help="local: stream in this process; spark: score with Spark (OUTPUT is a folder)",
    )
    cmd.add_argument(
        "--master",
        default=None,
        help="--engine spark: the Spark master (e.g. yarn, spark://host:7077); default: the "
        "one spark-submit gives, else local[*]",
    )
    cmd.add_argument(
        "--root",
        type=Path,
        default=Path.cwd(),
        help="project root: its registry resolves --version and names a bundle given by path",
    )
    cmd.set_defaults(run=run)


def _load(args: argparse.Namespace) -> tuple[Path, str | None]:
    """The bundle folder and its registered ref (``--version``), if any."""
    if args.version:
        from foldwise.production.registry import materialize

        directory, version = materialize(args.root.resolve(), args.version)
        print(f"model {version.ref} (commit {version.commit[:12]})", file=sys.stderr)
        return directory, version.ref
    return args.model or Path("models/model"), None


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so the partial output is removed on the way out.
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """Score the inputs; print what was written, skipped and ignored."""
    from foldwise.bundle import load_bundle_checked
    from foldwise.production.batch import bundle_version

    directory, ref = _load(args)
    bundle = load_bundle_checked(directory)
    if ref is None:  # by path: named as its registered version if it is one (as serve does)
        from foldwise.production.registry import version_of_bundle

        found = version_of_bundle(args.root.resolve(), bundle.sha256)
        ref = found.ref if found is not None else None
    version = bundle_version(directory, ref)

    def note(text: str) -> None:
        print(f"note: {text}", file=sys.stderr)

    if args.engine == "spark":
        from foldwise.production.spark_files import predict_files_spark

        summary = predict_files_spark(
            directory,
            args.inputs,
            args.output,
            version,
            on_error=args.on_error,
            force=args.force,
            separator=args.csv_separator,
            note=note,
            master=args.master,
        )
        if summary.rows_skipped:
            print(
                f"skipped {summary.rows_skipped} row(s) with cells the model cannot read "
                "(--on-error skip)",
                file=sys.stderr,
            )
        print(
            f"{summary.output}/: {summary.rows_written} prediction(s) from {summary.files} "
            f"file(s) on Spark ({summary.master}) by model {version.label}"
        )
        return 0
    from foldwise.production.batch_files import PredictOptions, predict_files

    options = PredictOptions(
        chunk_rows=args.chunk_rows,
        on_error=args.on_error,
        force=args.force,
        separator=args.csv_separator,
        progress=sys.stderr.isatty(),
    )
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        result = predict_files(bundle, args.inputs, args.output, version, options, note)
    except KeyboardInterrupt:
        print(f"interrupted; {args.output} was not written", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    if result.rows_skipped:
        print(
            f"skipped {result.rows_skipped} row(s) with cells the model cannot read "
            f"(--on-error skip); e.g.:",
            file=sys.stderr,
        )
        for example in result.examples:
            print(f"  {example}", file=sys.stderr)
    print(
        f"{result.output}: {result.rows_written} prediction(s) from {result.rows_read} row(s) "
        f"in {result.files} file(s) by model {version.label}"
    )
    return 0
