"""Repeated rows: in training, and test rows equal to a training row judged against the table."""

import numpy as np
import pandas as pd

from foldwise.audit import build_audit, compute_split_checks, failed_findings, failure_line
from foldwise.config import AuditConfig
from foldwise.data import coerce_table
from tests.audit.helpers import (
    CFG,
    assert_strict_json,
    checks_for,
    kinds_of,
    noise_frame,
    planted,
    schema_for,
    split,
)
from tests.support.realistic_tables import DEFAULT_FAIL_ON, profile_table, split_rows


def test_train_test_duplicates_are_counted_ignoring_ids():
    rng = np.random.default_rng(8)
    frame = noise_frame(800, seed=8)
    frame["label"] = np.where(rng.random(800) < 0.4, "Yes", "No")
    frame.insert(0, "row_id", [f"R{i:04d}" for i in range(800)])
    train, test = split(frame)
    copies = train.iloc[[3, 10, 10, 42, 99, 150, 151]].assign(row_id="NEW")
    test = pd.concat([test, copies], ignore_index=True)
    schema = schema_for(frame, "label", "binary", ids=["row_id"])
    checks = checks_for(train, test, schema)
    assert checks["train_test_duplicates"]["test_rows"] == 7
    assert "row_id" not in checks["train_test_duplicates"]["columns"]
    audit = build_audit(train, schema, checks, AuditConfig(fail_on=["train_test_duplicates"]), 0)
    assert audit["train_test_duplicates"] == 7
    [failed] = failed_findings(audit, ["train_test_duplicates"])
    assert failed["value"] == 7
    assert audit["passed"] is False


def test_duplicate_rows_in_training_are_found_ignoring_ids():
    frame = planted("binary", n=500)
    frame = pd.concat([frame, frame.iloc[:20]], ignore_index=True)
    frame.insert(0, "row_id", range(len(frame)))
    schema = schema_for(frame, "label", "binary", ids=["row_id"])
    audit = build_audit(frame, schema, {}, CFG, 0)
    assert audit["duplicates"]["rows"] == 20
    assert ("duplicates", None) in kinds_of(audit)


# --- the rule: judged against the table's own repeat rate -------------------------------


def typed(frame, target="target", ids=("customer_id",)):
    """The table as prepare types it (numbers from text, yes/no to booleans)."""
    present = [c for c in ids if c in frame.columns]
    return coerce_table(frame, target=target, id_columns=present, date_columns=[]).frame


def audit_of(train, test, *, ids=("customer_id",), task="binary", config=None, reference=None):
    config = config or AuditConfig(fail_on=DEFAULT_FAIL_ON)
    both = pd.concat([train, test], ignore_index=True)
    schema = schema_for(both, "target", task, ids=[c for c in ids if c in both.columns])
    checks = compute_split_checks(
        train.drop(columns="target"),
        test.drop(columns="target"),
        schema,
        config,
        0,
        train_reference=None if reference is None else reference.drop(columns="target"),
    )
    return checks, build_audit(train, schema, checks, config, 0)


def test_repeated_profiles_are_expected_and_do_not_fail():
    train, test = split_rows(typed(profile_table(2000, seed=3)))
    checks, audit = audit_of(train, test)
    dup = checks["train_test_duplicates"]
    assert dup["share_of_test"] > 0.5  # most test rows equal some training row
    assert dup["expected_share"] > 0.5  # and so do the training rows among themselves
    assert dup["p_value"] > 1e-3
    [finding] = [f for f in audit["findings"] if f["kind"] == "train_test_duplicates"]
    assert finding["excluded"] is True
    assert "within what repeated profiles explain" in finding["message"]
    assert f"{dup['share_of_test']:.1%}" in finding["message"]
    assert audit["passed"] is True
    assert_strict_json(audit)


def test_rows_copied_from_train_into_test_fail():
    train, test = split_rows(typed(profile_table(2000, seed=4, continuous=True)))
    copies = train.sample(40, random_state=0).assign(customer_id="copied")
    test = pd.concat([test, copies], ignore_index=True)
    checks, audit = audit_of(train, test)
    dup = checks["train_test_duplicates"]
    assert dup["test_rows"] >= 40
    assert dup["expected_share"] < 0.01
    assert dup["excess_share"] > 0.05
    [failed] = failed_findings(audit, DEFAULT_FAIL_ON)
    assert failed["kind"] == "train_test_duplicates"
    assert "copied" in failed["message"]
    assert audit["passed"] is False
    line = failure_line([failed])
    assert "remove 'train_test_duplicates' from audit.fail_on" in line


def test_copies_fail_among_repeated_profiles_too():
    """An age column makes about one row in six repeat another; copied rows stand out."""
    frame = profile_table(3000, seed=5)
    frame["age"] = np.random.default_rng(5).integers(18, 80, len(frame))
    train, test = split_rows(typed(frame))
    checks, audit = audit_of(train, test)
    assert 0.1 < checks["train_test_duplicates"]["expected_share"] < 0.3
    assert audit["passed"] is True
    test = pd.concat([test, train.sample(100, random_state=1)], ignore_index=True)
    checks, audit = audit_of(train, test)
    assert checks["train_test_duplicates"]["p_value"] < 1e-6
    assert "train_test_duplicates" in audit["summary"]["failing_kinds"]


def test_provided_test_table_is_judged_against_training_rows_before_dedup():
    """No id column: prepare removed the training table's repeats, the test table kept its own."""
    raw = typed(profile_table(2400, seed=6, with_id=False), ids=())
    raw_train, test = split_rows(raw)
    train = raw_train.drop_duplicates().reset_index(drop=True)
    checks, audit = audit_of(train, test, ids=(), reference=raw_train)
    dup = checks["train_test_duplicates"]
    assert dup["reference"] == "training rows before deduplication"
    assert dup["reference_rows"] == len(raw_train)
    assert dup["test_rows_repeating_a_test_row"] > 0
    assert audit["passed"] is True
    # judged against the deduplicated rows instead, the same honest test table would fail
    _, strict = audit_of(train, test, ids=())
    assert strict["passed"] is False
