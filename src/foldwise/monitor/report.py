"""Monitoring outputs: summary.json, report.md, PNG time series and an HTML dashboard."""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from foldwise.markdown import MISSING, table
from foldwise.stage import write_text_atomic

TOP_FEATURES = 8


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _interval(result: dict[str, Any] | None) -> str:
    if not result:
        return MISSING
    return f"{_fmt(result['estimate'])} [{_fmt(result['low'])}, {_fmt(result['high'])}]"


def _top_features(summary: dict[str, Any]) -> list[str]:
    peak: dict[str, float] = {}
    for period in summary["periods"]:
        for d in period["drift"]:
            peak[d["feature"]] = max(peak.get(d["feature"], 0.0), d["weighted_psi"] or 0.0)
    return sorted(peak, key=lambda f: -peak[f])[:TOP_FEATURES]


def _judged_metric(summary: dict[str, Any]) -> str | None:
    for period in summary["periods"]:
        perf = period["performance"]
        for key in ("realized", "estimated"):
            if perf.get(key):
                primary = summary["primary_metric"]
                return primary if primary in perf[key] else next(iter(perf[key]))
    return None


def _drift_series(summary: dict[str, Any]) -> list[tuple[str, list[dict[str, Any] | None]]]:
    """(name, per-period drift result) of the top features and of the predictions."""
    series: list[tuple[str, list[dict[str, Any] | None]]] = [
        (f, [next((d for d in p["drift"] if d["feature"] == f), None) for p in summary["periods"]])
        for f in _top_features(summary)
    ]
    preds = [p["prediction_drift"] for p in summary["periods"]]
    if any(v is not None for v in preds):
        series.append(("prediction", preds))
    return series


