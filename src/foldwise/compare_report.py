"""The Markdown report and PNG plots of ``foldwise compare`` (matplotlib only, no Node tools)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from foldwise.compare import Comparison, Inference, LookCount, MetricRow, Run, scored_predictions
from foldwise.stage import write_json_atomic, write_text_atomic

REPORT = "report.md"
SUMMARY = "comparison.json"
PLOT_FILES = (
    "cv_folds.png",
    "roc.png",
    "precision_recall.png",
    "calibration.png",
    "residuals.png",
    "predicted_vs_actual.png",
)
BASE_COLOUR, TARGET_COLOUR = "#7f7f7f", "#1f77b4"


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _interval(test: Inference | None) -> str:
    if test is None or test.low is None or test.high is None:
        return "–"
    return f"{_signed(test.low)} … {_signed(test.high)}"


def _verdict_cell(test: Inference | None) -> str:
    if test is None:
        return "not testable"
    mark = {"better": "✅ better", "worse": "❌ worse", "within noise": "≈ within noise"}
    return mark.get(test.verdict, test.verdict)


def _value(value: Any) -> str:
    if value is None:
        return "*(absent)*"
    text = json.dumps(value) if not isinstance(value, str) else value
    return f"`{text}`" if len(text) <= 60 else f"`{text[:57]}...`"


def summary_line(row: MetricRow) -> str:
    """One metric on one line: ``roc_auc: 0.8500 -> 0.8600  better (+0.0100, 95% ...)``."""
    test = row.test
    verdict = "not testable" if test is None else test.verdict
    evidence = (
        ""
        if test is None
        else f" ({_signed(test.delta)}, 95% interval {_interval(test)}, p {_p(test.p_value)})"
    )
    return f"{row.metric}: {_fmt(row.base)} -> {_fmt(row.target)}  {verdict}{evidence}"


def _metric_table(rows: list[MetricRow]) -> list[str]:
    lines = [
        "| metric | better if | base | target | delta | 95% interval | p | verdict |",
        "|---|---|---:|---:|---:|---|---:|---|",
    ]
    for row in rows:
        test = row.test
        delta = test.delta if test else None
        if delta is None and row.base is not None and row.target is not None:
            delta = row.target - row.base
        lines.append(
            f"| {row.metric} | {'higher' if row.greater_is_better else 'lower'} | "
            f"{_fmt(row.base)} | {_fmt(row.target)} | {_signed(delta)} | {_interval(test)} | "
            f"{_p(test.p_value if test else None)} | {_verdict_cell(test)} |"
        )
    return lines


# --- plots ------------------------------------------------------------------------------


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
        residual = s.y - s.x  # type: ignore[union-attr]
        rmse = float(np.sqrt(np.mean(residual**2)))
        ax.scatter(
            s.x, residual, s=8, alpha=0.5, color=colour, label=f"{run.label}: RMSE {rmse:.4g}"
        )  # type: ignore[union-attr]
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


# --- Markdown ---------------------------------------------------------------------------


def _run_name(run: Run) -> str:
    return f"`{run.label}`" + (f" ({run.sha[:7]})" if run.sha else "")


def render_markdown(
    cmp: Comparison, plots: list[str], looks: LookCount | None, image_prefix: str = ""
) -> str:
    """The report; images are linked as ``image_prefix + file name``."""
    primary = cmp.primary
    test = primary.test
    if test is None:
        evidence = "no test possible"
    else:
        evidence = f"95% interval {_interval(test)}, p {_p(test.p_value)}, {test.method}"
    lines = [
        f"# foldwise compare: {_run_name(cmp.base)} → {_run_name(cmp.target)}",
        "",
        f"**Cross-validated {primary.metric}** (the estimate to decide by, "
        f"{'higher' if primary.greater_is_better else 'lower'} is better): "
        f"{_fmt(primary.base)} → {_fmt(primary.target)}, delta "
        f"{_signed(test.delta if test else None)} ({evidence}): **{_verdict_cell(test)}**.",
        "",
        f"**Regression gate:** {cmp.gate_message}.",
        "",
    ]
    if cmp.settings.alpha != 0.05:
        lines.append(f"Intervals are at level {1 - cmp.settings.alpha:.0%} (compare.alpha).")
        lines.append("")
    for warning in cmp.warnings:
        lines += [f"> ⚠️ {warning}", ""]

    lines += ["## Params changed", ""]
    if cmp.params_changed:
        lines += ["| key | base | target |", "|---|---|---|"]
        lines += [f"| `{k}` | {_value(a)} | {_value(b)} |" for k, a, b in cmp.params_changed]
    else:
        lines.append("None: the two runs have the same params.yaml.")
    lines.append("")

    folds = len(cmp.base.train["cv"][primary.metric]["values"])
    lines += [
        "## Cross-validation: decide by this",
        "",
        (
            f"Same {folds} folds in both runs; per-fold differences tested with the corrected "
            "resampled t-test (Nadeau & Bengio), which widens the naive interval because folds "
            "share training rows."
            if cmp.same_folds
            else "Different folds: unpaired Welch test with the same variance correction."
        ),
        "",
        *_metric_table(cmp.cv_rows),
        "",
    ]

    lines += ["## Test set: for information, do not choose by it", ""]
    if cmp.test_rows:
        sha = cmp.target.test_sha256 or ""
        methods = {row.test.method for row in cmp.test_rows if row.test is not None}
        if not methods:
            lines.append(
                "No test on the test set: the saved predictions of one run are not available "
                "(see the notes above); the metrics are shown as reported."
            )
        elif cmp.same_test and any(m.startswith("paired") for m in methods):
            lines.append(
                f"Both runs scored the same test table (`{sha[:12]}`); differences come from a "
                f"paired bootstrap on the same rows ({cmp.settings.bootstrap_samples} resamples)."
            )
        else:
            lines.append("The differences are not paired (see the warnings above).")
        lines += ["", *_metric_table(cmp.test_rows), ""]
    else:
        lines += ["No test-set comparison (see the warnings above).", ""]
    if looks is not None:
        lines += [f"**Test-set hygiene:** {looks.message()}", ""]

    if plots:
        lines += ["## Plots", ""]
        titles = {
            "cv_folds.png": "per-fold CV scores",
            "roc.png": "ROC",
            "precision_recall.png": "precision-recall",
            "calibration.png": "calibration",
            "residuals.png": "residuals",
            "predicted_vs_actual.png": "predicted vs actual",
        }
        lines += [f"![{titles.get(p, p)}]({image_prefix}{p})" for p in plots]
        lines += [
            "",
            f"Grey: base {_run_name(cmp.base)}; blue: target {_run_name(cmp.target)}.",
            "",
        ]

    lines += ["## Segments", ""]
    if not cmp.segments:
        lines.append("No segments to compare (evaluate.segments is empty in one of the runs).")
    else:
        moved = [s for s in cmp.segments if s["moved"]]
        shown = moved or cmp.segments[:3]
        lines.append(
            f"{len(moved)} of {len(cmp.segments)} segments moved beyond their noise "
            f"(|z| ≥ {_z_crit(cmp.settings.alpha):.2f}; test {primary.metric}, segment standard "
            "errors approximated from the test interval)."
            + ("" if moved else " The largest changes:")
        )
        lines += [
            "",
            "| column | segment | rows | base | target | delta | z |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {s['column']} | {s['segment']} | {s['rows']} | {_fmt(s['base'])} | "
            f"{_fmt(s['target'])} | {_signed(s['delta'])} | "
            f"{_signed(s['z'], 2)} |"
            for s in shown
        ]
    lines.append("")
    lines += ["## Top features (explain)", "", *_feature_moves_lines(cmp), ""]
    return "\n".join(lines)


def _feature_moves_lines(cmp: Comparison) -> list[str]:
    from foldwise.explain.moves import feature_moves, render_moves

    return render_moves(feature_moves(cmp.base.importance, cmp.target.importance))


def _z_crit(alpha: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(1 - alpha / 2))


def summary_payload(cmp: Comparison, looks: LookCount | None) -> dict[str, Any]:
    """The comparison as JSON, for scripts."""

    def rows(items: list[MetricRow]) -> list[dict[str, Any]]:
        return [
            {
                "metric": r.metric,
                "greater_is_better": r.greater_is_better,
                "base": r.base,
                "target": r.target,
                "delta": r.test.delta if r.test else None,
                "low": r.test.low if r.test else None,
                "high": r.test.high if r.test else None,
                "p_value": r.test.p_value if r.test else None,
                "method": r.test.method if r.test else None,
                "verdict": r.test.verdict if r.test else "not testable",
            }
            for r in items
        ]

    return {
        "base": {"label": cmp.base.label, "sha": cmp.base.sha},
        "target": {"label": cmp.target.label, "sha": cmp.target.sha},
        "primary_metric": cmp.primary.metric,
        "same_folds": cmp.same_folds,
        "same_test_table": cmp.same_test,
        "params_changed": [{"key": k, "base": a, "target": b} for k, a, b in cmp.params_changed],
        "cv": rows(cmp.cv_rows),
        "test": rows(cmp.test_rows),
        "segments": cmp.segments,
        "top_features": _top_feature_moves(cmp),
        "warnings": cmp.warnings,
        "gate": {
            "failed": cmp.gate_failed,
            "message": cmp.gate_message,
            "tolerance": cmp.settings.tolerance,
            "alpha": cmp.settings.alpha,
            "settings_from": cmp.settings_source,
        },
        "test_usage": None
        if looks is None
        else {
            "test_sha256": looks.test_sha256,
            "evaluations": looks.evaluations,
            "commits": looks.commits,
            "experiments": looks.experiments,
            "workspace_uncommitted": looks.workspace_uncommitted,
        },
    }


def _top_feature_moves(cmp: Comparison) -> list[dict[str, Any]]:
    from foldwise.explain.moves import feature_moves

    return feature_moves(cmp.base.importance, cmp.target.importance)


def write_report(cmp: Comparison, out: Path, looks: LookCount | None) -> tuple[Path, list[str]]:
    """Write report.md, comparison.json and the PNGs into ``out`` (only files we own)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in PLOT_FILES:  # stale plots of an earlier comparison must not linger
        (out / name).unlink(missing_ok=True)
    plots = render_plots(cmp, out)
    write_text_atomic(out / REPORT, render_markdown(cmp, plots, looks))
    write_json_atomic(out / SUMMARY, summary_payload(cmp, looks))
    return out / REPORT, plots
