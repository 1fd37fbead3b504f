"""The audit as Markdown, and the one-line failure message with what to do."""

from __future__ import annotations

from typing import Any

from foldwise.audit.build import failed_findings
from foldwise.markdown import MISSING, escape, number, percent, table


def _block(header: list[str], rows: list[list[str]]) -> list[str]:
    """A table followed by the blank line that ends it."""
    return [*table(header, rows), ""]


def _code(name: Any) -> str:
    return f"`{escape(name)}`"


def _cells_to_missing_lines(cleaning: dict[str, Any]) -> list[str]:
    """Infinities, mostly-number category columns and test-table cells that became missing."""
    lines: list[str] = []
    coercions = cleaning.get("coercions") or []
    infinite = [c for c in coercions if c.get("infinite_to_missing")]
    if infinite:
        lines += ["Infinite or out-of-range numbers made missing:", ""]
        lines += _block(
            ["column", "cells"],
            [[_code(c["column"]), number(c["infinite_to_missing"])] for c in infinite],
        )
    notes = [c for c in coercions if c.get("note")]
    if notes:
        lines += ["Columns read as categories although they hold numbers:", ""]
        lines += _block(
            ["column", "why", "e.g."],
            [
                [_code(c["column"]), escape(c["note"]), escape(", ".join(c.get("examples") or []))]
                for c in notes
            ],
        )
    test_cells = ((cleaning.get("test_table") or {}).get("cells_to_missing")) or {}
    if test_cells:
        lines += [
            "Test-table cells that did not fit the training column's type (made missing):",
            "",
        ]
        lines += _block(["column", "cells"], [[_code(k), number(v)] for k, v in test_cells.items()])
    return lines


def _duplicates_cell(split: dict[str, Any]) -> str:
    """Test rows equal to a training row, their share and the share the table predicts."""
    dup = split.get("train_test_duplicates") or {}
    if dup.get("test_rows") is None:
        return MISSING
    text = f"{dup['test_rows']} ({percent(dup.get('share_of_test'))}"
    if dup.get("expected_share") is not None:
        text += f"; expected {percent(dup['expected_share'])} from repeats among training rows"
    if dup.get("test_rows_repeating_a_test_row"):
        text += f"; {dup['test_rows_repeating_a_test_row']} test rows repeat a test row"
    return text + ")"


def render_markdown(audit: dict[str, Any]) -> str:
    """A human-readable report: status, findings, then the detailed tables."""
    lines = _findings_lines(audit)
    lines += _dataset_lines(audit)
    lines += _target_lines(audit.get("target", {}))
    lines += _leakage_lines(audit.get("leakage", {}))
    lines += _split_lines(audit)
    lines += _columns_lines(audit)
    return "\n".join(lines).rstrip() + "\n"


def _findings_lines(audit: dict[str, Any]) -> list[str]:
    """The title, the verdict and every finding, failing ones first."""
    failing = failed_findings(audit, audit.get("fail_on", []))
    failing_ids = {id(f) for f in failing}
    findings = audit.get("findings", [])
    status = "PASSED" if audit.get("passed") else "FAILED"
    fail_on = ", ".join(audit.get("fail_on") or []) or "nothing"
    lines = [
        f"# Data audit: {status}",
        "",
        f"{audit.get('n_findings', 0)} finding(s), {len(failing)} failing "
        f"(audit.fail_on: {fail_on}), {audit.get('summary', {}).get('n_excluded', 0)} "
        f"excluded. Training table: {audit.get('rows_train')} rows × "
        f"{audit.get('n_columns')} columns; target {_code(audit.get('target_column'))} "
        f"({audit.get('task')}).",
        "",
        "## Findings",
        "",
    ]
    if not findings:
        return [*lines, "No findings.", ""]
    ranked = sorted(findings, key=lambda f: (id(f) not in failing_ids, f["excluded"]))
    rows = [
        [
            "FAIL" if id(f) in failing_ids else ("excluded" if f["excluded"] else "warn"),
            f["kind"],
            _code(f["column"]) if f["column"] is not None else MISSING,
            escape(f["message"]),
        ]
        for f in ranked
    ]
    return lines + _block(["status", "kind", "column", "finding"], rows)


