"""tune: Optuna on inner folds only; outer folds give the honest estimate of tuning + training."""

from __future__ import annotations

from typing import Any

import optuna
import pandas as pd
from tqdm import tqdm

from foldwise.config import Config
from foldwise.cv import folds_fingerprint
from foldwise.paths import ProjectPaths
from foldwise.stage import close_live, open_live, run_stage, write_csv_atomic, write_json_atomic
from foldwise.training import load_training_run
from foldwise.tuning import importances, nested_summary, trials_table
from foldwise.tuning.run import (
    TuningOutcome,
    best_params,
    budget_report,
    make_plan,
    run_tuning,
)
from foldwise.tuning.tuner import StudyResult


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


def study_summary(result: StudyResult, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One final study's figures for tune.json."""
    return {
        "complete": result.n_complete,
        "pruned": result.n_pruned,
        "best_params": result.best_params,
        "best_inner_score": result.best_value,
        "default_inner_score": next(
            (r["value"] for r in rows if r["index"] == 0 and r["state"] == "COMPLETE"), None
        ),
        "importances": importances(result.study),
    }


def nested_report(outcome: TuningOutcome, metric: str) -> dict[str, Any]:
    """nested_cv.json: the outer scores, or why there are none."""
    if outcome.outer:
        (first, *_) = outcome.tuners.values()
        return {"nested": True, **nested_summary(outcome.outer, metric, first.space)}
    reason = (
        "time_budget_s left no time for the outer loop"
        if outcome.plan.budget_s is not None and first_nested(outcome)
        else "tune.nested is false"
    )
    return {
        "nested": False,
        "metric": metric,
        "note": f"{reason}: no outer loop was run, so there is no honest estimate of tuning + "
        "training; the inner score below is optimistic",
    }


def first_nested(outcome: TuningOutcome) -> bool:
    return any(c.startswith("no nested loop") for c in outcome.plan.cuts)


def main() -> dict[str, float]:
    # The progress bar reports trials; a failing trial's error is raised as one line, so
    # Optuna's own "Trial 0 failed" warning and traceback are not shown before it.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    paths = ProjectPaths.from_cwd()
    run = load_training_run(paths)
    config, data, folds = run.config, run.data, run.folds
    metric = data.problem.metric
    plan = make_plan(config, data)
    for line in plan.describe():
        print(f"tune {line}", flush=True)
    total = len(plan.studies) * config.tune.n_trials if plan.tune else 0
    bar = tqdm(total=total, desc="tune", unit="trial")
    progress: dict[str, int] = {}

    def on_trial(name: str, done: int, target: int) -> None:
        progress[name] = min(done, target)
        bar.n = sum(progress.values())
        bar.refresh()

    try:
        outcome = run_tuning(config, data, folds, paths.tune_journal, on_trial, plan)
    except BaseException:
        bar.leave = False  # clear the bar, so the error stands on a line of its own
        bar.close()
        raise
    bar.close()
    write_reports(paths, outcome, config, metric, data.problem.greater_is_better, folds)
    return outcome.seconds


def write_reports(
    paths: ProjectPaths,
    outcome: TuningOutcome,
    config: Config,
    metric: str,
    greater: bool,
    folds: list,
) -> None:
    """best_params.json, nested_cv.json, tune.json, trials.csv and the history plot."""
    out_dir = paths.report_dir("tune")
    nested = nested_report(outcome, metric)
    # nested_cv.json is DVC metrics (scalars become `dvc exp show` columns); per-fold
    # detail goes to tune.json.
    details: dict[str, Any] = {
        key: nested.pop(key)
        for key in (
            "param_stability",
            "best_params_per_fold",
            "outer_fold_metrics",
            "trials_per_fold",
            "weights_per_fold",
            "rounds_per_fold",
        )
        if key in nested
    }
    best = best_params(outcome, config, metric)
    tables = {name: trials_table(r.study) for name, r in outcome.final.items()}
    finals = {name: study_summary(r, tables[name]) for name, r in outcome.final.items()}
    if len(finals) == 1 and config.model.name != "ensemble":
        nested["final_inner_best"] = next(iter(finals.values()))["best_inner_score"]
    nested["folds_fingerprint"] = folds_fingerprint(folds)
    summary: dict[str, Any] = {
        "model": config.model.name,
        "metric": metric,
        "n_trials": config.tune.n_trials,
    }
    if config.model.name == "ensemble":
        summary["members"] = finals
    elif finals:
        summary.update(next(iter(finals.values())))
    summary["best_params"] = best["params"] if config.model.name != "ensemble" else best["members"]
    summary["search_space"] = {
        name: {k: v.model_dump() if hasattr(v, "model_dump") else v for k, v in t.space.items()}
        for name, t in outcome.tuners.items()
    }
    summary["nested"] = details
    budget = budget_report(outcome)
    if budget is not None:
        summary["time_budget"] = budget
    rows = [{"model": name, **row} for name, table in tables.items() for row in table]
    first = next(iter(tables.values()), [])
    log_history(first, greater, str(out_dir / "live"))
    write_csv_atomic(
        out_dir / "trials.csv", pd.DataFrame(rows, columns=None if rows else ["model"])
    )
    write_json_atomic(out_dir / "tune.json", summary)
    write_json_atomic(out_dir / "nested_cv.json", nested)
    write_json_atomic(paths.best_params, best)
    print_summary(nested, finals, best, details)


def print_summary(
    nested: dict[str, Any],
    finals: dict[str, Any],
    best: dict[str, Any],
    details: dict[str, Any],
) -> None:
    metric = nested["metric"]
    if nested["nested"]:
        gap = nested.get("optimism_gap_mean")
        print(
            f"tune: nested {metric} {nested['mean']:.4f} ± {nested['std']:.4f} "
            f"(95% CI {nested['ci95_low']:.4f} to {nested['ci95_high']:.4f})"
            + ("" if gap is None else f"; optimism gap {gap:+.4f}")
        )
    for i, weights in enumerate(details.get("weights_per_fold", [])):
        shown = ", ".join(f"{n} {w:.2f}" for n, w in weights.items() if w > 0)
        print(f"  outer fold {i} weights: {shown}")
    for name, final in finals.items():
        print(
            f"tune: final inner {metric} {final['best_inner_score']:.4f} ({name}); "
            f"best params {final['best_params']}"
        )
    if not finals:
        print("tune: no study ran; the configured settings are used")
    if "budget" in best:
        print(f"tune: the time budget kept members {best['budget']['members']}")


if __name__ == "__main__":
    run_stage(main)
