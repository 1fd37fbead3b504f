"""The PNG plots of ``foldwise compare``: base and target overlaid (matplotlib only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from foldwise.compare.comparison import Comparison
from foldwise.compare.runs import Run, scored_predictions

PLOT_FILES = (
    "cv_folds.png",
    "roc.png",
    "precision_recall.png",
    "calibration.png",
    "residuals.png",
    "predicted_vs_actual.png",
)
BASE_COLOUR, TARGET_COLOUR = "#7f7f7f", "#1f77b4"


def _figure(title: str, xlabel: str, ylabel: str) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.5), dpi=100)
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def _save(fig: Any, ax: Any, path: Path) -> None:
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png")
    tmp.replace(path)


def _plot_cv_folds(cmp: Comparison, out: Path) -> str:
    row = cmp.primary
    fig, ax = _figure(
        f"Cross-validated {row.metric} per fold",
        "fold",
        f"{row.metric} ({'higher' if row.greater_is_better else 'lower'} is better)",
    )
    for run, colour in ((cmp.base, BASE_COLOUR), (cmp.target, TARGET_COLOUR)):
        values = np.asarray(run.train["cv"][row.metric]["values"], dtype="float64")
        mean = np.nanmean(values) if np.isfinite(values).any() else float("nan")
        ax.plot(
            range(1, len(values) + 1),
            values,
            marker="o",
            color=colour,
            label=f"{run.label}: {mean:.4f}",
        )
    ax.set_xticks(range(1, max(len(cmp.base.train["cv"][row.metric]["values"]), 1) + 1))
    _save(fig, ax, out / "cv_folds.png")
    return "cv_folds.png"


def _binary_scores(run: Run) -> tuple[np.ndarray, np.ndarray] | None:
    scored = scored_predictions(run)
    if scored is None:
        return None
    if scored.x.shape[1] == 2:
        return (scored.y == 1).astype(int), scored.x[:, 1]
    # Multiclass: micro-average over one-vs-rest columns.
    k = scored.x.shape[1]
    onehot = np.eye(k, dtype=int)[scored.y]
    return onehot.ravel(), scored.x.ravel()


def _plot_classification(cmp: Comparison, out: Path) -> list[str]:
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    runs = [(cmp.base, BASE_COLOUR), (cmp.target, TARGET_COLOUR)]
    scores = {run.label: _binary_scores(run) for run, _ in runs}
    if any(v is None for v in scores.values()):
        return []
    micro = "" if cmp.target.task == "binary" else " (micro-average, one-vs-rest)"
    files = []

    fig, ax = _figure(f"ROC{micro}", "false positive rate", "true positive rate")
    ax.plot([0, 1], [0, 1], color="#cccccc", linestyle="--", linewidth=1)
    for run, colour in runs:
        y, p = scores[run.label]  # type: ignore[misc]
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, color=colour, label=f"{run.label}: AUC {auc(fpr, tpr):.4f}")
    _save(fig, ax, out / "roc.png")
    files.append("roc.png")

    fig, ax = _figure(f"Precision-recall{micro}", "recall", "precision")
    for run, colour in runs:
        y, p = scores[run.label]  # type: ignore[misc]
        precision, recall, _ = precision_recall_curve(y, p)
        ax.plot(
            recall, precision, color=colour, label=f"{run.label}: AP {auc(recall, precision):.4f}"
        )
    _save(fig, ax, out / "precision_recall.png")
    files.append("precision_recall.png")

    fig, ax = _figure(
        f"Calibration{micro}", "mean predicted probability (10 quantile bins)", "observed frequency"
    )
    ax.plot([0, 1], [0, 1], color="#cccccc", linestyle="--", linewidth=1)
    from sklearn.calibration import calibration_curve

    for run, colour in runs:
        y, p = scores[run.label]  # type: ignore[misc]
        observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
        ax.plot(predicted, observed, marker="o", color=colour, label=run.label)
    _save(fig, ax, out / "calibration.png")
    files.append("calibration.png")
    return files


def _plot_regression(cmp: Comparison, out: Path) -> list[str]:
    runs = [(cmp.base, BASE_COLOUR), (cmp.target, TARGET_COLOUR)]
    data = {run.label: scored_predictions(run) for run, _ in runs}
    if any(v is None for v in data.values()):
        return []
    fig, ax = _figure("Residuals", "predicted", "actual − predicted")
    ax.axhline(0, color="#cccccc", linestyle="--", linewidth=1)
    for run, colour in runs:
        s = data[run.label]
        assert s is not None  # every run has test predictions (checked above)
        residual = s.y - s.x
        rmse = float(np.sqrt(np.mean(residual**2)))
        ax.scatter(
            s.x, residual, s=8, alpha=0.5, color=colour, label=f"{run.label}: RMSE {rmse:.4g}"
        )
    _save(fig, ax, out / "residuals.png")

    fig, ax = _figure("Predicted vs actual", "actual", "predicted")
    lo = min(float(np.min(d.y)) for d in data.values())  # type: ignore[union-attr]
    hi = max(float(np.max(d.y)) for d in data.values())  # type: ignore[union-attr]
    ax.plot([lo, hi], [lo, hi], color="#cccccc", linestyle="--", linewidth=1)
    for run, colour in runs:
        s = data[run.label]
        ax.scatter(s.y, s.x, s=8, alpha=0.5, color=colour, label=run.label)  # type: ignore[union-attr]
    _save(fig, ax, out / "predicted_vs_actual.png")
    return ["residuals.png", "predicted_vs_actual.png"]


def render_plots(cmp: Comparison, out: Path) -> list[str]:
    """Overlay base and target; returns the PNG file names written into ``out``."""
    files = [_plot_cv_folds(cmp, out)]
    if cmp.base.predictions is not None and cmp.target.predictions is not None:
        if cmp.target.task == "regression":
            files += _plot_regression(cmp, out)
        else:
            files += _plot_classification(cmp, out)
    return files
