"""prepare: duplicate rows of the training table and a provided test table kept whole."""

import numpy as np
import pandas as pd
import pytest

from foldwise.config import parse_config
from foldwise.prepare import label_free_split_checks, prepare_tables
from tests.support.realistic_tables import profile_table


def setup(root, drop_duplicates=True):
    """A training table with 30 exact repeats and a test table with 12 repeats and 2 unlabelled."""
    raw = root / "data" / "raw"
    raw.mkdir(parents=True)
    train = profile_table(600, seed=1, with_id=False)
    train = pd.concat([train, train.iloc[:30]], ignore_index=True)
    test = profile_table(200, seed=2, with_id=False)
    test = pd.concat([test, test.iloc[:12]], ignore_index=True)
    test.loc[[5, 6], "target"] = np.nan
    train.to_csv(raw / "train.csv", index=False)
    test.to_csv(raw / "test.csv", index=False)
    config = parse_config(
        {
            "data": {
                "source": "data/raw/train.csv",
                "test_source": "data/raw/test.csv",
                "target": "target",
                "drop_duplicates": drop_duplicates,
            },
            "problem": {"positive_label": "Yes"},
        }
    )
    return config, train, test


def test_a_provided_test_table_keeps_every_labelled_row(tmp_path):
    config, train, test = setup(tmp_path)
    prepared = prepare_tables(config, tmp_path)
    assert len(prepared.test) == len(test) - 2  # the duplicates stay, the unlabelled go
    assert prepared.test.duplicated().sum() >= 12
    split = prepared.schema["split"]
    assert split["test_rows_read"] == len(test)
    assert split["test_duplicate_rows_kept"] >= 12
    assert split["test_rows_without_target"] == 2
    assert prepared.schema["cleaning"]["test_table"]["duplicate_rows_removed"] == 0
    # the training table loses its repeats, and the audit's reference keeps them
    assert len(prepared.train) == len(train.drop_duplicates())
    assert prepared.schema["cleaning"]["duplicate_rows_removed"] == len(train) - len(
        train.drop_duplicates()
    )
    assert len(prepared.train_reference) == len(train)
    checks = label_free_split_checks(prepared, config)
    dup = checks["train_test_duplicates"]
    assert dup["reference"] == "training rows before deduplication"
    assert dup["test_rows_repeating_a_test_row"] >= 12


@pytest.mark.parametrize("drop", [True, False])
def test_drop_duplicates_setting(tmp_path, drop):
    config, train, _ = setup(tmp_path, drop_duplicates=drop)
    prepared = prepare_tables(config, tmp_path)
    cleaning = prepared.schema["cleaning"]
    assert cleaning["duplicate_rows"] == train.duplicated().sum()
    assert cleaning["duplicate_rows_removed"] == (cleaning["duplicate_rows"] if drop else 0)
    assert len(prepared.train) == (len(train.drop_duplicates()) if drop else len(train))
    assert prepared.train_reference is None or drop


def test_split_from_one_table_drops_repeats_before_splitting(tmp_path):
    config, train, _ = setup(tmp_path)
    config = config.model_copy(
        update={"data": config.data.model_copy(update={"test_source": None})}
    )
    prepared = prepare_tables(config, tmp_path)
    assert len(prepared.train) + len(prepared.test) == len(train.drop_duplicates())
    assert prepared.train_reference is None
