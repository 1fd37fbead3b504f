"""tune: Optuna on inner folds only; outer folds give the honest estimate of tuning + training.

Reads params.yaml and the prepared training table, runs :func:`foldwise.tuning.run.tune` and
writes its reports (:mod:`foldwise.tuning.outputs`).
"""

from __future__ import annotations

import optuna

from foldwise.paths import ProjectPaths
from foldwise.stage import run_stage
from foldwise.training.data import load_training_run
from foldwise.tuning.outputs import print_summary, write_reports
from foldwise.tuning.run import tune


def main() -> dict[str, float]:
    # The progress bar reports trials; a failing trial's error is raised as one line, so
    # Optuna's own "Trial 0 failed" warning and traceback are not shown before it.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    paths = ProjectPaths.from_cwd()
    run = load_training_run(paths)
    result = tune(run.config, run.data, run.folds, paths.tune_journal, progress=True)
    print_summary(write_reports(paths, result))
    return result.seconds


if __name__ == "__main__":
    run_stage(main)
