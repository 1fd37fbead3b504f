"""Write the explain stage's files: explain.md, importance.json, details and per-row tables."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from foldwise.explain.plots import all_plots
from foldwise.explain.result import Explanation
from foldwise.markdown import MISSING, cell, table
from foldwise.stage import (
    rounded,
    rounded_frame,
    write_csv_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)

REPORT = "explain.md"
IMPORTANCE = "importance.json"
DETAILS = "details.json"
WORST = "worst_mistakes.csv"
OOF_SHAP = "shap_values.parquet"
BACKGROUND = "background.parquet"
PLOTS = "plots"
BACKGROUND_ROWS = 200
WORST_SHOWN = 10


def _f(value: float | None, digits: int = 4) -> str:
    return cell(value, f".{digits}g")


def _share(value: float | None) -> str:
    return MISSING if value is None else f"{100 * value:.1f} %"


def _features_table(details: dict[str, Any], rows: int) -> list[str]:
    header = ["rank", "feature", "mean \\|SHAP\\| (final)", "fold models: mean ± std"]
    header += ["fold ranks", "linear baseline rank", "permutation rank"]
    body = []
    for r in details["features"][:rows]:
        ranks = r["fold_ranks"]
        spread = f"{min(ranks)}–{max(ranks)}" if ranks else MISSING
        body.append(
            [
                str(r["rank"]),
                f"`{r['feature']}`",
                _f(r["importance"]),
                f"{_f(r['fold_mean'])} ± {_f(r['fold_std'])}",
                spread,
                str(r["linear_rank"]),
                str(r["permutation_rank"]),
            ]
        )
    return table(header, body, align="rlrrlrr")


def render_markdown(result: Explanation, plots: list[str]) -> str:
    """The reviewer's first read: what drives the model, where it fails, how fragile it is."""
    d = result.details
    lines = _summary_lines(result)
    lines += ["## What drives the predictions", "", *_features_table(d, d["top_k"]), ""]
    lines += _agreement_lines(result)
    lines += _suspect_lines(d)
    lines += _segment_lines(result)
    lines += _worst_lines(result)
    lines += _robustness_lines(d)
    lines += ["", "## Plots", ""]
    lines += [f"![{p}]({PLOTS}/{p})" for p in plots]
    lines.append("")
    return "\n".join(lines)


def _summary_lines(result: Explanation) -> list[str]:
    """Title, status, what the numbers were computed on, and the notes."""
    d, s = result.details, result.summary
    lines = [
        f"# Explain: {s['model']} ({s['task']})",
        "",
        f"**Status: {'passed' if s['passed'] else 'FAILED'}**"
        + ("" if s["passed"] else f" (explain.fail_on): {'; '.join(d['failing'])}"),
        "",
        "Computed on training rows only; the sealed test table is not read. Global importance "
        f"is the final model's mean |SHAP| on {s['rows_explained']} training rows "
        f"({s['method']}, in {s['units']}); the spread comes from each fold model on the rows it "
        f"did not see; errors and weak segments use the {s['rows_out_of_fold']} out-of-fold "
        "predictions of `train`; robustness uses the final model.",
        "",
    ]
    for note in [d["note"], *d["fold_notes"]]:
        if note:
            lines += [f"> Note: {note}.", ""]
    return lines


def _agreement_lines(result: Explanation) -> list[str]:
    """Rank agreement with the linear baseline and permutation importance."""
    d, s = result.details, result.summary
    lines = [
        "A fold-rank range like 1–2 is stable; a wide range means the folds disagree on that "
        "feature's place.",
        "",
        "## Agreement",
        "",
        f"- Spearman rank correlation with the linear baseline's SHAP ranking: "
        f"{_f(s['rank_correlation']['linear_baseline'], 3)} ({d['linear_note']}).",
        f"- With permutation importance of the fold models on held-out rows: "
        f"{_f(s['rank_correlation']['permutation'], 3)}.",
        "",
    ]
    statements = d["investigate_statements"]
    lines += [f"- {st['statement']}." for st in statements] or [
        "No strong disagreement on a top feature."
    ]
    return lines


def _suspect_lines(d: dict[str, Any]) -> list[str]:
    """Where the columns named in ``explain.suspect_columns`` rank."""
    lines = ["", "## Columns you do not trust", ""]
    sus = d["suspects"]
    if not sus["checked"]:
        lines.append("`explain.suspect_columns` is empty: nothing to check.")
    for item in sus["flagged"]:
        lines.append(
            f"- ⚠️ `{item['feature']}` is #{item['rank']} of the top {d['top_k']} features "
            "(the model relies on it)."
        )
    quiet = [c for c in sus["checked"] if c not in {i["feature"] for i in sus["flagged"]}]
    for column in quiet:
        where = (
            "not a feature" if column in sus["not_features"] else f"outside the top {d['top_k']}"
        )
        lines.append(f"- `{column}`: {where}.")
    return lines


