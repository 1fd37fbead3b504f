"""The Markdown report of ``foldwise compare`` and the files it writes (no Node tools)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from foldwise.compare.comparison import Comparison, MetricRow
from foldwise.compare.inference import Inference
from foldwise.compare.looks import LookCount
from foldwise.compare.models import models_lines
from foldwise.compare.plots import PLOT_FILES, render_plots
from foldwise.compare.runs import Run
from foldwise.compare.summary import summary_payload
from foldwise.markdown import MISSING, table
from foldwise.stage import write_json_atomic, write_text_atomic

REPORT = "report.md"
SUMMARY = "comparison.json"


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:+.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return MISSING
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _interval(test: Inference | None) -> str:
    if test is None or test.low is None or test.high is None:
        return MISSING
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
    header = ["metric", "better if", "base", "target", "delta", "95% interval", "p", "verdict"]
    cells = []
    for row in rows:
        test = row.test
        delta = test.delta if test else None
        if delta is None and row.base is not None and row.target is not None:
            delta = row.target - row.base
        cells.append(
            [
                row.metric,
                "higher" if row.greater_is_better else "lower",
                _fmt(row.base),
                _fmt(row.target),
                _signed(delta),
                _interval(test),
                _p(test.p_value if test else None),
                _verdict_cell(test),
            ]
        )
    return table(header, cells, align="llrrrlrl")


# --- Markdown ---------------------------------------------------------------------------


def _run_name(run: Run) -> str:
    return f"`{run.label}`" + (f" ({run.sha[:7]})" if run.sha else "")


PLOT_TITLES = {
    "cv_folds.png": "per-fold CV scores",
    "roc.png": "ROC",
    "precision_recall.png": "precision-recall",
    "calibration.png": "calibration",
    "residuals.png": "residuals",
    "predicted_vs_actual.png": "predicted vs actual",
}


def render_markdown(
    cmp: Comparison, plots: list[str], looks: LookCount | None, image_prefix: str = ""
) -> str:
    """The report; images are linked as ``image_prefix + file name``."""
    lines = _headline_lines(cmp)
    lines += _params_lines(cmp)
    lines += _cv_lines(cmp)
    lines += _test_lines(cmp, looks)
    lines += _plot_lines(cmp, plots, image_prefix)
    lines += _segment_lines(cmp)
    lines += ["## Top features (explain)", "", *_feature_moves_lines(cmp), ""]
    return "\n".join(lines)


def _headline_lines(cmp: Comparison) -> list[str]:
    """The title, the primary CV verdict, the gate and the warnings."""
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
        *models_lines(cmp.base.model, cmp.target.model),
    ]
    if cmp.settings.alpha != 0.05:
        lines.append(f"Intervals are at level {1 - cmp.settings.alpha:.0%} (compare.alpha).")
        lines.append("")
    for warning in cmp.warnings:
        lines += [f"> ⚠️ {warning}", ""]
    return lines


def _params_lines(cmp: Comparison) -> list[str]:
    """The params.yaml keys that differ."""
    lines = ["## Params changed", ""]
    if cmp.params_changed:
        rows = [[f"`{k}`", _value(a), _value(b)] for k, a, b in cmp.params_changed]
        lines += table(["key", "base", "target"], rows)
    else:
        lines.append("None: the two runs have the same params.yaml.")
    return [*lines, ""]


def _cv_lines(cmp: Comparison) -> list[str]:
    """The cross-validated metrics and how they were tested."""
    folds = len(cmp.base.train["cv"][cmp.primary.metric]["values"])
    return [
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


def _test_lines(cmp: Comparison, looks: LookCount | None) -> list[str]:
    """The test-set metrics (for information), how they were tested, and test-set looks."""
    lines = ["## Test set: for information, do not choose by it", ""]
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
    return lines


def _plot_lines(cmp: Comparison, plots: list[str], image_prefix: str) -> list[str]:
    """Links to the plots written beside the report."""
    if not plots:
        return []
    lines = ["## Plots", ""]
    lines += [f"![{PLOT_TITLES.get(p, p)}]({image_prefix}{p})" for p in plots]
    return [
        *lines,
        "",
        f"Grey: base {_run_name(cmp.base)}; blue: target {_run_name(cmp.target)}.",
        "",
    ]


def _segment_lines(cmp: Comparison) -> list[str]:
    """Segments whose test metric moved beyond their noise (else the largest changes)."""
    lines = ["## Segments", ""]
    if not cmp.segments:
        lines.append("No segments to compare (evaluate.segments is empty in one of the runs).")
        return [*lines, ""]
    moved = [s for s in cmp.segments if s["moved"]]
    shown = moved or cmp.segments[:3]
    lines.append(
        f"{len(moved)} of {len(cmp.segments)} segments moved beyond their noise "
        f"(|z| ≥ {_z_crit(cmp.settings.alpha):.2f}; test {cmp.primary.metric}, segment standard "
        "errors approximated from the test interval)." + ("" if moved else " The largest changes:")
    )
    rows = [
        [
            str(s["column"]),
            str(s["segment"]),
            str(s["rows"]),
            _fmt(s["base"]),
            _fmt(s["target"]),
            _signed(s["delta"]),
            _signed(s["z"], 2),
        ]
        for s in shown
    ]
    header = ["column", "segment", "rows", "base", "target", "delta", "z"]
    return [*lines, "", *table(header, rows, align="llrrrrr"), ""]


def _feature_moves_lines(cmp: Comparison) -> list[str]:
    from foldwise.explain.moves import feature_moves, render_moves

    return render_moves(feature_moves(cmp.base.importance, cmp.target.importance))


def _z_crit(alpha: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(1 - alpha / 2))


def write_report(cmp: Comparison, out: Path, looks: LookCount | None) -> tuple[Path, list[str]]:
    """Write report.md, comparison.json and the PNGs into ``out`` (only files we own)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in PLOT_FILES:  # stale plots of an earlier comparison must not linger
        (out / name).unlink(missing_ok=True)
    plots = render_plots(cmp, out)
    write_text_atomic(out / REPORT, render_markdown(cmp, plots, looks))
    write_json_atomic(out / SUMMARY, summary_payload(cmp, looks))
    return out / REPORT, plots