def _dataset_lines(audit: dict[str, Any]) -> list[str]:
    """The table's shape, its special columns and what prepare cleaned."""
    ds, cl = audit.get("dataset", {}), audit.get("cleaning", {})

    def names(key: str) -> str:
        return escape(", ".join(ds.get(key) or []) or MISSING)

    lines = ["## Dataset", ""]
    lines += _block(
        ["item", "value"],
        [
            ["rows (train)", number(ds.get("rows"))],
            ["columns", number(ds.get("columns"))],
            ["features", number(ds.get("features"))],
            [
                "features by kind",
                ", ".join(f"{k} {v}" for k, v in ds.get("features_by_kind", {}).items()),
            ],
            ["id columns", names("id_columns")],
            ["drop columns", names("drop_columns")],
            ["time column", escape(ds.get("time_column") or MISSING)],
            ["group column", escape(ds.get("group_column") or MISSING)],
            ["rows read", number(cl.get("rows_read"))],
            ["duplicate rows found", number(cl.get("duplicate_rows"))],
            ["duplicate rows removed", number(cl.get("duplicate_rows_removed"))],
            ["missing-target rows dropped", number(cl.get("missing_target_rows_dropped"))],
        ],
    )
    test_table = cl.get("test_table")
    if test_table:
        lines += [
            f"Provided test table: {number(test_table.get('rows_read'))} rows read, "
            f"{number(test_table.get('duplicate_rows'))} exact duplicate rows (kept: a provided "
            f"test table is scored whole), {number(test_table.get('missing_target_rows_dropped'))}"
            " rows without a target left out.",
            "",
        ]
    if cl.get("coercions"):
        lines += ["Text columns converted by prepare:", ""]
        lines += _block(
            ["column", "to", "blank → missing", "unparseable"],
            [
                [
                    _code(c.get("column")),
                    escape(c.get("to")),
                    number(c.get("blank_to_missing")),
                    number(c.get("unparseable")),
                ]
                for c in cl["coercions"]
            ],
        )
    return lines + _cells_to_missing_lines(cl)


def _target_lines(tgt: dict[str, Any]) -> list[str]:
    """The target's distribution: quantiles (regression) or class shares."""
    lines = ["## Target", ""]
    if tgt.get("task") == "regression":
        q = tgt.get("quantiles", {})
        values = [tgt.get("mean"), tgt.get("std"), tgt.get("skew")]
        values += [q.get("0.0"), q.get("0.5"), q.get("1.0")]
        return lines + _block(
            ["mean", "std", "skew", "min", "median", "max", "outliers"],
            [[*map(number, values), percent(tgt.get("outlier_share"))]],
        )
    if tgt:
        shares = tgt.get("shares", {})
        lines += _block(
            ["class", "rows", "share"],
            [[_code(k), number(v), percent(shares.get(k))] for k, v in tgt["counts"].items()],
        )
        lines += [f"Majority/minority ratio: {number(tgt.get('imbalance_ratio'))}.", ""]
    return lines


def _leakage_lines(leak: dict[str, Any]) -> list[str]:
    """Each column's score on its own, against the leakage threshold."""
    lines = [
        "## Leakage: each column on its own",
        "",
        f"Cross-validated {leak.get('metric')} of a small model fitted on one column "
        f"({leak.get('folds')} folds, {leak.get('rows_used')} rows); threshold "
        f"{number(leak.get('threshold'))}.",
        "",
    ]
    return lines + _block(
        ["column", "role", leak.get("metric", "score"), "robust z", "flagged"],
        [
            [
                _code(k),
                v["role"],
                number(v["score"]),
                number(v["robust_z"], ".1f"),
                "yes" if v["flagged"] else "",
            ]
            for k, v in leak.get("columns", {}).items()
        ],
    )


