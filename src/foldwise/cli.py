"""The ``foldwise`` command: extra tuning workers (and, later, experiment comparison)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import optuna

from foldwise.config import load_config
from foldwise.errors import FoldwiseError
from foldwise.paths import ProjectPaths
from foldwise.stage import EXIT_USER_ERROR
from foldwise.training import load_training_run
from foldwise.tuning import make_tuner, plan_studies, study_exists


def tune_worker(root: Path, wait_s: float) -> None:
    """Join the tune stage's studies in a shared database and run trials until they are full."""
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
    args = parser.parse_args(argv)
    try:
        if args.command == "tune-worker":
            tune_worker(args.root, args.wait)
    except FoldwiseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)


if __name__ == "__main__":
    main()
