"""Metrics of a classifier (with its confusion matrix) or of a regressor (with residuals)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from foldwise.evaluation.common import UNDEFINED, defined_or_note, jsonable, ratio
from foldwise.metrics import Task, as_codes, as_proba, derive_labels, score


def classification_report(
    y_true: np.ndarray,
    proba: np.ndarray,
    *,
    task: Task,
    classes: list,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Threshold-free and thresholded metrics of a classifier, with its confusion matrix.

    ``y_true`` holds codes into ``classes``; ``proba`` is (n, len(classes)). Binary: column 1
    is the positive class, hard predictions are ``proba[:, 1] >= threshold`` (default 0.5).
    Multiclass: hard predictions are the argmax and ``threshold`` is ignored.
    """
    if task not in ("binary", "multiclass"):
        raise ValueError(f"classification_report needs a binary or multiclass task, got {task!r}")
    p = as_proba(proba)
    k = len(classes)
    if p.shape[1] != k:
        raise ValueError(f"proba has {p.shape[1]} columns but there are {k} classes")
    if (task == "binary") != (k == 2):
        raise ValueError(f"task {task!r} does not fit {k} classes")
    t = 0.5 if threshold is None else float(threshold)
    y = as_codes(y_true, k)
    if len(y) != len(p):
        raise ValueError(f"{len(y)} labels but {len(p)} rows of probabilities")
    pred = derive_labels(p, t)
    notes: list[str] = []

    def metric(name: str) -> float | None:
        return defined_or_note(name, score(name, y, p, threshold=t), notes)

    matrix = np.zeros((k, k), dtype="int64")
    np.add.at(matrix, (y, pred), 1)
    report: dict[str, Any] = {"task": task, "rows": len(y)}
    if task == "binary":
        report |= _binary_metrics(matrix, classes, t, metric, notes)
    else:
        report |= _multiclass_metrics(matrix, classes, metric, notes)
    report["notes"] = notes
    return jsonable(report)


def _binary_metrics(
    matrix: np.ndarray,
    classes: list,
    t: float,
    metric: Callable[[str], float | None],
    notes: list[str],
) -> dict[str, Any]:
    """Binary metrics at threshold ``t``; undefined ones are None with a line in ``notes``."""
    (tn, fp), (fn, tp) = matrix.tolist()
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    if precision is None:
        notes.append(f"precision undefined: no row reaches the threshold {t}")
    if recall is None:
        notes.append("recall undefined: y_true has no positive rows")
    return {
        "positive_label": classes[1],
        "positives": tp + fn,
        "roc_auc": metric("roc_auc"),
        "average_precision": metric("average_precision"),
        "log_loss": metric("log_loss"),
        "brier": metric("brier"),
        "threshold": t,
        "precision": precision,
        "recall": recall,
        "f1": metric("f1"),
        "accuracy": metric("accuracy"),
        "balanced_accuracy": metric("balanced_accuracy"),
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def _multiclass_metrics(
    matrix: np.ndarray, classes: list, metric: Callable[[str], float | None], notes: list[str]
) -> dict[str, Any]:
    """Multiclass metrics and per-class precision, recall and F1 from the confusion matrix."""
    k = len(classes)
    support, called, hits = matrix.sum(axis=1), matrix.sum(axis=0), np.diag(matrix)
    absent = [str(classes[c]) for c in range(k) if support[c] == 0]
    if absent:
        notes.append(f"classes absent from y_true: {absent}; roc_auc averages the classes present")
    never = [str(classes[c]) for c in range(k) if called[c] == 0]
    if never:
        notes.append(f"precision undefined for classes never predicted: {never}")
    per_class = {}
    for c in range(k):
        prec, rec = ratio(hits[c], called[c]), ratio(hits[c], support[c])
        f1 = ratio(2 * hits[c], support[c] + called[c])
        per_class[str(classes[c])] = {
            "precision": prec,
            "recall": rec,
            "f1": f1,
            "support": int(support[c]),
        }
    return {
        "accuracy": metric("accuracy"),
        "balanced_accuracy": metric("balanced_accuracy"),
        "macro_f1": metric("macro_f1"),
        "log_loss": metric("log_loss"),
        "roc_auc": metric("roc_auc"),
        "per_class": per_class,
        "confusion": {"labels": [str(c) for c in classes], "matrix": matrix.tolist()},
    }


def regression_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE, R², MAPE when defined, and a summary of residuals (y_true − y_pred)."""
    notes: list[str] = []
    report: dict[str, Any] = {"task": "regression", "rows": len(y_true)}
    for name in ("rmse", "mae", "r2"):
        report[name] = defined_or_note(name, score(name, y_true, y_pred), notes)
    mape = score("mape", y_true, y_pred)
    if math.isfinite(mape):
        report["mape"] = mape
    else:
        notes.append(f"mape undefined: {UNDEFINED['mape']}")
    residuals = np.asarray(y_true, dtype="float64") - np.asarray(y_pred, dtype="float64")
    report["residuals"] = {
        "mean": float(residuals.mean()),
        "std": float(residuals.std(ddof=1)) if len(residuals) > 1 else None,
    }
    report["notes"] = notes
    return jsonable(report)
