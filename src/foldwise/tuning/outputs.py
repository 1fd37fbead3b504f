"""The tune stage's files and console summary, written from a :class:`TuneResult`.

best_params.json (what the train stage fits), nested_cv.json (DVC metrics), tune.json (the
details), trials.csv and the optimisation-history plot; :func:`print_summary` says the
estimate and the final studies' results on the console.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from foldwise.paths import ProjectPaths
from foldwise.stage import close_live, open_live, write_csv_atomic, write_json_atomic
from foldwise.tuning.report import TuneReports, tune_reports
from foldwise.tuning.run import TuneResult


def write_reports(paths: ProjectPaths, result: TuneResult) -> TuneReports:
    """Write best_params.json, nested_cv.json, tune.json, trials.csv and the history plot."""
    reports = tune_reports(result)
    out_dir = paths.report_dir("tune")
    log_history(reports.history, reports.greater_is_better, str(out_dir / "live"))
    rows = reports.trials
    write_csv_atomic(
        out_dir / "trials.csv", pd.DataFrame(rows, columns=None if rows else ["model"])
    )
    write_json_atomic(out_dir / "tune.json", reports.summary)
    write_json_atomic(out_dir / "nested_cv.json", reports.nested)
    write_json_atomic(paths.best_params, reports.best)
    return reports


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


def print_summary(reports: TuneReports) -> None:
    """The nested estimate, an ensemble's weights and each final study's best, on stdout."""
    nested, best = reports.nested, reports.best
    metric = nested["metric"]
    if nested["nested"]:
        gap = nested.get("optimism_gap_mean")
        print(
            f"tune: nested {metric} {nested['mean']:.4f} ± {nested['std']:.4f} "
            f"(95% CI {nested['ci95_low']:.4f} to {nested['ci95_high']:.4f})"
            + ("" if gap is None else f"; optimism gap {gap:+.4f}")
        )
    for i, weights in enumerate(reports.summary["nested"].get("weights_per_fold", [])):
        shown = ", ".join(f"{n} {w:.2f}" for n, w in weights.items() if w > 0)
        print(f"  outer fold {i} weights: {shown}")
    for name, final in reports.finals.items():
        print(
            f"tune: final inner {metric} {final['best_inner_score']:.4f} ({name}); "
            f"best params {final['best_params']}"
        )
    if not reports.finals:
        print("tune: no study ran; the configured settings are used")
    if "budget" in best:
        print(f"tune: the time budget kept members {best['budget']['members']}")
