"""The audit as Markdown, and the one-line failure message with what to do."""

from __future__ import annotations

from typing import Any

from foldwise.audit.build import failed_findings


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _num(v: Any, fmt: str = ".3g") -> str:
    if v is None:
        return "–"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return _md(v)
    return format(v, "d") if isinstance(v, int) else format(v, fmt)


def _pct(v: Any) -> str:
    return "–" if v is None else f"{v:.1%}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return [*lines, ""]


def _cells_to_missing_lines(cleaning: dict[str, Any]) -> list[str]:
    """Infinities, mostly-number category columns and test-table cells that became missing."""
    lines: list[str] = []
    coercions = cleaning.get("coercions") or []
    infinite = [c for c in coercions if c.get("infinite_to_missing")]
    if infinite:
        lines += ["Infinite or out-of-range numbers made missing:", ""]
        lines += _table(
            ["column", "cells"],
            [[f"`{_md(c['column'])}`", _num(c["infinite_to_missing"])] for c in infinite],
        )
    notes = [c for c in coercions if c.get("note")]
    if notes:
        lines += ["Columns read as categories although they hold numbers:", ""]
        lines += _table(
            ["column", "why", "e.g."],
            [
                [f"`{_md(c['column'])}`", _md(c["note"]), _md(", ".join(c.get("examples") or []))]
                for c in notes
            ],
        )
    test_cells = ((cleaning.get("test_table") or {}).get("cells_to_missing")) or {}
    if test_cells:
        lines += [
            "Test-table cells that did not fit the training column's type (made missing):",
            "",
        ]
        lines += _table(
            ["column", "cells"], [[f"`{_md(k)}`", _num(v)] for k, v in test_cells.items()]
        )
    return lines


def _duplicates_cell(split: dict[str, Any]) -> str:
    """Test rows equal to a training row, their share and the share the table predicts."""
    dup = split.get("train_test_duplicates") or {}
    if dup.get("test_rows") is None:
        return "–"
    text = f"{dup['test_rows']} ({_pct(dup.get('share_of_test'))}"
    if dup.get("expected_share") is not None:
        text += f"; expected {_pct(dup['expected_share'])} from repeats among training rows"
    if dup.get("test_rows_repeating_a_test_row"):
        text += f"; {dup['test_rows_repeating_a_test_row']} test rows repeat a test row"
    return text + ")"


