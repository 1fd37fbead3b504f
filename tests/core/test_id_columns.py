"""Ids as ``id:<column>`` in per-row files, in the prediction log, and labels joined on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from foldwise.artifacts import id_columns, prediction_table, with_ids
from foldwise.errors import FoldwiseError
from foldwise.labels import combine, read_labels, row_keys
from foldwise.serve.log import PredictionLog
from tests.serve.test_log import TS, read, record
from tests.support.serve import FEATURES

NAMES = ["fold", "row", "prediction", "y_true", "loss"]


def _users() -> pd.DataFrame:
    return pd.DataFrame({name: [f"{name}-{i}" for i in range(4)] for name in NAMES})


def test_ids_never_collide_with_own_columns():
    own = pd.DataFrame({"fold": [0, 1, 0, 1], "row": [3, 2, 1, 0], "loss": [0.1] * 4})
    table = with_ids(id_columns(_users(), NAMES, np.array([3, 2, 1, 0])), own)
    assert list(table.columns) == [f"id:{n}" for n in NAMES] + ["fold", "row", "loss"]
    assert table["id:fold"].tolist() == ["fold-3", "fold-2", "fold-1", "fold-0"]
    assert table["fold"].tolist() == [0, 1, 0, 1]


def test_prediction_table_keeps_the_results_index_and_refuses_id_prefixed_own_columns():
    own = pd.DataFrame({"prediction": ["a", "b", "c", "d"]}, index=[10, 11, 12, 13])
    table = prediction_table(_users(), ["prediction"], own)
    assert table.index.tolist() == [10, 11, 12, 13]
    assert table["id:prediction"].tolist() == ["prediction-0", "prediction-1", "prediction-2", "prediction-3"]  # fmt: skip
    with pytest.raises(ValueError, match="must not start with 'id:'"):
        with_ids(id_columns(_users(), ["row"]), own.rename(columns={"prediction": "id:x"}))


def test_an_unknown_id_column_is_named():
    with pytest.raises(FoldwiseError, match=r"id column\(s\) 'nope' are not in the table"):
        id_columns(_users(), ["nope"])


def test_the_prediction_log_records_every_id_column_as_sent(tmp_path):
    log = PredictionLog(tmp_path / "log", FEATURES, compact_every=3600, id_columns=["row", "fold"])
    log.open()
    first = record("r1", 3)
    first["ids"] = {"row": ["7", "8", None], "fold": ["a", "b", "c"]}
    log.append(first)
    log.append(record("r2", 2, ts=TS + 1))  # a request without id values: nulls
    log.close()
    rows = read(tmp_path / "log").sort_values(["ts", "row"])
    assert rows["id:row"].fillna("-").tolist() == ["7", "8", "-", "-", "-"]
    assert rows["id:fold"].fillna("-").tolist() == ["a", "b", "c", "-", "-"]
    assert rows["row"].tolist() == [0, 1, 2, 0, 1]  # the log's own row column is intact


def test_labels_join_on_the_model_ids_by_name_else_on_id(tmp_path):
    path = tmp_path / "labels.csv"
    pd.DataFrame({"row": [1, 2, 2], "fold": ["a", "b", "b"], "churned": ["Yes", "No", "Yes"]}).to_csv(path, index=False)  # fmt: skip
    labels = read_labels(path, "churned", ["row", "fold"])
    assert labels.columns == ("row", "fold")
    assert labels.log_columns == ["id:row", "id:fold"]
    assert labels.frame["label"].tolist() == ["Yes", "Yes"]  # the last label of a key wins
    pd.DataFrame({"id": ["x-1"], "label": ["No"]}).to_csv(tmp_path / "by_id.csv", index=False)
    by_id = read_labels(tmp_path / "by_id.csv", "churned", ["row", "fold"])
    assert by_id.by_row_id
    assert by_id.log_columns == ["id"]
    with pytest.raises(FoldwiseError, match="join on different columns"):
        combine([labels, by_id])
    pd.DataFrame({"row": [1], "churned": ["Yes"]}).to_csv(path, index=False)
    with pytest.raises(FoldwiseError, match=r"no id column; expected the model's id column\(s\) 'row' \+ 'fold' or 'id'"):  # fmt: skip
        read_labels(path, "churned", ["row", "fold"])


def test_row_keys_of_several_columns_and_missing_parts():
    frame = pd.DataFrame({"a": ["1", None, "3"], "b": [1.0, 2.0, np.nan]})
    keys = row_keys(frame, ["a", "b"])
    assert keys[0] == "1\x1f1"
    assert keys[1] is None
    assert keys[2] is None
