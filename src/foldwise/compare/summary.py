"""``comparison.json``: the comparison as JSON, for scripts."""

from __future__ import annotations

from typing import Any

from foldwise.compare.comparison import Comparison, MetricRow
from foldwise.compare.looks import LookCount


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
        "models": {
            "base": cmp.base.model.to_dict() if cmp.base.model else None,
            "target": cmp.target.model.to_dict() if cmp.target.model else None,
        },
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
