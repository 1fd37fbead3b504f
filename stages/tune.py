"""tune: Optuna on inner folds only; outer folds give the honest estimate of tuning + training."""

from __future__ import annotations

import time
from typing import Any

import optuna
import pandas as pd
from tqdm import tqdm

from foldwise.cv import folds_fingerprint
from foldwise.paths import ProjectPaths
from foldwise.stage import close_live, open_live, run_stage, write_csv_atomic, write_json_atomic
from foldwise.training import load_training_run
from foldwise.tuning import (
    importances,
    make_tuner,
    nested_summary,
    plan_studies,
    score_outer,
    trials_table,
)


def log_history(study_rows: list[dict[str, Any]], greater: bool, directory: str) -> None:
    """The final study's optimisation history: each finished trial's value and the best so far."""
    live = open_live(directory)
    best = None
    for row in sorted(study_rows, key=lambda r: r["number"]):
        if row["state"] != "COMPLETE" or row["value"] is None:
            continue
        value = float(row["value"])
        best = value if best is None or (value > best if greater else value < best) else best
        live.log_metric("history/value", value, plot=True)
        live.log_metric("history/best", best, plot=True)
        live.next_step()
    close_live(live)


def main() -> dict[str, float]:
    # The progress bar reports trials; a failing trial's error is raised as one line, so
    # Optuna's own "Trial 0 failed" warning and traceback are not shown before it.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    paths = ProjectPaths.from_cwd()
    run = load_training_run(paths)
    config, data, folds = run.config, run.data, run.folds
    tuner = make_tuner(config, data, folds, paths.tune_journal, worker=False)
    plan = plan_studies(config, data, folds)
    metric = data.problem.metric
    bar = tqdm(total=len(plan) * config.tune.n_trials, desc="tune", unit="trial")
    progress: dict[str, int] = {}

    def on_trial(name: str, done: int, target: int) -> None:
        progress[name] = min(done, target)
        bar.n = sum(progress.values())
        bar.refresh()

    tuner.on_trial = on_trial
    out_dir = paths.report_dir("tune")
    seconds: dict[str, float] = {}
    try:
        if config.tune.nested:
            outer = []
            for i, planned in enumerate(plan[:-1]):
                started = time.perf_counter()
                outer.append(score_outer(tuner, data, planned, i))
                seconds[planned.name] = time.perf_counter() - started
            nested = {"nested": True, **nested_summary(outer, metric, tuner.space)}
        else:
            nested = {
                "nested": False,
                "metric": metric,
                "note": "tune.nested is false: no outer loop was run, so there is no honest "
                "estimate of tuning + training; the inner score below is optimistic",
            }
        last = plan[-1]
        final = tuner.run(last.name, last.data, last.inner, last.seed)
        seconds[last.name] = final.seconds
    except BaseException:
        bar.leave = False  # clear the bar, so the error stands on a line of its own
        bar.close()
        raise
    bar.close()

    # nested_cv.json is DVC metrics (scalars become `dvc exp show` columns); per-fold
    # detail goes to tune.json.
    details = {
        key: nested.pop(key)
        for key in (
            "param_stability",
            "best_params_per_fold",
            "outer_fold_metrics",
            "trials_per_fold",
        )
        if key in nested
    }
    rows = trials_table(final.study)
    nested["final_inner_best"] = final.best_value
    nested["folds_fingerprint"] = folds_fingerprint(folds)
    best = {
        "model": config.model.name,
        "params": {**tuner.fixed, **final.best_params},
        "inner_score": final.best_value,
        "metric": metric,
        "rounds": final.best_rounds,
        "study": final.study.study_name,
    }
    summary = {
        "model": config.model.name,
        "metric": metric,
        "n_trials": config.tune.n_trials,
        "complete": final.n_complete,
        "pruned": final.n_pruned,
        "best_params": best["params"],
        "best_inner_score": final.best_value,
        "default_inner_score": next(
            (r["value"] for r in rows if r["index"] == 0 and r["state"] == "COMPLETE"), None
        ),
        "importances": importances(final.study),
        "search_space": {
            k: v.model_dump() if hasattr(v, "model_dump") else v for k, v in tuner.space.items()
        },
        "nested": details,
    }
    log_history(rows, data.problem.greater_is_better, str(out_dir / "live"))
    write_csv_atomic(out_dir / "trials.csv", pd.DataFrame(rows))
    write_json_atomic(out_dir / "tune.json", summary)
    write_json_atomic(out_dir / "nested_cv.json", nested)
    write_json_atomic(paths.best_params, best)
    if config.tune.nested:
        print(
            f"tune: nested {metric} {nested['mean']:.4f} ± {nested['std']:.4f} "
            f"(95% CI {nested['ci95_low']:.4f} to {nested['ci95_high']:.4f}); "
            f"optimism gap {nested['optimism_gap_mean']:+.4f}"
        )
    print(f"tune: final inner {metric} {final.best_value:.4f}; best params {best['params']}")
    return seconds


if __name__ == "__main__":
    run_stage(main)
