"""``foldwise explain ROWS``: top contributions per row and a waterfall PNG for one row."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``explain`` subcommand."""
    why = subparsers.add_parser(
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
    why.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Explain the rows; print the top contributions and where the files went."""
    from foldwise.explain.rows import explain_rows

    root: Path = args.root.resolve()

    def under_root(path: Path) -> Path:
        return path if path.is_absolute() else root / path

    result = explain_rows(
        args.rows,
        bundle_dir=under_root(args.bundle),
        background=under_root(args.background),
        out=under_root(args.out),
        row=args.row,
        top=args.top,
    )
    for line in result.lines:
        print(line)
    print(f"contributions: {result.csv}")
    print(f"waterfall: {result.waterfall}")
    return 0
