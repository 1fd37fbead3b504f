"""``foldwise`` commands around the pipeline: init, tune-worker, compare, test-usage."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from foldwise.errors import FoldwiseError


def tune_worker(root: Path, wait_s: float) -> None:
    """Join the tune stage's studies in a shared database and run trials until they are full."""
    import optuna  # imported here: compare and test-usage need none of the training stack

    from foldwise.model_settings import load_config
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
    from foldwise.compare.comparison import compare_runs
    from foldwise.compare.looks import count_test_looks
    from foldwise.compare.report import render_markdown, summary_line, write_report
    from foldwise.compare.runs import load_run

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
    from foldwise.compare.looks import count_test_looks
    from foldwise.compare.runs import load_run

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


def add_init_parser(commands: argparse._SubParsersAction) -> None:
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
