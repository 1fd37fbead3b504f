"""The explain stage in-process: it never opens the test table; its errors; `foldwise explain`."""

from __future__ import annotations

import builtins
import io
import json
import os
import runpy
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from tests.explain.test_explain import explain_table

ROOT = Path(__file__).resolve().parents[2]
PARAMS = {
    "data": {
        "source": "data/raw/table.csv",
        "target": "label",
        "id_columns": ["row_id"],
        "drop_columns": [],
    },
    "problem": {"positive_label": "Yes"},
    "cv": {"folds": 3},
    "model": {"catboost": {"iterations": 100, "depth": 4}},
    "evaluate": {"segments": []},
    "explain": {
        "max_rows": 400,
        "permutation_repeats": 1,
        "top_k": 3,
        "suspect_columns": [],
        "segment_min_rows": 30,
    },
}


def _run(stage: str) -> None:
    runpy.run_path(str(ROOT / "stages" / f"{stage}.py"), run_name="__main__")


def _set_params(root: Path, **sections: dict) -> None:
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for section, values in sections.items():
        params.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """prepare, baseline and train run in-process on a small table (default CatBoost settings)."""
    root = tmp_path_factory.mktemp("explain") / "proj"
    (root / "data" / "raw").mkdir(parents=True)
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    _set_params(root, **PARAMS)
    explain_table("binary", 900).to_csv(root / "data" / "raw" / "table.csv", index=False)
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "init"],
        cwd=root,
        check=True,
    )
    old = Path.cwd()
    os.chdir(root)
    try:
        _run("prepare")
        _run("baseline")
        (root / "models").mkdir(exist_ok=True)
        (root / "models" / "best_params.json").write_text('{"model": "catboost", "params": {}}')
        _run("train")
    finally:
        os.chdir(old)
    return root


@pytest.fixture
def project(trained, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the trained project, as the working directory."""
    root = tmp_path / "proj"
    shutil.copytree(trained, root)
    monkeypatch.chdir(root)
    return root


def test_explain_never_opens_the_test_table(project, monkeypatch):
    test_table = project / "data" / "prepared" / "test.parquet"
    test_table.write_bytes(b"not a parquet file: reading it would fail")
    opened: list[str] = []

    def spy(original):
        def wrapper(path, *args, **kwargs):
            opened.append(str(path))
            return original(path, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(builtins, "open", spy(builtins.open))
    monkeypatch.setattr(io, "open", spy(io.open))
    monkeypatch.setattr(pd, "read_parquet", spy(pd.read_parquet))
    monkeypatch.setattr(pq, "read_table", spy(pq.read_table))
    monkeypatch.setattr(pq, "ParquetFile", spy(pq.ParquetFile))
    monkeypatch.setattr(pq, "read_schema", spy(pq.read_schema))
    _run("explain")
    assert any("train.parquet" in p for p in opened)
    assert any("oof_predictions.parquet" in p for p in opened)
    assert not [p for p in opened if "test.parquet" in p]
    out = project / "reports" / "explain"
    summary = json.loads((out / "importance.json").read_text())
    assert summary["top_features"][0]["feature"] == "x1"
    assert summary["rows_out_of_fold"] == len(
        pd.read_parquet(project / "data/prepared/train.parquet")
    )
    assert (out / "plots" / "importance_bar.png").stat().st_size > 1000
    assert (out / "plots" / "beeswarm.png").is_file()
    assert len(list((out / "plots").glob("dependence_*.png"))) == 3
    report = (out / "explain.md").read_text()
    assert "sealed test table is not read" in report
    assert "colour = blue and zone = d" in report
    worst = pd.read_csv(out / "worst_mistakes.csv")
    assert list(worst.columns[:3]) == ["id:row_id", "row", "fold"]
    assert len(worst) == 100


def test_fail_on_suspect_fails_the_stage_after_writing_the_report(project, capsys):
    _set_params(project, explain={"suspect_columns": ["x1"], "fail_on": ["suspect_column"]})
    with pytest.raises(SystemExit) as exit_info:
        _run("explain")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "explain failed on explain.fail_on: suspect column(s) x1" in err
    assert "**Status: FAILED**" in (project / "reports/explain/explain.md").read_text()


def test_unknown_suspect_column_stops_the_stage_naming_it(project, capsys):
    _set_params(project, explain={"suspect_columns": ["zip_code"]})
    with pytest.raises(SystemExit) as exit_info:
        _run("explain")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: explain.suspect_columns: column 'zip_code' is not in")
    assert "\n" not in err


def test_foldwise_explain_rows(project, capsys):
    from foldwise.cli import main

    rows = explain_table("binary", 5, seed=9).drop(columns=["label"])
    rows.to_csv(project / "rows.csv", index=False)
    main(["explain", "rows.csv", "--row", "2"])
    out = capsys.readouterr().out
    assert out.count("row ") >= 5
    table = pd.read_csv(project / "reports/explain_rows/contributions.csv")
    assert len(table) == 5
    assert list(table.columns[:2]) == ["id:row_id", "row"]
    assert table["id:row_id"].tolist() == rows["row_id"].tolist()
    assert {"prediction", "proba_Yes", "top_contributions"} <= set(table.columns)
    assert table["top_contributions"].str.contains("x1=").all()
    assert (project / "reports/explain_rows/waterfall_row2.png").stat().st_size > 1000


def test_foldwise_explain_rows_missing_column_is_one_line(project, capsys):
    from foldwise.cli import main

    explain_table("binary", 3).drop(columns=["x2", "label"]).to_csv("rows.csv", index=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", "rows.csv"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "x2" in err
    assert "\n" not in err
