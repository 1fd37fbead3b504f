"""The full audit: the training table's checks plus prepare's stored train-vs-test checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args

import pandas as pd

from foldwise.audit.common import feature_kinds, infer_kind, jsonable, make_finding
from foldwise.audit.duplicates import judge_train_test_duplicates, training_duplicates
from foldwise.audit.leakage import leakage_section
from foldwise.audit.quality import column_profiles, quality_findings, target_section
from foldwise.config import AuditConfig, AuditFinding

FINDING_KINDS: tuple[str, ...] = get_args(AuditFinding)


def _split_findings(
    checks: dict[str, Any], schema: dict[str, Any], config: AuditConfig
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    strategy = (schema.get("split") or {}).get("strategy")
    time_col = schema.get("time_column")
    out += judge_train_test_duplicates(checks.get("train_test_duplicates") or {}, config)
    temporal = checks.get("temporal") or {}
    n_over = temporal.get("overlap_rows")
    if n_over:
        col = temporal.get("column")
        out.append(
            make_finding(
                "temporal_overlap",
                col,
                f"{n_over} test rows ({temporal.get('overlap_share') or 0:.1%}) are dated before "
                f"the last training row ({temporal.get('train_max')}) under split strategy "
                f"{strategy!r}, so the model trains on the future of what it is tested on.",
                n_over,
                f"{n_over} test rows before last training date",
            )
        )
    for name, d in (checks.get("drift") or {}).items():
        psi = d.get("psi")
        if psi is None or psi <= config.drift_psi:
            continue
        expected = strategy == "temporal" and name == time_col
        out.append(
            make_finding(
                "drift",
                name,
                f"Column {name!r} is distributed differently in test than in train "
                f"(PSI {psi:.2f}, threshold {config.drift_psi:g})"
                + ("; expected, the split is temporal on this column." if expected else "."),
                psi,
                f"PSI {psi:.2f} > {config.drift_psi:g}",
                excluded=expected,
            )
        )
    adv = checks.get("adversarial") or {}
    auc, without = adv.get("roc_auc"), adv.get("roc_auc_without_time_column")
    judged = without if without is not None else auc
    if judged is not None and judged > config.adversarial_auc:
        tops = [
            d for d in adv.get("top_features", []) if without is None or d["column"] != time_col
        ]
        drivers = ", ".join(f"{d['column']!r} (PSI {d['psi']:.2f})" for d in tops[:3])
        scope = "" if without is None else f" without the time column {time_col!r}"
        out.append(
            make_finding(
                "adversarial",
                None,
                f"A model{scope} tells test rows from training rows with ROC-AUC {judged:.3f} "
                f"(threshold {config.adversarial_auc:.2f}); most shifted: {drivers or 'none'}.",
                judged,
                f"adversarial roc_auc {judged:.2f} > {config.adversarial_auc:.2f}",
            )
        )
    return out


def _cleaning(schema: dict[str, Any]) -> dict[str, Any]:
    c = schema.get("cleaning") or {}
    return {
        "rows_read": c.get("rows_read"),
        "duplicate_rows": c.get("duplicate_rows"),
        "duplicate_rows_removed": c.get("duplicate_rows_removed"),
        "missing_target_rows_dropped": c.get("missing_target_rows_dropped"),
        "test_table": c.get("test_table"),
        "coercions": list(c.get("coercions") or []),
    }


def failed_findings(audit: dict[str, Any], fail_on: Iterable[str]) -> list[dict[str, Any]]:
    """Findings whose kind is in ``fail_on`` and that are not excluded."""
    kinds = set(fail_on)
    return [f for f in audit.get("findings", []) if f["kind"] in kinds and not f["excluded"]]


def _finding_counts(
    findings: list[dict[str, Any]], failing: list[dict[str, Any]]
) -> dict[str, Any]:
    """Findings per kind (active and excluded) and the kinds that fail the audit."""
    active = [f for f in findings if not f["excluded"]]
    return {
        "by_kind": {k: sum(f["kind"] == k for f in active) for k in FINDING_KINDS},
        "excluded_by_kind": {
            k: sum(f["kind"] == k and f["excluded"] for f in findings) for k in FINDING_KINDS
        },
        "failing_kinds": sorted({f["kind"] for f in failing}),
        "n_excluded": len(findings) - len(active),
    }


def _dataset(
    train: pd.DataFrame, schema: dict[str, Any], kinds: dict[str, str], drop_cols: list[str]
) -> dict[str, Any]:
    """The training table's shape and the roles its columns play."""
    return {
        "rows": len(train),
        "columns": train.shape[1],
        "features": len(kinds),
        "features_by_kind": {
            k: sum(v == k for v in kinds.values())
            for k in ("numeric", "categorical", "boolean", "datetime")
        },
        "id_columns": list(schema.get("id_columns") or []),
        "drop_columns": drop_cols,
        "time_column": schema.get("time_column"),
        "group_column": schema.get("group_column"),
    }


