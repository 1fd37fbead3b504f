"""evaluate_test_table: the evaluate stage as a library function with a frozen, typed result."""

import dataclasses
import json

import numpy as np
import pytest

from foldwise.config import Config
from foldwise.evaluate import evaluate_test_table, origin_of_test_rows
from tests.conftest import make_table
from tests.support.serve import train_bundle

CONFIG = Config.model_validate({"evaluate": {"segments": ["colour"], "bootstrap_samples": 200}})
SCHEMA = {"id_columns": ["row_id"], "split": {"strategy": "random"}}


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_evaluation_of_a_test_table(tmp_path, task):
    bundle, _ = train_bundle(task, tmp_path / "model")
    test = make_table(task, n=240, seed=7)
    result = evaluate_test_table(bundle, test, SCHEMA, CONFIG)
    assert result.rows == 240
    assert len(result.predictions) == 240
    assert result.predictions.columns[:2].tolist() == ["id:row_id", "y_true"]
    assert result.predictions["id:row_id"].tolist() == test["row_id"].tolist()
    assert result.primary.name == bundle.problem.metric
    assert result.primary.ci95_low <= result.primary.value <= result.primary.ci95_high
    assert {s["segment"] for s in result.segments} == {"blue", "green", "red"}
    payload = result.metrics_json()
    json.dumps(payload, allow_nan=False)
    assert list(payload) == [
        "test_sha256", "rows", "test_rows_scored", "test_table", "model", "primary_metric",
        "threshold", "metrics", "better_if", "segments_flagged",
    ]  # fmt: skip
    assert payload["metrics"]["task"] == task
    assert payload["test_table"]["description"] == "the random split's test part of data.source"
    assert result.summary_line().startswith(f"evaluate: {bundle.problem.metric} ")
    if task != "regression":
        assert np.array_equal(result.codes, bundle.predict_codes(result.scores))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.rows = 0  # type: ignore[misc]


def test_a_provided_test_table_is_described_by_its_rows():
    split = {
        "strategy": "provided",
        "test_source": "data/raw/test.csv",
        "test_rows_read": 10,
        "test_duplicate_rows_kept": 2,
        "test_rows_without_target": 1,
    }
    origin = origin_of_test_rows({"split": split}, 9)
    assert origin["description"] == (
        "9 of 10 rows of data/raw/test.csv; 1 without a target, 2 duplicate rows kept"
    )
    assert origin_of_test_rows({"split": split}, 10)["description"].startswith("all 10 rows")
