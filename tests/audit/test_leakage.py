"""The audit's leakage check: planted leaks flagged by name, honest strong columns not."""

import numpy as np
import pandas as pd
import pytest

from foldwise.audit import build_audit, failed_findings
from foldwise.config import AuditConfig
from tests.audit.helpers import (
    CFG,
    assert_strict_json,
    checks_for,
    leak_columns,
    noise_frame,
    planted,
    schema_for,
    split,
)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_planted_leak_is_flagged_by_name(task):
    frame = planted(task)
    schema = schema_for(frame, "label", task)
    audit = build_audit(frame, schema, {}, AuditConfig(fail_on=["leakage"]), 0)
    assert leak_columns(audit) == ["leak"]
    leak = audit["leakage"]["columns"]["leak"]
    assert leak["flagged"] is True
    assert leak["score"] >= (0.8 if task == "regression" else 0.9)
    assert audit["leakage"]["metric"] == ("r2" if task == "regression" else "roc_auc")
    noise_scores = [v["score"] for k, v in audit["leakage"]["columns"].items() if k != "leak"]
    assert max(noise_scores) < (0.1 if task == "regression" else 0.62)
    assert audit["passed"] is False
    assert audit["leakage_columns"] == 1
    assert_strict_json(audit)


def test_missing_for_a_reason_is_visible_to_the_leak_check():
    frame = noise_frame(800, seed=3)
    rng = np.random.default_rng(3)
    y = rng.random(800) < 0.3
    frame["label"] = np.where(y, "Yes", "No")
    # Blank exactly when the customer churned: only the missingness carries the signal.
    frame["exit_survey"] = np.where(y, np.nan, rng.normal(size=800))
    audit = build_audit(frame, schema_for(frame, "label", "binary"), {}, CFG, 0)
    assert leak_columns(audit) == ["exit_survey"]


def test_column_far_above_the_rest_is_flagged_below_the_threshold():
    rng = np.random.default_rng(4)
    frame = noise_frame(1500, seed=4)
    y = rng.random(1500) < 0.5
    frame["label"] = np.where(y, "Yes", "No")
    frame["strong"] = y + rng.normal(0, 0.6, 1500)  # AUC about 0.88
    config = AuditConfig(leakage_score=0.97)
    audit = build_audit(frame, schema_for(frame, "label", "binary"), {}, config, 0)
    strong = audit["leakage"]["columns"]["strong"]
    assert 0.8 <= strong["score"] < 0.97
    assert strong["robust_z"] > 5
    assert leak_columns(audit) == ["strong"]
    finding = next(f for f in audit["findings"] if f["kind"] == "leakage")
    assert "robust z" in finding["detail"]


def test_drop_column_leak_is_reported_as_excluded_and_does_not_fail():
    frame = planted("binary").rename(columns={"leak": "closure_fee"})
    schema = schema_for(frame, "label", "binary", drop=["closure_fee"])
    assert "closure_fee" not in [f["name"] for f in schema["features"]]
    config = AuditConfig(fail_on=["leakage"])
    audit = build_audit(frame, schema, {}, config, 0)
    leaks = [f for f in audit["findings"] if f["kind"] == "leakage"]
    assert [(f["column"], f["excluded"]) for f in leaks] == [("closure_fee", True)]
    assert "excluded by data.drop_columns" in leaks[0]["message"]
    assert audit["leakage"]["columns"]["closure_fee"]["role"] == "drop_column"
    assert failed_findings(audit, config.fail_on) == []
    assert audit["passed"] is True
    assert audit["leakage_columns"] == 0
    assert audit["summary"]["excluded_by_kind"]["leakage"] == 1


def test_many_strong_honest_features_are_not_called_leaks():
    """Breast cancer: most size features alone reach ROC-AUC 0.9+, none stands out."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.data.copy()
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame["label"] = np.where(data.target == 0, "malignant", "benign")
    train, test = split(frame)
    schema = schema_for(frame, "label", "binary")
    audit = build_audit(train, schema, checks_for(train, test, schema), CFG, 0)
    assert audit["leakage"]["max_feature_score"] >= CFG.leakage_score
    assert leak_columns(audit) == []

    # The same table with one planted near-copy of the target: flagged, alone.
    train = train.assign(leak=(train["label"] == "malignant").astype(float))
    test = test.assign(leak=(test["label"] == "malignant").astype(float))
    schema = schema_for(pd.concat([train, test]), "label", "binary")
    audit = build_audit(train, schema, checks_for(train, test, schema), CFG, 0)
    assert leak_columns(audit) == ["leak"]
