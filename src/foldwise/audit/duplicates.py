"""Repeated rows: inside the training table, and test rows equal to a training row.

Two honest customers with the same profile are ordinary in a table of a few low-cardinality
columns, so a test row equal to a training row is not leakage by itself. The training table
says how often that happens by chance: the share of its rows whose feature values equal
another training row's. Test rows match training rows at that rate when both sides come from
the same table; rows copied from one side to the other push the rate far above it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from foldwise.audit.common import make_finding, row_hashes, share_of
from foldwise.config import AuditConfig

# A one-sided Fisher exact test this small says the test side matches training rows more often
# than the training rows match each other; audit.duplicate_excess then asks "by how much".
SIGNIFICANCE = 1e-3
_DUPLICATE_SHARE = 0.01


def _repeated(hashes: np.ndarray) -> int:
    """Rows whose hash occurs at least twice."""
    if not hashes.size:
        return 0
    counts = pd.Series(hashes).value_counts()
    return int(counts[counts > 1].sum())


def train_test_duplicates(
    train: pd.DataFrame,
    test: pd.DataFrame,
    columns: list[str],
    reference: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Test rows whose feature values equal a training row, and the rate the table predicts.

    ``expected_share`` is the share of ``reference`` rows (default: the training rows) equal
    to another of them; ``excess_share`` estimates the share of test rows copied from training
    beyond that, ``(observed - expected) / (1 - expected)``; ``p_value`` is a one-sided Fisher
    exact test of the test side matching more often than the training rows match each other.
    """
    if not columns:
        return {"test_rows": None, "share_of_test": None, "columns": []}
    ref = train if reference is None else reference
    parts = [train[columns], test[columns], ref[columns]]
    h = row_hashes(pd.concat(parts, ignore_index=True))  # one dtype per column
    n_train, n_test = len(train), len(test)
    h_train, h_test = h[:n_train], h[n_train : n_train + n_test]
    h_ref = h[n_train + n_test :]
    n = int(np.isin(h_test, h_train).sum())
    repeated = _repeated(h_ref)
    expected = share_of(repeated, len(h_ref)) or 0.0
    observed = share_of(n, n_test) or 0.0
    excess = (observed - expected) / (1.0 - expected) if expected < 1.0 else 0.0
    p_value = None
    if n_test and len(h_ref):
        table = np.asarray([[n, n_test - n], [repeated, len(h_ref) - repeated]])
        p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
    return {
        "test_rows": n,
        "share_of_test": observed if n_test else None,
        "expected_share": expected,
        "expected_rows": expected * n_test,
        "excess_share": max(excess, 0.0),
        "p_value": p_value,
        "reference_rows": len(h_ref),
        "reference": "training rows" if reference is None else "training rows before deduplication",
        "test_rows_repeating_a_test_row": _repeated(h_test),
        "columns": columns,
    }


def judge_train_test_duplicates(dup: dict[str, Any], config: AuditConfig) -> list[dict[str, Any]]:
    """A finding when test rows equal training rows; excluded unless far above the expected rate."""
    n = dup.get("test_rows")
    if not n:
        return []
    share = dup.get("share_of_test") or 0.0
    expected = dup.get("expected_share") or 0.0
    excess = dup.get("excess_share")
    p = dup.get("p_value")
    far_above = (
        p is not None
        and p < SIGNIFICANCE
        and excess is not None
        and excess >= config.duplicate_excess
    )
    predicted = (
        f"the training table predicts {expected:.1%} ({dup.get('expected_rows') or 0:.0f} rows) "
        f"from how often its own rows repeat (one-sided Fisher p = {p:.2g})"
        if p is not None
        else f"the training table predicts {expected:.1%}"
    )
    if far_above:
        verdict = (
            f"; {excess:.1%} of the test rows are in excess of that "
            f"(threshold audit.duplicate_excess {config.duplicate_excess:.0%}): rows were "
            "likely copied between the tables, which makes the test score optimistic."
        )
    else:
        verdict = (
            "; within what repeated profiles explain, so not counted as leakage "
            f"(fails only when p < {SIGNIFICANCE:g} and the excess reaches "
            f"audit.duplicate_excess {config.duplicate_excess:.0%})."
        )
    message = (
        f"{n} test rows ({share:.1%}) have exactly the same feature values as a training row; "
        + predicted
        + verdict
    )
    detail = f"{n} test rows ({share:.1%}) equal a training row, expected {expected:.1%}"
    return [make_finding("train_test_duplicates", None, message, n, detail, excluded=not far_above)]


def training_duplicates(
    train: pd.DataFrame, schema: dict[str, Any], kinds: dict[str, str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Training rows repeating an earlier row on every non-id column (ids differ only)."""
    ids = set(schema.get("id_columns") or [])
    cols = [c for c in train.columns if c not in ids]
    n = len(train)
    dup = int(pd.Series(row_hashes(train[cols])).duplicated().sum()) if cols and n else 0
    feats = [c for c in kinds if c not in ids]
    conflicting = 0
    if feats and n:
        frame = pd.DataFrame(
            {"h": row_hashes(train[feats]), "y": train[schema["target"]].to_numpy()}
        )
        nun = frame.groupby("h")["y"].transform("nunique")
        conflicting = int((nun > 1).sum())
    share = share_of(dup, n) or 0.0
    section = {
        "rows": dup,
        "share": share,
        "columns_compared": len(cols),
        "rows_with_conflicting_target": conflicting,
        "removed_by_prepare": (schema.get("cleaning") or {}).get("duplicate_rows_removed"),
    }
    findings = []
    if share > _DUPLICATE_SHARE:
        findings.append(
            make_finding(
                "duplicates",
                None,
                f"{dup} training rows ({share:.1%}) repeat another row on every column except "
                "the ids; repeated rows can fall on both sides of a CV fold and flatter scores.",
                dup,
                f"{dup} repeated rows ({share:.1%}) > {_DUPLICATE_SHARE:.0%}",
            )
        )
    return section, findings
