"""The evaluate stage as a library function: the one look at the sealed test table.

:func:`evaluate_test_table` scores the test rows with the bundle and returns an
:class:`Evaluation`; the stage script (``stages/evaluate.py``) only reads the inputs, calls it
and writes what it returns. Nothing is written here except by :func:`write_plots`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from foldwise.artifacts import prediction_table
from foldwise.bundle import Bundle
from foldwise.config import Config
from foldwise.evaluation.bootstrap import bootstrap_interval
from foldwise.evaluation.folds import better_if
from foldwise.evaluation.reports import classification_report, regression_report
from foldwise.evaluation.segments import segment_report
from foldwise.hashing import frame_sha256
from foldwise.problem import Problem


@dataclass(frozen=True)
class PrimaryMetric:
    """The primary metric on the test rows with its 95 % bootstrap interval."""

    name: str
    greater_is_better: bool
    value: float | None
    ci95_low: float | None
    ci95_high: float | None

    def interval_text(self) -> str:
        """``0.8123 to 0.8456``, or ``undefined``."""
        if self.ci95_low is None or self.ci95_high is None:
            return "undefined"
        return f"{self.ci95_low:.4f} to {self.ci95_high:.4f}"


@dataclass(frozen=True)
class Evaluation:
    """What the evaluate stage found on the test table, and what it writes."""

    problem: Problem
    test_sha256: str
    rows: int
    test_table: dict[str, Any]  # where the scored rows came from (see origin_of_test_rows)
    model: str | None
    primary: PrimaryMetric
    threshold: float | None
    metrics: dict[str, Any]  # classification_report or regression_report
    segments: list[dict[str, Any]]  # segment_report
    predictions: pd.DataFrame  # ids as id:<column>, y_true, prediction, probabilities
    y: np.ndarray  # encoded labels (codes) or values
    scores: np.ndarray  # probabilities (n, k) or predicted values
    codes: np.ndarray  # predicted codes (classification) or values

    def metrics_json(self) -> dict[str, Any]:
        """``reports/evaluate/metrics.json`` (DVC metrics)."""
        return {
            "test_sha256": self.test_sha256,
            "rows": self.rows,
            "test_rows_scored": self.rows,
            "test_table": self.test_table,
            "model": self.model,
            "primary_metric": {
                "name": self.primary.name,
                "greater_is_better": self.primary.greater_is_better,
                "value": self.primary.value,
                "ci95_low": self.primary.ci95_low,
                "ci95_high": self.primary.ci95_high,
            },
            "threshold": self.threshold,
            "metrics": self.metrics,
            "better_if": better_if(self.metrics),
            "segments_flagged": sum(1 for s in self.segments if s.get("flag")),
        }

    def summary_line(self) -> str:
        """One line for the console: the metric, its interval, the rows scored."""
        return (
            f"evaluate: {self.primary.name} {self.primary.value:.4f} (95% CI "
            f"{self.primary.interval_text()}) on {self.rows} test rows scored "
            f"({self.test_table['description']})"
        )


def evaluate_test_table(
    bundle: Bundle, test: pd.DataFrame, schema: dict[str, Any], config: Config
) -> Evaluation:
    """Score ``test`` (the sealed test table) with ``bundle``: metrics, interval, segments."""
    problem = bundle.problem
    y = problem.encode(test[problem.target])
    scores = bundle.predict_scores(test)
    threshold = 0.5 if bundle.threshold is None else bundle.threshold
    codes, metrics = _metrics(bundle, y, scores)
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
    scored = bundle.predict(test)
    scored.insert(0, "y_true", test[problem.target].to_numpy())
    return Evaluation(
        problem=problem,
        test_sha256=frame_sha256(test),
        rows=len(test),
        test_table=origin_of_test_rows(schema, len(test)),
        model=bundle.metadata.get("model_name"),
        primary=PrimaryMetric(
            problem.metric,
            problem.greater_is_better,
            interval["estimate"],
            interval["low"],
            interval["high"],
        ),
        threshold=bundle.threshold,
        metrics=metrics,
        segments=segments,
        predictions=prediction_table(test, list(schema["id_columns"]), scored),
        y=y,
        scores=scores,
        codes=codes,
    )


def _metrics(
    bundle: Bundle, y: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """(predicted codes or values, the classification or regression report)."""
    problem = bundle.problem
    if problem.task == "regression":
        return scores, regression_report(y, scores)
    report = classification_report(
        y,
        scores,
        task=problem.task,
        classes=list(problem.classes or ()),
        threshold=bundle.threshold,
    )
    return bundle.predict_codes(scores), report


def origin_of_test_rows(schema: dict[str, Any], scored: int) -> dict[str, Any]:
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


def write_plots(evaluation: Evaluation, directory: str) -> None:
    """ROC, precision-recall, confusion and calibration, or predicted-vs-actual and residuals
    (DVCLive plots under ``directory``)."""
    from foldwise.stage import close_live, open_live

    problem, y, scores, codes = (
        evaluation.problem,
        evaluation.y,
        evaluation.scores,
        evaluation.codes,
    )
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
