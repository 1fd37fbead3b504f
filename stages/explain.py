"""explain: SHAP, agreement, suspects, worst mistakes, weak segments, robustness (no test rows)."""

from __future__ import annotations

import time

import pandas as pd

from foldwise.bundle import Bundle
from foldwise.errors import FoldwiseError
from foldwise.explain.plots import all_plots
from foldwise.explain.report import PLOTS, write_reports
from foldwise.explain.run import run_explain
from foldwise.paths import ProjectPaths
from foldwise.stage import run_stage
from foldwise.training import load_fold_models, load_training_run


def main() -> None:
    started = time.perf_counter()
    paths = ProjectPaths.from_cwd()
    run = load_training_run(paths)
    config, data = run.config, run.data
    bundle = Bundle.load(paths.models_dir / "model")
    folds = load_fold_models(paths.models_dir / "folds")
    oof = pd.read_parquet(paths.report_dir("train") / "oof_predictions.parquet")
    result = run_explain(config, data, run.schema["id_columns"], bundle, folds, oof)
    out = paths.report_dir("explain")
    kinds = {str(f["name"]): str(f["kind"]) for f in data.features}
    plots = all_plots(
        result.final,
        result.sample,
        kinds,
        result.fold_importance,
        out / PLOTS,
        top=result.details["top_k"],
    )
    write_reports(result, out, plots)
    s = result.summary
    top = ", ".join(f["feature"] for f in s["top_features"][:5])
    print(
        f"explain {s['model']}: top features {top}; {s['weak_segments']} weak segment(s); "
        f"{s['investigate']} to investigate; suspects flagged: {s['suspect_flagged'] or 'none'} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    for note in filter(None, [result.details["note"], *result.details["fold_notes"]]):
        print(f"  note: {note}")
    if result.failing:
        raise FoldwiseError(
            "explain failed on explain.fail_on: "
            + "; ".join(result.failing)
            + f" (see {out / 'explain.md'})"
        )


if __name__ == "__main__":
    run_stage(main)
