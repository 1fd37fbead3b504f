"""End to end: `foldwise init` on a new table, then `dvc repro` runs to the end unedited."""

import shutil
import sys

import pytest

from tests.conftest import FAST_PARAMS, ROOT
from tests.support.realistic_tables import profile_table

pytestmark = pytest.mark.slow


def test_init_then_repro_runs_to_the_end(project):
    shutil.copy(ROOT / "params.yaml", project.root / "params.yaml")  # the demo's default
    project.commit("demo params")
    table = profile_table(700, seed=21, date=True, continuous=True)
    test = profile_table(160, seed=22, date=True, continuous=True)
    test = test.iloc[[*range(160), 0, 1, 2]]  # three repeated rows, kept
    source = project.write_table(table)
    test_source = project.write_table(test, "test.csv")
    init = [sys.executable, "-m", "foldwise.cli", "init", source, "--target", "target"]
    result = project.run([*init, "--test-source", test_source])
    assert result.stdout.strip().endswith("next: dvc repro")
    assert (project.root / "data/raw/table.csv.dvc").is_file()
    # small settings so the run takes seconds; everything init wrote stays as it is
    project.set_params(**FAST_PARAMS)
    project.commit("foldwise init")
    project.dvc("repro")
    audit = project.read_json("reports/audit/audit.json")
    assert audit["passed"] is True
    evaluate = project.read_json("reports/evaluate/metrics.json")
    assert evaluate["test_rows_scored"] == len(test)
    assert evaluate["test_table"]["duplicate_rows_kept"] == 3
    schema = project.read_json("data/prepared/schema.json")
    assert schema["task"] == "binary"
    assert schema["positive_label"] == "Yes"
    assert schema["id_columns"] == ["customer_id"]


def test_census_style_test_labels_run_to_the_end(project):
    """Test labels `>50K.`: init writes data.label_map, and `dvc repro` scores every test row."""
    shutil.copy(ROOT / "params.yaml", project.root / "params.yaml")
    project.commit("demo params")
    table = profile_table(500, seed=23, labels=("<=50K", ">50K"))
    test = profile_table(120, seed=24, labels=("<=50K", ">50K"))
    test["target"] = test["target"] + "."
    source = project.write_table(table)
    test_source = project.write_table(test, "test.csv")
    init = [sys.executable, "-m", "foldwise.cli", "init", source, "--target", "target"]
    result = project.run([*init, "--test-source", test_source, "--positive", ">50K"])
    assert "test labels renamed (data.label_map): '<=50K.' -> '<=50K'" in result.stdout
    project.set_params(**FAST_PARAMS)
    project.commit("foldwise init")
    project.dvc("repro")
    evaluate = project.read_json("reports/evaluate/metrics.json")
    assert evaluate["test_rows_scored"] == len(test)
    schema = project.read_json("data/prepared/schema.json")
    assert schema["label_map"] == {"<=50K.": "<=50K", ">50K.": ">50K"}
    assert schema["cleaning"]["labels_mapped"]["test_source"] == len(test)
