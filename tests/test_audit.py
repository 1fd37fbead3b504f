"""The data audit: leakage, train-vs-test checks, data-quality findings and the reports."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from foldwise.audit import build_audit, compute_split_checks, failed_findings, render_markdown
from foldwise.config import AuditConfig
from foldwise.errors import FoldwiseError

ROOT = Path(__file__).resolve().parents[1]
CFG = AuditConfig()


def schema_for(frame, target, task, *, ids=(), drop=(), time=None, strategy="random"):
    """A schema like prepare writes: features are every column but target, ids and drops."""

    def kind(s):
        if isinstance(s.dtype, pd.BooleanDtype):
            return "boolean"
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            return "datetime"
        if pd.api.types.is_numeric_dtype(s.dtype):
            return "numeric"
        return "categorical"

    skip = {target, *ids, *drop}
    return {
        "target": target,
        "task": task,
        "positive_label": None,
        "classes": None,
        "id_columns": list(ids),
        "time_column": time,
        "group_column": None,
        "drop_columns": list(drop),
        "columns": {c: kind(frame[c]) for c in frame.columns if c != target},
        "features": [{"name": c, "kind": kind(frame[c])} for c in frame.columns if c not in skip],
        "split": {"strategy": strategy, "train_rows": 0, "test_rows": 0},
        "cleaning": {
            "rows_read": len(frame),
            "duplicate_rows_removed": 3,
            "missing_target_rows_dropped": 1,
            "coercions": [
                {"column": "x1", "to": "numeric", "blank_to_missing": 11, "unparseable": 0}
            ],
        },
    }


def noise_frame(n, seed=0, n_numeric=6):
    """Features unrelated to anything: numbers, a category, a nullable boolean."""
    rng = np.random.default_rng([seed, 7])  # a stream apart from the tests' target draws
    data = {f"x{i}": rng.normal(size=n) for i in range(n_numeric)}
    data["colour"] = pd.array(rng.choice(["red", "green", "blue"], n), dtype="string")
    data["member"] = pd.array(rng.random(n) < 0.4, dtype="boolean")
    return pd.DataFrame(data)


def split(frame, test_share=0.25, seed=1):
    """Rows shuffled at random into train and test."""
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(len(frame) * (1 - test_share))
    return (
        frame.iloc[order[:cut]].reset_index(drop=True),
        frame.iloc[order[cut:]].reset_index(drop=True),
    )


def checks_for(train, test, schema, config=CFG):
    target = schema["target"]
    return compute_split_checks(
        train.drop(columns=[target]), test.drop(columns=[target]), schema, config, 0
    )


def kinds_of(audit, *, excluded=False):
    return {(f["kind"], f["column"]) for f in audit["findings"] if f["excluded"] is excluded}


def leak_columns(audit):
    return [f["column"] for f in audit["findings"] if f["kind"] == "leakage"]


def assert_strict_json(obj):
    json.loads(json.dumps(obj, allow_nan=False))


def planted(task, n=900, seed=0):
    """Noise features plus one column ``leak`` that nearly determines the target."""
    rng = np.random.default_rng(seed)
    frame = noise_frame(n, seed)
    if task == "binary":
        y = rng.random(n) < 0.35
        frame["label"] = np.where(y, "Yes", "No")
        frame["leak"] = y + rng.normal(0, 0.15, n)
    elif task == "multiclass":
        y = rng.choice(["low", "mid", "high"], n)
        flip = rng.random(n) < 0.03
        frame["label"] = y
        frame["leak"] = pd.array(
            np.where(flip, "unknown", np.char.add("code_", y.astype(str))), dtype="string"
        )
    else:
        y = rng.normal(10, 3, n)
        frame["label"] = y
        frame["leak"] = y + rng.normal(0, 0.5, n)
    return frame


# --- leakage ---------------------------------------------------------------------------


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


# --- train vs test ---------------------------------------------------------------------


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


# --- data quality ----------------------------------------------------------------------


def test_quality_findings():
    rng = np.random.default_rng(10)
    n = 2000
    frame = noise_frame(n, seed=10)
    frame["country"] = pd.array(np.where(np.arange(n) < 6, "CA", "US"), dtype="string")
    frame["plan"] = pd.array(["basic"] * n, dtype="string")
    frame["city"] = pd.array([f"city_{i}" for i in rng.integers(0, 300, n)], dtype="string")
    frame["survey"] = np.where(rng.random(n) < 0.7, np.nan, rng.normal(size=n))
    frame["spend"] = np.where(rng.random(n) < 0.1, 1e6, rng.normal(100, 5, n))
    frame["label"] = np.where(np.arange(n) % 40 == 0, "Yes", "No")  # 39 to 1
    audit = build_audit(frame, schema_for(frame, "label", "binary"), {}, CFG, 0)
    found = kinds_of(audit)
    assert ("constant", "country") in found
    assert ("constant", "plan") in found
    assert ("high_cardinality", "city") in found
    assert ("missing", "survey") in found
    assert ("outliers", "spend") in found
    assert ("imbalance", "label") in found
    assert not any(c == "colour" or c == "x0" for _, c in found)
    target = audit["target"]
    assert target["counts"] == {"No": 1950, "Yes": 50}
    assert target["imbalance_ratio"] == 39.0
    assert audit["columns"]["survey"]["missing_share"] == pytest.approx(0.7, abs=0.05)
    assert audit["cleaning"]["coercions"][0]["blank_to_missing"] == 11
    assert audit["summary"]["by_kind"]["constant"] == 2
    assert_strict_json(audit)


def test_duplicate_rows_in_training_are_found_ignoring_ids():
    frame = planted("binary", n=500)
    frame = pd.concat([frame, frame.iloc[:20]], ignore_index=True)
    frame.insert(0, "row_id", range(len(frame)))
    schema = schema_for(frame, "label", "binary", ids=["row_id"])
    audit = build_audit(frame, schema, {}, CFG, 0)
    assert audit["duplicates"]["rows"] == 20
    assert ("duplicates", None) in kinds_of(audit)


def test_regression_target_distribution():
    rng = np.random.default_rng(11)
    frame = noise_frame(1000, seed=11)
    frame["price"] = rng.lognormal(3, 0.5, 1000)
    audit = build_audit(frame, schema_for(frame, "price", "regression"), {}, CFG, 0)
    target = audit["target"]
    assert target["mean"] == pytest.approx(frame["price"].mean(), rel=1e-4)
    assert target["skew"] > 1
    assert target["quantiles"]["0.5"] == pytest.approx(frame["price"].median(), rel=1e-4)
    assert leak_columns(audit) == []


def test_degenerate_columns_stay_strict_json_and_inputs_are_untouched():
    frame = noise_frame(300, seed=12)
    frame["empty"] = np.nan
    frame["same"] = 1.0
    frame["label"] = np.where(np.arange(300) % 3 == 0, "Yes", "No")
    train, test = split(frame)
    before_train, before_test = train.copy(), test.copy()
    schema = schema_for(frame, "label", "binary")
    checks = checks_for(train, test, schema)
    audit = build_audit(train, schema, checks, CFG, 0)
    assert audit["leakage"]["columns"]["empty"]["score"] is None
    assert audit["leakage"]["columns"]["same"]["score"] is None
    assert ("constant", "empty") in kinds_of(audit)
    assert ("missing", "empty") in kinds_of(audit)
    assert_strict_json(checks)
    assert_strict_json(audit)
    pd.testing.assert_frame_equal(train, before_train)
    pd.testing.assert_frame_equal(test, before_test)


# --- fail_on and reports ---------------------------------------------------------------


def test_failed_findings_respects_fail_on_and_passed():
    frame = planted("binary")
    schema = schema_for(frame, "label", "binary")
    lenient = build_audit(frame, schema, {}, AuditConfig(fail_on=["drift", "missing"]), 0)
    assert failed_findings(lenient, ["drift", "missing"]) == []
    assert lenient["passed"] is True
    assert [f["column"] for f in failed_findings(lenient, ["leakage"])] == ["leak"]
    strict = build_audit(frame, schema, {}, AuditConfig(fail_on=["leakage"]), 0)
    assert strict["passed"] is False
    assert strict["n_failing"] == 1
    assert strict["summary"]["failing_kinds"] == ["leakage"]


def test_render_markdown_names_the_leaky_column():
    frame = planted("binary")
    train, test = split(frame)
    schema = schema_for(frame, "label", "binary")
    audit = build_audit(
        train, schema, checks_for(train, test, schema), AuditConfig(fail_on=["leakage"]), 0
    )
    text = render_markdown(audit)
    assert text.startswith("# Data audit: FAILED")
    findings = text[text.index("## Findings") : text.index("## Dataset")]
    assert "| FAIL | leakage | `leak` |" in findings
    assert "## Leakage" in text
    assert "## Train vs test" in text
    assert render_markdown(json.loads(json.dumps(audit))) == text


# --- the stage -------------------------------------------------------------------------


def load_stage():
    spec = importlib.util.spec_from_file_location("audit_stage", ROOT / "stages" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("fail_on", [[], ["leakage"]])
def test_stage_writes_reports_and_fails_with_one_line(tmp_path, monkeypatch, fail_on):
    frame = planted("binary", n=400)
    train, test = split(frame)
    schema = schema_for(frame, "label", "binary")
    prepared = tmp_path / "data" / "prepared"
    prepared.mkdir(parents=True)
    train.to_parquet(prepared / "train.parquet")
    (prepared / "schema.json").write_text(json.dumps(schema))
    (prepared / "split_checks.json").write_text(json.dumps(checks_for(train, test, schema)))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"audit": {"fail_on": fail_on}}))
    monkeypatch.chdir(tmp_path)
    stage = load_stage()
    if fail_on:
        with pytest.raises(FoldwiseError) as err:
            stage.main()
        message = str(err.value)
        assert message.startswith("audit failed on audit.fail_on: leakage in column 'leak' (")
        assert "single-feature roc_auc" in message
        assert "\n" not in message
    else:
        stage.main()
    audit = json.loads((tmp_path / "reports" / "audit" / "audit.json").read_text())
    assert audit["passed"] is not bool(fail_on)
    assert {"n_findings", "rows_train", "adversarial_auc", "max_psi", "leakage_columns"} <= set(
        audit
    )
    details = json.loads((tmp_path / "reports" / "audit" / "audit_details.json").read_text())
    assert "leak" in {f["column"] for f in details["findings"]}
    assert "findings" not in audit  # the metrics file stays flat
    assert "leak" in (tmp_path / "reports" / "audit" / "audit.md").read_text()
    assert not list((tmp_path / "reports" / "audit").glob("*.tmp"))