def build_audit(
    train: pd.DataFrame,
    schema: dict[str, Any],
    split_checks: dict[str, Any],
    config: AuditConfig,
    seed: int,
) -> dict[str, Any]:
    """The full audit of the training table plus the stored train-vs-test checks."""
    target = schema["target"]
    if target not in train.columns:
        raise ValueError(f"target column {target!r} is not in the training table")
    kinds = feature_kinds(schema, train)
    drop_cols = [c for c in schema.get("drop_columns") or [] if c in train.columns]
    known = schema.get("columns") or {}
    drop_kinds = {c: known.get(c) or infer_kind(train[c]) for c in drop_cols if c not in kinds}

    profiles = column_profiles(train, schema, kinds)
    target_profile, target_findings = target_section(train, schema, config)
    leakage, leak_findings = leakage_section(train, schema, kinds, drop_kinds, config, seed)
    duplicates, dup_findings = training_duplicates(train, schema, kinds)
    findings = [
        *leak_findings,
        *_split_findings(split_checks, schema, config),
        *quality_findings(profiles, kinds, config),
        *target_findings,
        *dup_findings,
    ]
    order = {k: i for i, k in enumerate(FINDING_KINDS)}
    findings.sort(key=lambda f: (order.get(f["kind"], len(order)), f["excluded"]))

    audit: dict[str, Any] = {"findings": findings}
    failing = failed_findings(audit, config.fail_on)
    active = [f for f in findings if not f["excluded"]]
    adv = split_checks.get("adversarial") or {}
    temporal = split_checks.get("temporal") or {}
    out: dict[str, Any] = {
        "passed": not failing,
        "n_findings": len(active),
        "n_failing": len(failing),
        "rows_train": len(train),
        "n_columns": train.shape[1],
        "n_features": len(kinds),
        "adversarial_auc": adv.get("roc_auc"),
        "max_psi": split_checks.get("max_psi"),
        "leakage_columns": sum(f["kind"] == "leakage" for f in active),
        "max_leakage_score": leakage["max_feature_score"],
        "train_test_duplicates": (split_checks.get("train_test_duplicates") or {}).get("test_rows"),
        "temporal_overlap_rows": temporal.get("overlap_rows"),
        "target_column": target,
        "task": schema.get("task"),
        "fail_on": list(config.fail_on),
        "summary": _finding_counts(findings, failing),
        "findings": findings,
        "dataset": _dataset(train, schema, kinds, drop_cols),
        "cleaning": _cleaning(schema),
        "target": target_profile,
        "leakage": leakage,
        "duplicates": duplicates,
        "split": {
            **(schema.get("split") or {}),
            "temporal": split_checks.get("temporal"),
            "group_overlap": split_checks.get("group_overlap"),
            "train_test_duplicates": split_checks.get("train_test_duplicates"),
        },
        "adversarial": adv,
        "drift": split_checks.get("drift") or {},
        "columns": profiles,
        "thresholds": config.model_dump(exclude={"fail_on"}),
    }
    return jsonable(out)
