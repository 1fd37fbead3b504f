"""End-to-end `dvc repro` in a temporary git repository, per task type and on the demo data."""

import pytest

from tests.conftest import make_table
from tests.support.finished import demo_run, finished_copy, point_at, table_run

pytestmark = pytest.mark.slow

AUDIT_METRICS = "reports/audit/audit.json"
AUDIT_DETAILS = "reports/audit/audit_details.json"


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_repro_runs_each_task_then_does_nothing(request, tmp_path, task):
    # The whole pipeline ran on the task's table (committed first), in a copy of a run that
    # tests/e2e/test_model.py shares (tests/support/finished.py).
    project = finished_copy(request, tmp_path, f"{task}-table", table_run(task))
    schema = project.read_json("data/prepared/schema.json")
    assert schema["task"] == task
    kinds = schema["columns"]
    assert kinds["x1"] == "numeric"
    assert kinds["member"] == "boolean"
    assert kinds["day"] == "datetime"
    audit = project.read_json(AUDIT_METRICS)
    assert audit["passed"] is True
    again = project.dvc("repro")
    assert "up to date" in again.stdout.lower()
    assert "Running stage" not in again.stdout


def test_demo_data_audit_flags_the_planted_leak(request, tmp_path):
    # 3,000 demo rows, run to the end (shared with tests/e2e/test_explain.py).
    project = finished_copy(request, tmp_path, "demo-3000", demo_run)
    audit = project.read_json(AUDIT_DETAILS)
    leaks = [f for f in audit["findings"] if f["kind"] == "leakage"]
    assert [f["column"] for f in leaks] == ["account_closure_fee"]
    assert leaks[0]["excluded"] is True
    assert audit["passed"] is True

    # Once the leaky column is a feature, the audit fails the run and names it.
    project.set_params(data={"drop_columns": []})
    result = project.dvc("repro", check=False)
    assert result.returncode != 0
    assert "audit failed" in result.stderr
    assert "account_closure_fee" in result.stderr


def _generated(project) -> None:
    """Pointed at the binary table, the generate stage run (shared by the tests that stop early)."""
    point_at(project, "binary")
    project.dvc("repro", "generate")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"data": {"target": "lable"}}, "data.target 'lable' is not a column"),
        ({"data": {"tagret": "label"}}, "unknown key 'data.tagret'"),
        ({"split": {"test_size": "big"}}, "split.test_size = 'big' is invalid"),
        ({"split": {"strategy": "temporal"}}, "split.strategy is 'temporal' but data.time_column"),
        ({"evaluate": {"segments": ["plan"]}}, "evaluate.segments 'plan' is not a column"),
    ],
)
def test_bad_params_stop_prepare_with_one_line(request, tmp_path, params, message):
    project = finished_copy(request, tmp_path, "binary-generated", _generated)
    project.set_params(**params)
    result = project.dvc("repro", check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors
    assert message in errors[0]
    assert not (project.root / "data/prepared/train.parquet").exists()
    assert not (project.root / AUDIT_METRICS).exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("just some prose\nwithout any separators\n", "found 1 column(s)"),
        ("a,label,a\n1,Yes,2\n2,No,3\n", "duplicate column names 'a';"),
        ("a,label\n1,Yes\n2,Yes\n3,Yes\n", "has a single value ('Yes')"),
    ],
)
def test_bad_tables_stop_prepare(request, tmp_path, content, message):
    project = finished_copy(request, tmp_path, "binary-generated", _generated)
    (project.root / "data/raw/bad.csv").write_text(content)
    project.set_params(
        data={"source": "data/raw/bad.csv", "id_columns": []}, evaluate={"segments": []}
    )
    result = project.dvc("repro", check=False)
    assert result.returncode != 0
    assert "error: data/raw/bad.csv: " in result.stderr or "error: target" in result.stderr
    assert message in result.stderr
    assert not (project.root / "data/prepared/train.parquet").exists()


def test_separate_test_table_with_other_columns(request, tmp_path):
    project = finished_copy(request, tmp_path, "binary-generated", _generated)
    test = make_table("binary", n=80, seed=5).drop(columns=["colour"])
    project.set_params(data={"test_source": project.write_table(test, "test.csv")})
    result = project.dvc("repro", check=False)
    assert result.returncode != 0
    assert "columns differ from data.source: missing 'colour'" in result.stderr


def test_separate_test_table_is_used(request, tmp_path):
    project = finished_copy(request, tmp_path, "binary-generated", _generated)
    test = make_table("binary", n=80, seed=5)
    project.set_params(data={"test_source": project.write_table(test, "test.parquet")})
    # The split is prepare's (scoring a separate test table end to end:
    # tests/e2e/test_model.py::test_shuffled_test_target_changes_only_evaluate, tests/e2e/test_init.py).
    project.dvc("repro", "prepare")
    schema = project.read_json("data/prepared/schema.json")
    assert schema["split"]["strategy"] == "provided"
    assert schema["split"]["test_rows"] == 80
