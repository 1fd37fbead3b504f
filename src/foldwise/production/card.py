"""The model card: what the model is for, what it was trained on, how good it is, how it runs.

Written by the ``card`` stage after ``evaluate`` and ``validate`` (docs: pipeline): it only reads
reports, never a table. Sections whose report is absent say so rather than disappear.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from foldwise.bundle import Bundle, library_versions
from foldwise.markdown import MISSING
from foldwise.models.ensemble import EnsembleModel
from foldwise.paths import ProjectPaths


def _read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _fmt(value: Any) -> str:
    return MISSING if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _problem_section(bundle: Bundle) -> list[str]:
    problem = bundle.problem
    names = [str(f["name"]) for f in bundle.features]
    lines = [
        "## Intended use",
        "",
        f"Predicts **{problem.target}** ({problem.task}) from {len(names)} input columns of one "
        "row, for rows drawn like the training table. Use it to rank or flag rows for a person "
        "or process to act on; it is not validated for rows from another population, period "
        "or source, and it says nothing about why an outcome happens.",
        "",
    ]
    if problem.classes is not None:
        labels = ", ".join(f"`{c}`" for c in problem.classes)
        text = f"Classes: {labels}."
        if problem.task == "binary":
            threshold = 0.5 if bundle.threshold is None else bundle.threshold
            text += (
                f" Positive class `{problem.positive_label}`; a row is predicted positive when "
                f"its probability is at least {threshold:.3f} (chosen on out-of-fold "
                "predictions of the training rows)."
            )
        lines.append(text)
    lines += [
        "",
        f"Primary metric: {problem.metric} ({'higher' if problem.greater_is_better else 'lower'} "
        "is better).",
        "",
        f"Inputs: {', '.join(f'`{n}`' for n in names)}. The full contract (types, categories "
        "seen, ranges) is `input_schema.json` in the bundle.",
        "",
    ]
    return lines


def _model_lines(bundle: Bundle) -> list[str]:
    """The model line: one model and its rounds, or an ensemble's members and weights."""
    meta = bundle.metadata
    model = bundle.model
    if not isinstance(model, EnsembleModel):
        return [
            f"- model: {meta.get('model_name', model.name)} "
            f"(best iteration {_fmt(meta.get('best_iteration'))})"
        ]
    lines = [
        f"- model: {meta.get('model_name', model.name)}, the weighted sum of "
        f"{len(model.members)} member(s)' "
        f"{'probabilities' if model.is_classifier else 'predictions'} (weights chosen on "
        "out-of-fold predictions, summing to one):"
    ]
    for member in model.members:
        rounds = getattr(member.model, "best_iteration_", None)
        lines.append(
            f"  - {member.name}: weight {member.weight:.3f}"
            + (f" (best iteration {rounds})" if rounds is not None else "")
        )
    return lines


def _data_section(bundle: Bundle) -> list[str]:
    meta = bundle.metadata
    return [
        "## Training data and model version",
        "",
        *_model_lines(bundle),
        f"- source table sha256: `{meta.get('source_sha256', MISSING)}`",
        f"- prepared training table sha256: `{meta.get('train_sha256', MISSING)}`",
        f"- params sha256: `{meta.get('params_sha256', MISSING)}`",
        f"- bundle: `{bundle.name()}`, its name in the prediction log, `/health` and the "
        "monitoring report (`model@v1.2.0 (sha256:…)` once registered with GTO)",
        f"- bundle files: {len(bundle.files)} (sha256 of each in `bundle.json`, checked on load)",
        "",
    ]


def _estimate_section(paths: ProjectPaths) -> list[str]:
    lines = [
        "## How good is it",
        "",
        "Three numbers answer three questions. The honest estimate says how well the whole "
        "recipe (tuning + training) does on new rows; the cross-validated score describes this "
        "final model on its training rows, next to simple baselines; the test result is the "
        "one look at rows held back from every choice. Expect new data to score near the "
        "honest estimate, not above it.",
        "",
    ]
    nested = _read(paths.report_dir("tune") / "nested_cv.json")
    if nested and nested.get("nested", True) and nested.get("mean") is not None:
        lines.append(
            f"- **Honest estimate** (nested cross-validation of tuning + training, "
            f"`reports/tune/nested_cv.json`): {nested['metric']} {_fmt(nested['mean'])} ± "
            f"{_fmt(nested['std'])}, 95 % interval {_fmt(nested.get('ci95_low'))} to "
            f"{_fmt(nested.get('ci95_high'))}."
        )
    else:
        lines.append("- Honest estimate: not available (tune.nested is false).")
    train = _read(paths.report_dir("train") / "metrics.json")
    if train:
        cv = train["cv"][train["primary_metric"]]
        lines.append(
            f"- Final model, cross-validated on the training rows: {train['primary_metric']} "
            f"{_fmt(cv['mean'])} ± {_fmt(cv['std'])} ({train['folds']} folds)."
        )
        for base, margin in (train.get("vs_baselines") or {}).items():
            if margin.get("comparable"):
                lines.append(
                    f"- vs baseline {base}: {margin['margin_mean']:+.4f} ± "
                    f"{margin['margin_std']:.4f}, better on {margin['folds_better']}/"
                    f"{margin['folds']} folds."
                )
    test = _read(paths.report_dir("evaluate") / "metrics.json")
    if test:
        pm = test["primary_metric"]
        lines.append(
            f"- **Sealed test set** (one look, {test['rows']:,} rows): {pm['name']} "
            f"{_fmt(pm['value'])}, 95 % bootstrap interval {_fmt(pm['ci95_low'])} to "
            f"{_fmt(pm['ci95_high'])}."
        )
    else:
        lines.append("- Sealed test set: not scored yet (the evaluate stage has not run).")
    lines.append("")
    return lines


