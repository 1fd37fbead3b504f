"""Which top features moved between two runs (for ``foldwise compare``)."""

from __future__ import annotations

from typing import Any

from foldwise.markdown import cell

IMPORTANCE = "reports/explain/importance.json"


def _ranking(payload: dict[str, Any] | None) -> dict[str, tuple[int, float]]:
    items = (payload or {}).get("top_features") or []
    return {
        str(item["feature"]): (rank, float(item["importance"]))
        for rank, item in enumerate(items, start=1)
        if isinstance(item, dict) and "feature" in item and "importance" in item
    }


def feature_moves(
    base: dict[str, Any] | None, target: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Features in either run's ``top_features``: rank and mean |SHAP| in each, and the move.

    ``rank`` is None where a feature is not among that run's top features. Sorted with the
    biggest moves (and features entering or leaving the top) first; empty if a run has no
    explain report.
    """
    a, b = _ranking(base), _ranking(target)
    if not a or not b:
        return []
    rows: list[dict[str, Any]] = []
    for feature in dict.fromkeys([*b, *a]):
        rank_a, imp_a = a.get(feature, (None, None))
        rank_b, imp_b = b.get(feature, (None, None))
        if rank_a is None or rank_b is None:
            status, size = ("entered" if rank_a is None else "left"), float("inf")
        else:
            size = abs(rank_b - rank_a)
            status = "up" if rank_b < rank_a else "down" if rank_b > rank_a else "same"
        rows.append(
            {
                "feature": feature,
                "base_rank": rank_a,
                "target_rank": rank_b,
                "base_importance": imp_a,
                "target_importance": imp_b,
                "move": status,
                "_size": size,
            }
        )
    rows.sort(key=lambda r: (-r["_size"], r["target_rank"] or r["base_rank"] or 0))
    for row in rows:
        del row["_size"]
    return rows


def render_moves(moves: list[dict[str, Any]], shown: int = 10) -> list[str]:
    """Markdown lines of the moves table (the features that moved, or a line saying none did)."""
    moved = [m for m in moves if m["move"] != "same"]
    if not moves:
        return ["No explain report in one of the runs (reports/explain/importance.json)."]
    if not moved:
        return ["The top features and their order are the same in both runs."]
    lines = [
        f"{len(moved)} of {len(moves)} top features moved (rank by mean |SHAP| of the final model).",
        "",
        "| feature | base rank | target rank | base mean \\|SHAP\\| | target mean \\|SHAP\\| | move |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for m in moved[:shown]:
        lines.append(
            f"| `{m['feature']}` | {cell(m['base_rank'])} | {cell(m['target_rank'])} | "
            f"{cell(m['base_importance'], '.4g')} | {cell(m['target_importance'], '.4g')} "
            f"| {m['move']} |"
        )
    return lines
