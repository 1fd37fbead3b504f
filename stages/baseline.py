"""baseline: the dummy and the linear model, cross-validated on the training table's folds."""

from __future__ import annotations

from foldwise.cv import folds_fingerprint
from foldwise.evaluation import better_if, cv_summary
from foldwise.paths import ProjectPaths
from foldwise.stage import run_stage, write_json_atomic
from foldwise.training.crossval import cross_validate
from foldwise.training.data import load_training_run
from foldwise.training.fitting import model_for

BASELINES = ("dummy", "logistic_regression")


def main() -> dict[str, float]:
    paths = ProjectPaths.from_cwd()
    loaded = load_training_run(paths, fitted=BASELINES)
    config, data, folds = loaded.config, loaded.data, loaded.folds
    report: dict = {
        "primary_metric": data.problem.metric,
        "greater_is_better": data.problem.greater_is_better,
        "folds": len(folds),
        "folds_fingerprint": folds_fingerprint(folds),
        "models": {},
    }
    seconds: dict[str, float] = {}
    for name in BASELINES:
        run = cross_validate(model_for(name, data, config), data, folds, config, name)
        summary = cv_summary(run.fold_scores)
        # Wall-clock time is printed, not recorded: a tracked report must not change when a
        # rerun only runs faster (dvc metrics diff would show noise).
        report["models"][name] = {"cv": summary}
        seconds[name] = run.seconds
        report["better_if"] = better_if(summary)
        primary = summary[data.problem.metric]
        print(
            f"baseline {name}: {data.problem.metric} {primary['mean']:.4f} "
            f"± {primary['std']:.4f} over {len(folds)} folds ({run.seconds:.1f} s)"
        )
    write_json_atomic(paths.report_dir("baseline") / "metrics.json", report)
    return seconds


if __name__ == "__main__":
    run_stage(main)
