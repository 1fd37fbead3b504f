"""The audit's data-quality findings and the target's distribution."""

import numpy as np
import pandas as pd
import pytest

from foldwise.audit import build_audit
from tests.audit.helpers import (
    CFG,
    assert_strict_json,
    checks_for,
    kinds_of,
    leak_columns,
    noise_frame,
    schema_for,
    split,
)


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
    assert not any(c in {"colour", "x0"} for _, c in found)
    target = audit["target"]
    assert target["counts"] == {"No": 1950, "Yes": 50}
    assert target["imbalance_ratio"] == 39.0
    assert audit["columns"]["survey"]["missing_share"] == pytest.approx(0.7, abs=0.05)
    assert audit["cleaning"]["coercions"][0]["blank_to_missing"] == 11
    assert audit["summary"]["by_kind"]["constant"] == 2
    assert_strict_json(audit)


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
