"""evaluate: the one look at the sealed test table: metrics, interval, plots, segments."""

from __future__ import annotations

from typing import Any

import numpy as np

from foldwise.artifacts import prediction_table, read_parquet_checked, read_schema
from foldwise.bundle import load_bundle_checked
from foldwise.evaluation import (
    better_if,
    bootstrap_interval,
    classification_report,
    regression_report,
    segment_report,
)
from foldwise.hashing import frame_sha256
from foldwise.model_settings import load_config
from foldwise.paths import ProjectPaths
from foldwise.problem import Problem
from foldwise.stage import close_live, open_live, run_stage, write_json_atomic, write_parquet_atomic


def log_plots(
    problem: Problem, y: np.ndarray, scores: np.ndarray, codes: np.ndarray, directory: str
) -> None:
    """ROC, precision-recall, confusion and calibration, or predicted-vs-actual and residuals."""
    live = open_live(directory)
    if problem.task == "regression":
        points = [
            {"actual": float(a), "predicted": float(p), "residual": float(a - p)}
            for a, p in zip(y, scores, strict=True)
        ]
        live.log_plot("predicted_vs_actual", points, x="actual", y="predicted", template="scatter")
        live.log_plot("residuals", points, x="predicted", y="residual", template="scatter")
    else:
        labels = [str(c) for c in problem.classes or ()]
        live.log_sklearn_plot(
            "confusion_matrix",
            np.asarray(labels, dtype=object)[y].tolist(),
            np.asarray(labels, dtype=object)[codes].tolist(),
        )
        if problem.task == "binary":
            live.log_sklearn_plot("roc", y, scores[:, 1])
            live.log_sklearn_plot("precision_recall", y, scores[:, 1], drop_intermediate=True)
            live.log_sklearn_plot("calibration", y, scores[:, 1], n_bins=10)
    close_live(live)


def _test_table(schema: dict, scored: int) -> dict:
    """Where the scored test rows came from, and how many of the table's rows they are."""
    split = schema.get("split") or {}
    if split.get("strategy") != "provided":
        return {
            "source": "split",
            "rows_scored": scored,
            "description": f"the {split.get('strategy')} split's test part of data.source",
        }
    read = split.get("test_rows_read", scored)
    kept = split.get("test_duplicate_rows_kept", 0)
    unlabelled = split.get("test_rows_without_target", 0)
    text = (
        f"all {read} rows of {split.get('test_source')}"
        if scored == read
        else (
            f"{scored} of {read} rows of {split.get('test_source')}; {unlabelled} without a target"
        )
    )
    return {
        "source": split.get("test_source"),
        "rows_read": read,
        "rows_scored": scored,
        "duplicate_rows_kept": kept,
        "rows_without_target": unlabelled,
        "description": text + (f", {kept} duplicate rows kept" if kept else ""),
    }


def main() -> None:
    paths = ProjectPaths.from_cwd()
    config = load_config(paths.params)
    schema = read_schema(paths.schema)
    bundle = load_bundle_checked(paths.models_dir / "model")
    problem = bundle.problem
    test = read_parquet_checked(
        paths.test_table, [problem.target, *(str(f["name"]) for f in bundle.features)]
    )
    y = problem.encode(test[problem.target])
    scores = bundle.predict_scores(test)
    threshold = 0.5 if bundle.threshold is None else bundle.threshold

    if problem.task == "regression":
        codes = scores
        metrics = regression_report(y, scores)
    else:
        codes = bundle.predict_codes(scores)
        metrics = classification_report(
            y,
            scores,
            task=problem.task,
            classes=list(problem.classes or ()),
            threshold=bundle.threshold,
        )
    interval = bootstrap_interval(
        problem.metric,
        y,
        scores,
        n_samples=config.evaluate.bootstrap_samples,
        seed=config.seed,
        threshold=threshold,
    )
    segments = segment_report(
        test,
        y,
        scores,
        columns=list(config.evaluate.segments),
        task=problem.task,
        metric=problem.metric,
        min_rows=config.evaluate.segment_min_rows,
        threshold=threshold,
        seed=config.seed,
    )
    out_dir = paths.report_dir("evaluate")
    # Every output is computed before the first is written, so a failure leaves none behind.
    scored = bundle.predict(test)
    scored.insert(0, "y_true", test[problem.target].to_numpy())
    predictions = prediction_table(test, list(schema["id_columns"]), scored)
    log_plots(problem, y, scores, codes, str(out_dir / "live"))
    write_parquet_atomic(out_dir / "predictions.parquet", predictions)

    report: dict[str, Any] = {
        "test_sha256": frame_sha256(test),
        "rows": len(test),
        "test_rows_scored": len(test),
        "test_table": _test_table(schema, len(test)),
        "model": bundle.metadata.get("model_name"),
        "primary_metric": {
            "name": problem.metric,
            "greater_is_better": problem.greater_is_better,
            "value": interval["estimate"],
            "ci95_low": interval["low"],
            "ci95_high": interval["high"],
        },
        "threshold": bundle.threshold,
        "metrics": metrics,
        "better_if": better_if(metrics),
        "segments_flagged": sum(1 for s in segments if s.get("flag")),
    }
    write_json_atomic(out_dir / "metrics.json", report)
    write_json_atomic(out_dir / "segments.json", {"segments": segments})
    low, high = interval["low"], interval["high"]
    ci = "undefined" if low is None or high is None else f"{low:.4f} to {high:.4f}"
    print(
        f"evaluate: {problem.metric} {interval['estimate']:.4f} (95% CI {ci}) on {len(test)} test "
        f"rows scored ({report['test_table']['description']})"
    )


if __name__ == "__main__":
    run_stage(main)
