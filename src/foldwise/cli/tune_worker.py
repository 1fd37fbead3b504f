"""``foldwise tune-worker``: extra Optuna trials against the tune stage's shared studies."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from foldwise.errors import FoldwiseError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``tune-worker`` subcommand."""
    worker = subparsers.add_parser(
        "tune-worker", help="run extra Optuna trials against the tune stage's shared study"
    )
    worker.add_argument("--root", type=Path, default=Path.cwd(), help="project root")
    worker.add_argument(
        "--wait", type=float, default=600.0, help="seconds to wait for each study to start"
    )
    worker.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Join the tune stage's studies in a shared database and run trials until they are full."""
    import optuna  # imported here: compare and test-usage need none of the training stack

    from foldwise.model_settings import load_config
    from foldwise.paths import ProjectPaths
    from foldwise.training.data import load_training_run
    from foldwise.tuning import make_tuner, plan_studies, study_exists

    root: Path = args.root
    wait_s: float = args.wait
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    paths = ProjectPaths(root)
    if load_config(paths.params, fitted=()).tune.storage is None:  # values: load_training_run
        raise FoldwiseError(
            "params.yaml: tune.storage is null; an extra worker needs a shared database "
            "(e.g. postgresql://user:pass@host:5432/optuna)"
        )
    training_run = load_training_run(paths)
    config, data, folds = training_run.config, training_run.data, training_run.folds
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
    return 0
