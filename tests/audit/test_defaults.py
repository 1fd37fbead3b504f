"""Every default of audit.fail_on passes on ordinary clean tables and fails on planted leaks."""

import numpy as np
import pandas as pd
import pytest

from foldwise.audit import build_audit, compute_split_checks, failed_findings, failure_line
from foldwise.config import AuditConfig
from foldwise.data import coerce_table
from foldwise.model_settings import load_config
from tests.audit.helpers import ROOT, schema_for
from tests.support.realistic_tables import DEFAULT_FAIL_ON, profile_table, split_rows

CONFIG = AuditConfig(fail_on=DEFAULT_FAIL_ON)


def test_the_default_params_fail_on_these():
    assert load_config(ROOT / "params.yaml").audit.fail_on == DEFAULT_FAIL_ON


def run_audit(frame, task="binary"):
    frame = coerce_table(frame, target="target", id_columns=["customer_id"], date_columns=[]).frame
    train, test = split_rows(frame)
    schema = schema_for(frame, "target", task, ids=["customer_id"])
    checks = compute_split_checks(
        train.drop(columns="target"), test.drop(columns="target"), schema, CONFIG, 0
    )
    return build_audit(train, schema, checks, CONFIG, 0)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_clean_tables_of_repeated_profiles_pass(task):
    audit = run_audit(profile_table(1500, seed=11, task=task, continuous=True), task)
    assert failed_findings(audit, DEFAULT_FAIL_ON) == []
    assert audit["passed"] is True


def test_a_copy_of_the_target_fails_and_says_what_to_do():
    frame = profile_table(1500, seed=12)
    frame["churn_flag"] = np.where(frame["target"] == "Yes", "Y", "N")
    audit = run_audit(frame)
    failing = failed_findings(audit, DEFAULT_FAIL_ON)
    assert [(f["kind"], f["column"]) for f in failing] == [("leakage", "churn_flag")]
    line = failure_line(failing)
    assert "leakage in column 'churn_flag'" in line
    assert "add 'churn_flag' to data.drop_columns" in line
    assert "remove 'leakage' from audit.fail_on" in line


def test_a_post_outcome_column_fails():
    frame = profile_table(1500, seed=13)
    rng = np.random.default_rng(13)
    churned = (frame["target"] == "Yes").to_numpy()
    # a closure fee is only charged once a customer has left, and a few fees are missing
    fee = np.where(churned, rng.normal(60, 15, len(frame)).round(2), 0.0)
    frame["closure_fee"] = pd.Series(fee).where(rng.random(len(frame)) > 0.05)
    audit = run_audit(frame)
    assert [f["column"] for f in failed_findings(audit, DEFAULT_FAIL_ON)] == ["closure_fee"]