def _segments_section(paths: ProjectPaths) -> list[str]:
    lines = ["## Where it does worse", ""]
    segments = _read(paths.report_dir("evaluate") / "segments.json")
    if segments is None:
        return [*lines, "No segment report (the evaluate stage has not run).", ""]
    rows = [s for s in segments.get("segments", []) if s.get("delta") is not None]
    rows.sort(key=lambda s: s["delta"])
    flagged = [s for s in rows if s.get("flag")]
    shown = flagged or rows[:3]
    if not shown:
        return [*lines, "No segments were reported.", ""]
    if not flagged:
        lines.append("No segment is flagged as significantly worse; the three lowest:")
        lines.append("")
    for s in shown:
        lines.append(
            f"- `{s['column']}` = `{s['segment']}` ({s['rows']:,} test rows): {_fmt(s['value'])} "
            f"({s['delta']:+.4f} vs all rows)" + (" **flagged**" if s.get("flag") else "")
        )
    return [*lines, ""]


def _audit_section(paths: ProjectPaths) -> list[str]:
    lines = ["## Data audit warnings", ""]
    details = _read(paths.report_dir("audit") / "audit_details.json")
    if details is None:
        return [*lines, "No audit report.", ""]
    findings = details.get("findings") or []
    if not findings:
        return [*lines, "The audit found nothing to warn about.", ""]
    for finding in findings:
        lines.append(f"- {finding.get('kind')}: {finding.get('message')}")
    return [*lines, ""]


def _features_section(paths: ProjectPaths) -> list[str]:
    lines = ["## Top features", ""]
    importance = _read(paths.report_dir("explain") / "importance.json")
    if not importance or not importance.get("top_features"):
        return [*lines, "Not available (no `reports/explain/importance.json`).", ""]
    for item in importance["top_features"][:10]:
        lines.append(f"- `{item['feature']}`: {item['importance']:.4g}")
    return [*lines, "", "(mean |SHAP| on the final model)", ""]


def _production_section(paths: ProjectPaths) -> list[str]:
    """The gate's verdict, from the validate stage's tracked metrics and export record.

    Latency, throughput and memory are measurements of the machine that ran ``validate`` at
    that moment; the card names where they are instead of quoting them, so it is the same
    file on every machine that reproduces the run.
    """
    lines = ["## In production", ""]
    gate = _read(paths.report_dir("validate") / "metrics.json")
    if gate is None:
        return [*lines, "Not validated (the validate stage has not run).", ""]
    verdict = "pass" if gate["verdict_pass"] else "FAIL"
    lines += [
        f"- gate verdict: **{verdict}** (every budget in `params.yaml` → `production`)",
        "- latency (one row, p99), batch rows per second and peak memory, as measured on the "
        "machine that ran `validate`: `reports/validate/report.md`",
        f"- bundle size {gate['model_mb']:.2f} MB",
        f"- edge cases: {gate['edge_cases_passed']}/{gate['edge_cases']} behave as documented "
        "(missing column and text in a numeric column are refused naming the column; unseen "
        "categories, extra columns, far values and missing values are scored and reported)",
    ]
    onnx = _read(paths.models_dir / "export" / "export.json") or {}
    if onnx.get("exported"):
        lines.append(f"- ONNX export: yes (max abs difference {onnx['max_abs_diff']:.1e})")
    else:
        lines.append(f"- ONNX export: no. {onnx.get('reason', '')}")
    return [*lines, ""]


def render_card(paths: ProjectPaths, bundle: Bundle) -> str:
    """The model card as Markdown."""
    problem = bundle.problem
    lines = [f"# Model card: {problem.target} ({problem.task})", ""]
    lines += _problem_section(bundle)
    lines += _data_section(bundle)
    lines += _estimate_section(paths)
    lines += _segments_section(paths)
    lines += _audit_section(paths)
    lines += _features_section(paths)
    lines += _production_section(paths)
    trained = bundle.metadata.get("libraries") or {}
    now = library_versions()
    lines += ["## Library versions", "", "| library | trained with | card written with |"]
    lines += ["| --- | --- | --- |"]
    for name in sorted(set(trained) | set(now)):
        lines.append(f"| {name} | {trained.get(name, MISSING)} | {now.get(name, MISSING)} |")
    return "\n".join(lines) + "\n"
