"""params.yaml validation: every bad key stops with one line naming the key."""

from pathlib import Path

import pytest
import yaml

from foldwise.config import parse_config
from foldwise.errors import FoldwiseError
from foldwise.model_settings import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_project_params_file_is_valid():
    config = load_config(ROOT / "params.yaml")
    assert config.data.target == "churned"
    assert config.model.name == "catboost"


def test_defaults_fill_missing_sections():
    config = parse_config({"data": {"source": "x.csv", "target": "y"}})
    assert config.split.test_size == 0.2
    assert config.cv.folds == 5
    assert config.problem.task == "auto"


@pytest.mark.parametrize(
    ("raw", "pattern"),
    [
        ({"data": {"tagret": "y"}}, r"unknown key 'data\.tagret'; did you mean 'data\.target'\?"),
        ({"sed": 1}, r"unknown key 'sed'; did you mean 'seed'\?"),
        ({"split": {"test_size": "0.2"}}, r"split\.test_size = '0\.2' is invalid"),
        ({"split": {"test_size": 0.9}}, r"split\.test_size = 0\.9 is invalid"),
        ({"cv": {"folds": True}}, r"cv\.folds = True is invalid"),
        ({"cv": {"folds": 1}}, r"cv\.folds = 1 is invalid"),
        ({"seed": -1}, r"seed = -1 is invalid"),
        ({"problem": {"task": "classify"}}, r"problem\.task = 'classify' is not allowed"),
        ({"model": {"name": "xgboost"}}, r"model\.name = 'xgboost' is not allowed"),
        ({"problem": {"metric": "auc"}}, r"problem\.metric 'auc' is not known"),
        (
            {"problem": {"metric": "rmse", "task": "binary"}},
            r"problem\.metric 'rmse' does not fit problem\.task 'binary'",
        ),
        (
            {"problem": {"task": "regression", "positive_label": "Yes"}},
            r"positive label only applies to binary",
        ),
        (
            {"split": {"strategy": "temporal"}},
            r"split\.strategy is 'temporal' but data\.time_column",
        ),
        ({"split": {"strategy": "group"}}, r"split\.strategy is 'group' but data\.group_column"),
        (
            {"split": {"strategy": "stratified"}, "problem": {"task": "regression"}},
            r"'stratified' but problem\.task is 'regression'",
        ),
        ({"data": {"target": "y", "id_columns": ["y"]}}, r"data\.id_columns contains the target"),
        ({"audit": {"fail_on": ["leak"]}}, r"audit\.fail_on\.0 = 'leak' is not allowed"),
        ({"data": {"drop_columns": "a"}}, r"data\.drop_columns = 'a' is invalid"),
        (["a"], r"expected a mapping"),
    ],
)
def test_bad_params_name_the_key(raw, pattern):
    with pytest.raises(FoldwiseError, match=pattern) as info:
        parse_config(raw)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("params.yaml: ")


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 1\ndata: [unclosed\n")
    with pytest.raises(FoldwiseError, match=r"params\.yaml: not valid YAML at line"):
        load_config(path)


def test_missing_params_file(tmp_path):
    with pytest.raises(FoldwiseError, match="file not found"):
        load_config(tmp_path / "params.yaml")


def test_empty_params_file_gives_defaults(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("")
    assert load_config(path).seed == 42


def test_params_reference_documents_every_key():
    """The params reference page (docs/reference/params.md) lists every key the validator accepts."""
    reference = (ROOT / "docs" / "reference" / "params.md").read_text()
    from foldwise.config import Config

    def keys(model, prefix=""):
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and hasattr(ann, "model_fields"):
                yield from keys(ann, f"{prefix}{name}.")
            else:
                yield f"{prefix}{name}"

    missing = [k for k in keys(Config) if f"`{k}`" not in reference]
    assert not missing, f"docs/reference/params.md does not document: {missing}"


def test_params_yaml_roundtrip_keeps_comments_out_of_values():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert parse_config(raw).data.drop_columns == ["account_closure_fee"]


def test_unquoted_yes_stays_a_label_as_dvc_reads_it(tmp_path):
    """`dvc exp run -S` rewrites params.yaml without quotes; Yes/No/on must stay text."""
    path = tmp_path / "params.yaml"
    path.write_text("problem:\n  positive_label: Yes\ntune:\n  nested: false\n")
    config = load_config(path)
    assert config.problem.positive_label == "Yes"
    assert config.tune.nested is False