def _split_lines(audit: dict[str, Any]) -> list[str]:
    """Train vs test: the split, adversarial validation, overlaps and drift per column."""
    split = audit.get("split", {})
    adv = audit.get("adversarial", {})
    lines = ["## Train vs test", ""]
    lines += _block(
        ["check", "value"],
        [
            ["split strategy", escape(split.get("strategy", MISSING))],
            [
                "train / test rows",
                f"{number(split.get('train_rows'))} / {number(split.get('test_rows'))}",
            ],
            ["adversarial ROC-AUC", number(adv.get("roc_auc"))],
            [
                "adversarial ROC-AUC without time column",
                number(adv.get("roc_auc_without_time_column")),
            ],
            ["max PSI", number(audit.get("max_psi"))],
            ["test rows equal to a training row", _duplicates_cell(split)],
            [
                "test rows dated before the last training row",
                number(audit.get("temporal_overlap_rows")),
            ],
        ],
    )
    temporal = split.get("temporal")
    if temporal:
        lines += [
            f"Dates ({_code(temporal['column'])}): train {temporal.get('train_min')} → "
            f"{temporal.get('train_max')}; test {temporal.get('test_min')} → "
            f"{temporal.get('test_max')}.",
            "",
        ]
    group = split.get("group_overlap")
    if group:
        lines += [
            f"Groups ({_code(group['column'])}): {group['test_rows']} test rows belong to "
            f"{group['test_groups_in_train']} groups also seen in training.",
            "",
        ]
    return lines + _drift_lines(audit.get("drift", {}))


def _drift_lines(drift: dict[str, Any]) -> list[str]:
    """Per-column drift between train and test, most drifted first."""
    if not drift:
        return []
    ranked = sorted(drift.items(), key=lambda kv: -(kv[1].get("psi") or 0))
    return _block(
        ["column", "kind", "PSI", "KS", "KS p-value", "missing train", "missing test"],
        [
            [
                _code(k),
                d.get("kind", ""),
                number(d.get("psi")),
                number(d.get("ks_statistic")),
                number(d.get("ks_pvalue")),
                percent(d.get("missing_share_train")),
                percent(d.get("missing_share_test")),
            ]
            for k, d in ranked
        ],
    )


def _columns_lines(audit: dict[str, Any]) -> list[str]:
    """Repeated training rows, then one line per column profile."""
    dup = audit.get("duplicates", {})
    lines = [
        "## Repeated rows in training",
        "",
        f"{number(dup.get('rows'))} rows repeat another row on every non-id column; "
        f"{number(dup.get('rows_with_conflicting_target'))} rows share their feature values "
        "with a row of a different target.",
        "",
        "## Columns",
        "",
    ]
    return lines + _block(
        ["column", "role", "kind", "missing", "distinct", "top share", "median", "outliers"],
        [
            [
                _code(k),
                p["role"],
                p["kind"],
                percent(p["missing_share"]),
                number(p["unique"]),
                percent(p["top_value_share"]),
                number(p.get("median")),
                percent(p.get("outlier_share")),
            ]
            for k, p in audit.get("columns", {}).items()
        ],
    )


_THRESHOLD_KEY = {
    "drift": "audit.drift_psi",
    "adversarial": "audit.adversarial_auc",
    "missing": "audit.missing_share",
    "constant": "audit.near_constant_share",
    "high_cardinality": "audit.high_cardinality",
    "imbalance": "audit.imbalance_ratio",
    "outliers": "audit.outlier_share",
}


def _fix(kind: str, columns: list[str]) -> str:
    """What a user can do about failing findings of one kind."""
    accept = f"remove {kind!r} from audit.fail_on to accept it"
    if kind == "leakage":
        names = ", ".join(repr(c) for c in columns)
        return (
            f"add {names} to data.drop_columns if derived from the target or recorded after the "
            f"outcome, or {accept}"
        )
    if kind == "train_test_duplicates":
        return (
            "remove the test rows copied from the training table (is data.test_source a copy of "
            f"data.source?), or {accept}"
        )
    if kind == "temporal_overlap":
        return f"keep split.strategy temporal (or auto) with data.time_column, or {accept}"
    key = _THRESHOLD_KEY.get(kind)
    return f"raise {key}, or {accept}" if key else accept


def failure_line(findings: list[dict[str, Any]]) -> str:
    """One line naming each failing finding, then what to do about each kind."""
    parts = []
    for f in findings:
        where = f" in column {f['column']!r}" if f["column"] is not None else ""
        parts.append(f"{f['kind']}{where} ({f['detail']})")
    kinds: dict[str, list[str]] = {}
    for f in findings:
        kinds.setdefault(f["kind"], [])
        if f["column"] is not None and f["column"] not in kinds[f["kind"]]:
            kinds[f["kind"]].append(f["column"])
    fixes = "; ".join(_fix(kind, columns) for kind, columns in kinds.items())
    return "audit failed on audit.fail_on: " + "; ".join(parts) + ". To fix: " + fixes
