"""The audit's train-vs-test checks: drift, adversarial validation, temporal overlap."""

import numpy as np
import pandas as pd
import pytest

from foldwise.audit import build_audit, compute_split_checks
from foldwise.config import AuditConfig
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


def test_clean_random_split_has_no_leak_or_split_findings():
    rng = np.random.default_rng(5)
    frame = noise_frame(2400, seed=5)
    frame["label"] = np.where(rng.random(2400) < 0.4, "Yes", "No")
    train, test = split(frame)
    schema = schema_for(frame, "label", "binary")
    checks = checks_for(train, test, schema)
    audit = build_audit(train, schema, checks, CFG, 0)
    flagged = {k for k, _ in kinds_of(audit)}
    assert not flagged & {
        "leakage",
        "drift",
        "adversarial",
        "train_test_duplicates",
        "temporal_overlap",
    }
    assert checks["adversarial"]["roc_auc"] < 0.6
    assert checks["max_psi"] < 0.05
    assert checks["train_test_duplicates"]["test_rows"] == 0
    assert checks["temporal"] is None
    assert_strict_json(checks)
    assert_strict_json(audit)


def test_shifted_test_part_is_reported_as_drift_and_adversarial():
    rng = np.random.default_rng(6)
    frame = noise_frame(2000, seed=6)
    frame["label"] = np.where(rng.random(2000) < 0.4, "Yes", "No")
    train, test = split(frame)
    test = test.assign(x0=test["x0"] + 2.0)
    schema = schema_for(frame, "label", "binary")
    checks = checks_for(train, test, schema)
    assert checks["max_psi_column"] == "x0"
    assert checks["drift"]["x0"]["ks_pvalue"] < 1e-6
    assert checks["drift"]["x1"]["psi"] < 0.1
    assert checks["adversarial"]["roc_auc"] > 0.85
    assert checks["adversarial"]["top_features"][0]["column"] == "x0"
    audit = build_audit(train, schema, checks, CFG, 0)
    found = kinds_of(audit)
    assert ("drift", "x0") in found
    assert ("adversarial", None) in found
    assert not any(k == "drift" and c != "x0" for k, c in found)


def test_categorical_drift_uses_categories_and_missing_bucket():
    frame = noise_frame(1600, seed=7)
    frame["label"] = "No"
    train, test = split(frame)
    test = test.assign(colour=pd.array([None] * len(test), dtype="string"))
    checks = checks_for(train, test, schema_for(frame, "label", "binary"))
    assert checks["drift"]["colour"]["psi"] > 1.0
    assert checks["drift"]["colour"]["missing_share_test"] == 1.0
    assert checks["drift"]["member"]["psi"] < 0.05


def test_temporal_overlap_and_date_ranges():
    rng = np.random.default_rng(9)
    n = 600
    frame = noise_frame(n, seed=9)
    frame["when"] = pd.Timestamp("2021-01-01") + pd.to_timedelta(np.arange(n), unit="D")
    frame["label"] = np.where(rng.random(n) < 0.4, "Yes", "No")
    train, test = frame.iloc[:450].reset_index(drop=True), frame.iloc[450:]
    # five test rows dated before the last training row (and one tie, which does not count)
    early = train.iloc[[0, 5, 50, 100, 200, 449]].assign(x0=1.0)
    test = pd.concat([test, early], ignore_index=True)
    schema = schema_for(frame, "label", "binary", time="when", strategy="temporal")
    checks = checks_for(train, test, schema)
    temporal = checks["temporal"]
    assert temporal["overlap_rows"] == 5
    assert temporal["train_min"] == "2021-01-01T00:00:00"
    assert temporal["train_max"] == "2022-03-26T00:00:00"
    assert temporal["test_min"] == "2021-01-01T00:00:00"
    assert (
        temporal["test_max"]
        == pd.Timestamp("2021-01-01").__add__(pd.Timedelta(days=n - 1)).isoformat()
    )
    # the time column separates the sides by construction; judge the rest without it
    assert checks["adversarial"]["roc_auc"] > 0.9
    assert checks["adversarial"]["roc_auc_without_time_column"] < 0.7
    audit = build_audit(train, schema, checks, AuditConfig(fail_on=["temporal_overlap"]), 0)
    assert ("temporal_overlap", "when") in kinds_of(audit)
    assert ("drift", "when") in kinds_of(audit, excluded=True)
    assert "adversarial" not in {k for k, _ in kinds_of(audit)}
    assert audit["temporal_overlap_rows"] == 5
    assert not audit["passed"]
    assert_strict_json(audit)


def test_compute_split_checks_refuses_the_target():
    frame = planted("binary", n=200)
    train, test = split(frame)
    schema = schema_for(frame, "label", "binary")
    with pytest.raises(ValueError, match="target column 'label'"):
        compute_split_checks(train.drop(columns="label"), test, schema, CFG, 0)
    with pytest.raises(ValueError, match="target column 'label'"):
        compute_split_checks(train, test.drop(columns="label"), schema, CFG, 0)