def plot_drift(summary: dict[str, Any], path: Path) -> None:
    """drift.png: one small panel per feature (own y scale) with its drift threshold.

    Each panel has its own scale, so a feature that drifts a lot does not flatten the others;
    the dashed red line is the threshold (``monitor.drift_psi`` plus the PSI expected from
    sampling noise at the period's size) and drifted periods are red dots.
    """
    import matplotlib.pyplot as plt

    labels = [p["period"] for p in summary["periods"]]
    x = list(range(len(labels)))
    series = _drift_series(summary)
    cols = min(3, max(1, len(series)))
    rows = -(-len(series) // cols) if series else 1
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 2.6 * rows + 0.6), sharex=True, squeeze=False
    )
    base = summary["policy"]["monitor"]["drift_psi"]
    for ax, (name, results) in zip(axes.flat, series, strict=False):
        psi = [r["psi"] if r else float("nan") for r in results]
        limit = [r.get("psi_threshold", base) if r else float("nan") for r in results]
        ax.plot(x, psi, marker="o", markersize=3, color="tab:blue", label="PSI")
        ax.hlines(limit, [i - 0.5 for i in x], [i + 0.5 for i in x], color="red",
                  linestyles="dashed", linewidth=1, label="threshold")  # fmt: skip
        ax.set_xlim(-0.5, len(x) - 0.5)
        hit = [i for i, r in enumerate(results) if r and r["drifted"]]
        ax.plot(hit, [psi[i] for i in hit], "o", color="red", markersize=6, label="drifted")
        top = max([v for v in psi + limit if not math.isnan(v)] or [base])
        ax.set_ylim(0, top * 1.15)
        imp = next((r.get("importance") for r in results if r), None)
        ax.set_title(name + (f" ({imp:.0%} of importance)" if imp is not None else ""), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(series) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    handles, names = axes.flat[0].get_legend_handles_labels()
    names = [
        "PSI vs training",
        f"drift threshold (monitor.drift_psi {base:g} + sampling noise)",
        "drifted",
    ][: len(names)]
    fig.legend(handles, names, loc="upper right", fontsize=8, ncol=3)
    fig.suptitle("Drift per feature (top by weighted PSI), each on its own scale", x=0.01,
                 ha="left", fontsize=10)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot(summary: dict[str, Any], out: Path) -> dict[str, str]:
    """drift.png (PSI per feature and of the predictions) and performance.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [p["period"] for p in summary["periods"]]
    x = range(len(labels))
    files: dict[str, str] = {}
    plot_drift(summary, out / "drift.png")
    files["drift"] = "drift.png"

    metric = _judged_metric(summary)
    if metric is not None:
        fig, ax = plt.subplots(figsize=(10, 4.5))
        for key, colour in (("estimated", "tab:blue"), ("realized", "tab:orange")):
            pts = [
                (i, p["performance"].get(key, {}).get(metric))
                for i, p in enumerate(summary["periods"])
            ]
            pts = [(i, r) for i, r in pts if r]
            if pts:
                xs = [i for i, _ in pts]
                ax.plot(xs, [r["estimate"] for _, r in pts], marker="o", color=colour, label=key)
                ax.fill_between(
                    xs,
                    [r["low"] for _, r in pts],
                    [r["high"] for _, r in pts],
                    color=colour,
                    alpha=0.2,
                )
        cv = summary["periods"][0]["performance"]["cv"].get(metric, {})
        if cv.get("mean") is not None:
            ax.axhline(cv["mean"], color="grey", linestyle=":", label="cross-validated")
        ax.set(xticks=list(x), ylabel=metric, title=f"{metric}: estimated (no labels) vs realized")
        ax.set_xticklabels(labels, rotation=45, ha="right")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "performance.png", dpi=110)
        plt.close(fig)
        files["performance"] = "performance.png"
    return files


def markdown(summary: dict[str, Any], images: dict[str, str]) -> str:
    """The report: one table of verdicts, then the details of every period that is not ok."""
    lines = [
        "# Monitoring report",
        "",
        f"Source: {summary['source']}; periods by {summary['period']}; model "
        f"`{summary.get('bundle', '?')}`: {summary['model']} ({summary['task']}), reference "
        f"{summary['reference_rows']} training rows.",
        "",
    ]
    if summary["labels"]:
        lab = summary["labels"]
        lines += [f"Labels: {lab['matched']} of {lab['labels']} matched a prediction id.", ""]
    first = summary["first_retrain_period"]
    lines += [
        f"**Retraining: {'due from ' + first if first else 'not due'}** (exit code {summary['exit_code']}).",
        "",
        *_verdict_table(summary),
        "",
    ]
    for name in ("drift", "performance"):
        if name in images:
            lines += [f"![{name}]({images[name]})", ""]
    for finding in summary["schema_findings"]:
        lines.append(f"- schema: {finding['message']}")
    for p in summary["periods"]:
        if p["verdict"]["status"] != "ok":
            lines += ["", f"## {p['period']}: {p['verdict']['status']}", ""]
            lines += _period_details(p)
    return "\n".join(lines) + "\n"


def _verdict_table(summary: dict[str, Any]) -> list[str]:
    """One row per period: rows, verdict, the most drifted feature, performance, reasons."""
    metric = _judged_metric(summary) or summary["primary_metric"]
    header = ["period", "rows", "verdict", "top drift (PSI)", f"est. {metric}"]
    header += [f"realized {metric}", "reasons"]
    rows = []
    for p in summary["periods"]:
        top = p["drift"][0] if p["drift"] else None
        perf = p["performance"]
        rows.append(
            [
                str(p["period"]),
                str(p["rows"]),
                str(p["verdict"]["status"]),
                f"{top['feature']} ({top['psi']:.3f})" if top else MISSING,
                _interval(perf.get("estimated", {}).get(metric)),
                _interval(perf.get("realized", {}).get(metric)),
                "; ".join(p["verdict"]["reasons"]) or MISSING,
            ]
        )
    return table(header, rows, align="lrlllll")


def _period_details(p: dict[str, Any]) -> list[str]:
    """Why a period is not ok: drifted features, data quality, performance drops, residuals."""
    lines = []
    for d in (d for d in p["drift"] if d["drifted"]):
        lines.append(
            f"- drift in **{d['feature']}**: PSI {d['psi']:.3f}"
            + (f" (threshold {d['psi_threshold']:.3f})" if "psi_threshold" in d else "")
            + f", {d['test']} p={d['p_value']:.2g}"
            + (f", importance {d['importance']:.1%}" if d["importance"] is not None else "")
        )
    for f in p["quality"]:
        lines.append(f"- data quality: {f['message']}")
    perf = p["performance"]
    for kind in ("estimated_drop", "realized_drop"):
        drop = perf.get(kind)
        if drop and drop["dropped"]:
            lines.append(
                f"- {kind.replace('_', ' ')}: {drop['metric']} worse than CV mean "
                f"{drop['cv_mean']:.3f} by {drop['worse_by']:.3f}, beyond its 95 % interval"
            )
    for r in perf.get("residuals", [])[:2]:
        if r["significant"]:
            lines.append(
                f"- labels depart from predictions along **{r['feature']}** (bin "
                f"{r['worst_bin']}: observed rate {_fmt(r['observed_rate'])} vs predicted "
                f"{_fmt(r['expected_rate'])}, p={r['p_value']:.2g})"
            )
    return lines


def dashboard(summary: dict[str, Any], out: Path, images: dict[str, str], report: str) -> str:
    """A self-contained HTML page: verdict table, the plots inline, the Markdown report."""
    colours = {"ok": "#d4edda", "warn": "#fff3cd", "retrain": "#f8d7da", "too_few_rows": "#e2e3e5"}
    rows = "".join(
        f"<tr style='background:{colours[p['verdict']['status']]}'><td>{html.escape(p['period'])}"
        f"</td><td>{p['rows']}</td><td>{p['verdict']['status']}</td>"
        f"<td>{html.escape('; '.join(p['verdict']['reasons']))}</td></tr>"
        for p in summary["periods"]
    )
    pictures = "".join(
        f"<img alt='{name}' style='max-width:100%' src='data:image/png;base64,"
        f"{base64.b64encode((out / file).read_bytes()).decode()}'/>"
        for name, file in images.items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>foldwise monitor</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 8px;border:1px solid #ccc}"
        "table{border-collapse:collapse}pre{white-space:pre-wrap;overflow-wrap:anywhere}</style>"
        "</head><body><h1>foldwise monitor</h1>"
        f"<p>{html.escape(summary['source'])}; retraining "
        f"{'due from ' + html.escape(summary['first_retrain_period']) if summary['first_retrain_period'] else 'not due'}"
        "</p><table><tr><th>period</th><th>rows</th><th>verdict</th><th>reasons</th></tr>"
        f"{rows}</table>{pictures}<h2>Report</h2><pre>{html.escape(report)}</pre></body></html>\n"
    )


def write_reports(summary: dict[str, Any], out: Path) -> Path:
    """Write all outputs into ``out``; returns the Markdown report's path."""
    out.mkdir(parents=True, exist_ok=True)
    images = plot(summary, out)
    report = markdown(summary, images)
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
    write_text_atomic(out / "report.md", report)
    write_text_atomic(out / "dashboard.html", dashboard(summary, out, images, report))
    return out / "report.md"
