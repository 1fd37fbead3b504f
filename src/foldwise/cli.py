"""The ``foldwise`` command: compare runs, count test-set looks, run extra tuning workers, explain rows."""

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

    optuna.logging.set_verbosity(optuna.logging.WARNING)
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
        if args.command == "tune-worker":
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