def render_markdown(audit: dict[str, Any]) -> str:
    """A human-readable report: status, findings, then the detailed tables."""
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
        f"{audit.get('n_columns')} columns; target `{_md(audit.get('target_column'))}` "
        f"({audit.get('task')}).",
        "",
        "## Findings",
        "",
    ]
    if findings:
        ranked = sorted(findings, key=lambda f: (id(f) not in failing_ids, f["excluded"]))
        rows = [
            [
                "FAIL" if id(f) in failing_ids else ("excluded" if f["excluded"] else "warn"),
                f["kind"],
                f"`{_md(f['column'])}`" if f["column"] is not None else "–",
                _md(f["message"]),
            ]
            for f in ranked
        ]
        lines += _table(["status", "kind", "column", "finding"], rows)
    else:
        lines += ["No findings.", ""]

    ds, cl = audit.get("dataset", {}), audit.get("cleaning", {})
    lines += ["## Dataset", ""]
    lines += _table(
        ["item", "value"],
        [
            ["rows (train)", _num(ds.get("rows"))],
            ["columns", _num(ds.get("columns"))],
            ["features", _num(ds.get("features"))],
            [
                "features by kind",
                ", ".join(f"{k} {v}" for k, v in ds.get("features_by_kind", {}).items()),
            ],
            ["id columns", _md(", ".join(ds.get("id_columns") or []) or "–")],
            ["drop columns", _md(", ".join(ds.get("drop_columns") or []) or "–")],
            ["time column", _md(ds.get("time_column") or "–")],
            ["group column", _md(ds.get("group_column") or "–")],
            ["rows read", _num(cl.get("rows_read"))],
            ["duplicate rows found", _num(cl.get("duplicate_rows"))],
            ["duplicate rows removed", _num(cl.get("duplicate_rows_removed"))],
            ["missing-target rows dropped", _num(cl.get("missing_target_rows_dropped"))],
        ],
    )
    test_table = cl.get("test_table")
    if test_table:
        lines += [
            f"Provided test table: {_num(test_table.get('rows_read'))} rows read, "
            f"{_num(test_table.get('duplicate_rows'))} exact duplicate rows (kept: a provided "
            f"test table is scored whole), {_num(test_table.get('missing_target_rows_dropped'))}"
            " rows without a target left out.",
            "",
        ]
    if cl.get("coercions"):
        lines += ["Text columns converted by prepare:", ""]
        lines += _table(
            ["column", "to", "blank → missing", "unparseable"],
            [
                [
                    f"`{_md(c.get('column'))}`",
                    _md(c.get("to")),
                    _num(c.get("blank_to_missing")),
                    _num(c.get("unparseable")),
                ]
                for c in cl["coercions"]
            ],
        )
    lines += _cells_to_missing_lines(cl)

    tgt = audit.get("target", {})
    lines += ["## Target", ""]
    if tgt.get("task") == "regression":
        q = tgt.get("quantiles", {})
        lines += _table(
            ["mean", "std", "skew", "min", "median", "max", "outliers"],
            [
                [
                    _num(tgt.get("mean")),
                    _num(tgt.get("std")),
                    _num(tgt.get("skew")),
                    _num(q.get("0.0")),
                    _num(q.get("0.5")),
                    _num(q.get("1.0")),
                    _pct(tgt.get("outlier_share")),
                ]
            ],
        )
    elif tgt:
        shares = tgt.get("shares", {})
        lines += _table(
            ["class", "rows", "share"],
            [[f"`{_md(k)}`", _num(v), _pct(shares.get(k))] for k, v in tgt["counts"].items()],
        )
        lines += [f"Majority/minority ratio: {_num(tgt.get('imbalance_ratio'))}.", ""]

    leak = audit.get("leakage", {})
    lines += [
        "## Leakage: each column on its own",
        "",
        f"Cross-validated {leak.get('metric')} of a small model fitted on one column "
        f"({leak.get('folds')} folds, {leak.get('rows_used')} rows); threshold "
        f"{_num(leak.get('threshold'))}.",
        "",
    ]
    lines += _table(
        ["column", "role", leak.get("metric", "score"), "robust z", "flagged"],
        [
            [
                f"`{_md(k)}`",
                v["role"],
                _num(v["score"]),
                _num(v["robust_z"], ".1f"),
                "yes" if v["flagged"] else "",
            ]
            for k, v in leak.get("columns", {}).items()
        ],
    )

    split = audit.get("split", {})
    adv = audit.get("adversarial", {})
    lines += ["## Train vs test", ""]
    lines += _table(
        ["check", "value"],
        [
            ["split strategy", _md(split.get("strategy", "–"))],
            [
                "train / test rows",
                f"{_num(split.get('train_rows'))} / {_num(split.get('test_rows'))}",
            ],
            ["adversarial ROC-AUC", _num(adv.get("roc_auc"))],
            [
                "adversarial ROC-AUC without time column",
                _num(adv.get("roc_auc_without_time_column")),
            ],
            ["max PSI", _num(audit.get("max_psi"))],
            ["test rows equal to a training row", _duplicates_cell(split)],
            [
                "test rows dated before the last training row",
                _num(audit.get("temporal_overlap_rows")),
            ],
        ],
    )
    temporal = split.get("temporal")
    if temporal:
        lines += [
            f"Dates (`{_md(temporal['column'])}`): train {temporal.get('train_min')} → "
            f"{temporal.get('train_max')}; test {temporal.get('test_min')} → "
            f"{temporal.get('test_max')}.",
            "",
        ]
    group = split.get("group_overlap")
    if group:
        lines += [
            f"Groups (`{_md(group['column'])}`): {group['test_rows']} test rows belong to "
            f"{group['test_groups_in_train']} groups also seen in training.",
            "",
        ]
    drift = audit.get("drift", {})
    if drift:
        ranked_drift = sorted(drift.items(), key=lambda kv: -(kv[1].get("psi") or 0))
        lines += _table(
            ["column", "kind", "PSI", "KS", "KS p-value", "missing train", "missing test"],
            [
                [
                    f"`{_md(k)}`",
                    d.get("kind", ""),
                    _num(d.get("psi")),
                    _num(d.get("ks_statistic")),
                    _num(d.get("ks_pvalue")),
                    _pct(d.get("missing_share_train")),
                    _pct(d.get("missing_share_test")),
                ]
                for k, d in ranked_drift
            ],
        )

    dup = audit.get("duplicates", {})
    lines += [
        "## Repeated rows in training",
        "",
        f"{_num(dup.get('rows'))} rows repeat another row on every non-id column; "
        f"{_num(dup.get('rows_with_conflicting_target'))} rows share their feature values "
        "with a row of a different target.",
        "",
        "## Columns",
        "",
    ]
    lines += _table(
        ["column", "role", "kind", "missing", "distinct", "top share", "median", "outliers"],
        [
            [
                f"`{_md(k)}`",
                p["role"],
                p["kind"],
                _pct(p["missing_share"]),
                _num(p["unique"]),
                _pct(p["top_value_share"]),
                _num(p.get("median")),
                _pct(p.get("outlier_share")),
            ]
            for k, p in audit.get("columns", {}).items()
        ],
    )
    return "\n".join(lines).rstrip() + "\n"


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
