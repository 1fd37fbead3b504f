"""explain: SHAP, agreement, suspects, worst mistakes, weak segments, robustness (no test rows)."""

from __future__ import annotations

import time

import pandas as pd

from foldwise.bundle import Bundle
from foldwise.errors import FoldwiseError
from foldwise.explain.report import REPORT, write_explanation
from foldwise.explain.run import run_explain
from foldwise.paths import ProjectPaths
from foldwise.stage import run_stage
from foldwise.training.data import load_training_run
from foldwise.training.fold_models import load_fold_models


def main() -> None:
    started = time.perf_counter()
    paths = ProjectPaths.from_cwd()
    run = load_training_run(paths, fitted=())  # explains the fitted fold models
    bundle = Bundle.load(paths.models_dir / "model")
    folds = load_fold_models(paths.models_dir / "folds")
    oof = pd.read_parquet(paths.report_dir("train") / "oof_predictions.parquet")
    result = run_explain(run.config, run.data, run.schema["id_columns"], bundle, folds, oof)
    out = paths.report_dir("explain")
    write_explanation(result, out)
    print(result.summary_line(time.perf_counter() - started))
    for note in result.notes():
        print(f"  note: {note}")
    if result.failing:
        raise FoldwiseError(result.failure_message(out / REPORT))


if __name__ == "__main__":
    run_stage(main)