def _segment_lines(result: Explanation) -> list[str]:
    """The weak segments found on out-of-fold predictions."""
    d, s = result.details, result.summary
    seg = d["segments"]
    lines = [
        "",
        "## Weak segments (out of fold)",
        "",
        f"{seg['slices_tested']} slices of one or two features tested (one-sided Welch t-test "
        "of the per-row loss against the other rows, Holm-corrected for every slice searched); "
        f"overall mean loss {_f(seg['overall_loss'])} ({d['worst']['loss']}).",
        "",
    ]
    if not seg["flagged"]:
        return [*lines, "No segment is significantly worse than the rest."]
    metric_name = s["task"] and seg["flagged"][0]["metric"]["name"]
    header = ["segment", "rows", "share", "mean loss", "× overall", "adjusted p"]
    header.append(f"{metric_name} (segment / all)")
    rows = [
        [
            f["segment"],
            str(f["rows"]),
            _share(f["share"]),
            _f(f["mean_loss"]),
            f"{f['loss_ratio']:.2f}",
            f"{f['p_adjusted']:.2g}",
            f"{_f(f['metric']['segment'])} / {_f(f['metric']['overall'])}",
        ]
        for f in seg["flagged"][:15]
    ]
    lines += table(header, rows, align="lrrrrrr")
    similar = [f for f in seg["flagged"][:15] if f["similar"]]
    if similar:
        lines.append("")
    for f in similar:
        names = "; ".join(f["similar"][:3]) + ("; …" if len(f["similar"]) > 3 else "")
        lines.append(f"- {f['segment']}: also flagged, sharing most rows with it: {names}.")
    return lines


def _worst_lines(result: Explanation) -> list[str]:
    """The worst out-of-fold mistakes with their top contributions."""
    worst = result.worst
    lines = [
        "",
        f"## Worst out-of-fold mistakes (top {WORST_SHOWN} of {len(worst)}; all in `{WORST}`)",
        "",
    ]
    id_cols = list(worst.columns[: list(worst.columns).index("row")])
    rows = []
    for _, row in worst.head(WORST_SHOWN).iterrows():
        contrib = "; ".join(
            f"{row[f'top{t}_feature']}={row[f'top{t}_value']} ({row[f'top{t}_shap']:+.3g})"
            for t in (1, 2, 3)
            if isinstance(row.get(f"top{t}_feature"), str)
        )
        pred = row["y_pred"] if isinstance(row["y_pred"], str) else f"{row['y_pred']:.4g}"
        rows.append(
            [
                *(str(row[c]) for c in id_cols),
                str(row["y_true"]),
                str(pred),
                f"{row['loss']:.3g}",
                contrib,
            ]
        )
    return lines + table([*id_cols, "y_true", "y_pred", "loss", "top contributions"], rows)


def _robustness_lines(d: dict[str, Any]) -> list[str]:
    """How many predictions move when the inputs are perturbed, overall and per feature."""
    rob = d["robustness"]
    lines = [
        "",
        "## Robustness (final model)",
        "",
        f"On {rob['rows']} training rows, with every number and date moved by "
        f"{rob['perturbation']:g} × its spread (interquartile range) at once: "
        + (
            f"{_share(rob['flip_share'])} of the predictions flip class and "
            if rob["flip_share"] is not None
            else ""
        )
        + f"{_share(rob['moved_share'])} move by more than {rob['tolerance']:.4g} "
        f"({rob['tolerance_units']}). Per feature below, one at a time; a category is swapped "
        "for its neighbour (the category with the closest mean prediction).",
        "",
    ]
    header = ["feature", "kind", "flips", "moved more than the tolerance", "mean change"]
    rows = [
        [
            f"`{r['feature']}`",
            r["kind"],
            _share(r["flip_share"]),
            _share(r["moved_share"]),
            _f(r["mean_change"]),
        ]
        for r in rob["features"][:10]
    ]
    lines += table(header, rows, align="llrrr")
    if rob["skipped"]:
        lines += ["", f"Not perturbed (booleans, constants): {', '.join(rob['skipped'])}."]
    return lines


def write_reports(result: Explanation, out: Path, plots: list[str]) -> None:
    """importance.json (headline metrics), details.json, explain.md and the per-row tables."""
    # Rounded once, so the Markdown shows the digits the JSON and CSV files hold.
    result = replace(
        result,
        summary=rounded(result.summary),
        details=rounded(result.details),
        worst=rounded_frame(result.worst),
    )
    write_parquet_atomic(out / OOF_SHAP, result.oof_shap)
    write_csv_atomic(out / WORST, result.worst)
    write_parquet_atomic(out / BACKGROUND, result.sample.iloc[:BACKGROUND_ROWS])
    write_json_atomic(out / DETAILS, result.details)
    write_text_atomic(out / REPORT, render_markdown(result, plots))
    write_json_atomic(out / IMPORTANCE, result.summary)


def write_explanation(result: Explanation, out: Path) -> list[str]:
    """The plots (into ``out/plots``), then every report file; returns the plot files."""
    plots = all_plots(
        result.final,
        result.sample,
        result.kinds,
        result.fold_importance,
        out / PLOTS,
        top=result.details["top_k"],
    )
    write_reports(result, out, plots)
    return plots
