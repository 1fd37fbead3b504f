"""foldwise monitor on a small simulation: stable months, a covariate shift, a concept change."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foldwise.bundle import Bundle
from foldwise.cli import main
from foldwise.config import parse_config
from foldwise.errors import FoldwiseError
from foldwise.monitor.run import monitor
from foldwise.monitor.simulate import Scenario, write_log, write_simulation
from tests.monitor.support import train_churn_bundle

SCENARIO = Scenario(
    months=8, rows_per_month=1500, train_rows=4000, shift_month=3, concept_month=6, seed=3
)
MONTHS = [f"2025-0{m}" for m in range(1, 9)]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("sim")
    manifest = write_simulation(SCENARIO, root / "sim")
    model = train_churn_bundle(root / "proj", Path(manifest["train"]))
    return {"root": root, "manifest": manifest, "model": model}


def run(sim: dict, out: str, params: dict | None = None, **kwargs) -> dict:
    manifest = sim["manifest"]
    inputs = kwargs.pop("inputs", [Path(p) for p in manifest["batches"]])
    labels = kwargs.pop("labels", [Path(p) for p in manifest["labels"]])
    return monitor(
        inputs,
        model_dir=sim["model"],
        labels_paths=labels,
        period=kwargs.pop("period", "month"),
        out=sim["root"] / out,
        config=parse_config(params or {}),
        **kwargs,
    )


@pytest.fixture(scope="module")
def summary(sim: dict) -> dict:
    return run(sim, "report")


def by_period(summary: dict) -> dict:
    return {p["period"]: p for p in summary["periods"]}


def test_stable_months_raise_no_alarm(summary):
    periods = by_period(summary)
    assert [p["period"] for p in summary["periods"]] == MONTHS
    for month in MONTHS[:2]:
        p = periods[month]
        assert p["verdict"]["status"] == "ok", p["verdict"]
        assert not any(d["drifted"] for d in p["drift"])
        assert not p["quality"]


def test_covariate_shift_flagged_in_its_first_month_naming_the_feature(summary):
    p = by_period(summary)["2025-03"]
    assert p["drift"][0]["feature"] == "age"
    assert p["drift"][0]["drifted"]
    assert [d["feature"] for d in p["drift"] if d["drifted"]] == ["age"]
    assert "drift" in p["verdict"]["triggers"]
    assert summary["first_retrain_period"] == "2025-03"
    assert summary["exit_code"] == 1


def test_concept_change_caught_by_realized_performance_naming_the_feature(summary):
    periods = by_period(summary)
    for month in ("2025-06", "2025-07"):
        perf = periods[month]["performance"]
        assert perf["realized_drop"]["dropped"], perf["realized_drop"]
        assert perf["residuals"][0]["feature"] == "contract_type"
        assert perf["residuals"][0]["worst_bin"] == "two_year"
        # Label-free estimation cannot see a concept change under unchanged inputs.
        assert not perf["estimated_drop"]["dropped"]
        assert perf["agreement"]["roc_auc"] is False
    for month in MONTHS[:5]:
        perf = periods[month]["performance"]
        assert not perf["realized_drop"]["dropped"], (month, perf["realized_drop"])
        # Without a concept change the label-free estimate tracks the realized value (its
        # interval covers label noise only, not the calibration's own error).
        gap = perf["estimated"]["roc_auc"]["estimate"] - perf["realized"]["roc_auc"]["estimate"]
        assert abs(gap) < 0.05, (month, perf["estimated"], perf["realized"])
        assert not perf["estimated_drop"]["dropped"]
    for month in MONTHS[:2]:  # where the inputs have not moved, residuals stay within noise
        residuals = periods[month]["performance"]["residuals"]
        assert not any(r["significant"] for r in residuals), (month, residuals)
    # December's labels have not arrived (one month delay): no realized performance there.
    assert "realized" not in periods["2025-08"]["performance"]


def test_retrain_trigger_follows_retrain_when(sim):
    summary = run(sim, "report-realized", {"retrain": {"when": ["realized_drop"]}})
    assert summary["first_retrain_period"] == "2025-06"
    statuses = [p["verdict"]["status"] for p in summary["periods"]]
    assert statuses[2] == "warn"  # the drift is still reported, without a trigger
    scheduled = run(sim, "report-schedule", {"retrain": {"when": ["schedule"], "every_periods": 4}})
    assert [p["period"] for p in scheduled["periods"] if p["verdict"]["status"] == "retrain"] == [
        "2025-04",
        "2025-08",
    ]


def test_outputs_are_written(sim, summary):
    out = sim["root"] / "report"
    for name in ("report.md", "summary.json", "drift.png", "performance.png", "dashboard.html"):
        assert (out / name).stat().st_size > 0, name
    assert json.loads((out / "summary.json").read_text())["first_retrain_period"] == "2025-03"
    report = (out / "report.md").read_text()
    assert "drift in **age**" in report
    assert "**contract_type**" in report
    assert "<table>" in (out / "dashboard.html").read_text()
    # Named as `foldwise serve --model` names it (no registry here: the content hash alone).
    name = Bundle.load(sim["model"]).name()
    assert summary["bundle"] == name
    assert f"model `{name}`: catboost (binary)" in report


def test_prediction_log_gives_the_same_verdicts(sim, summary, tmp_path):
    manifest = dict(sim["manifest"])
    manifest["batches"] = manifest["batches"][1:4]
    write_log(manifest, sim["model"], tmp_path / "log")
    assert list((tmp_path / "log").glob("date=2025-02-*/part-*.parquet"))
    labels = [Path(p) for p in sim["manifest"]["labels"]]
    from_log = run(sim, "report-log", inputs=[tmp_path / "log"], labels=labels)
    batches = by_period(summary)
    logged = pd.read_parquet(tmp_path / "log", columns=["model_version"])
    assert set(logged["model_version"]) == {summary["bundle"]}
    for p in from_log["periods"]:
        assert p["rows"] == batches[p["period"]]["rows"]
        assert p["verdict"]["status"] == batches[p["period"]]["verdict"]["status"]
        assert p["drift"][0]["psi"] == pytest.approx(batches[p["period"]]["drift"][0]["psi"])
    weekly = run(sim, "report-week", inputs=[tmp_path / "log"], period="week")
    assert weekly["periods"][0]["period"] == "2025-01-27"  # the Monday of Feb 1st's week


def test_cli_exit_codes(sim, capsys):
    manifest = sim["manifest"]
    args = ["monitor", *manifest["batches"][:2], "--model", str(sim["model"])]
    main([*args, "--out", str(sim["root"] / "cli-ok")])  # stable months: exit 0
    with pytest.raises(SystemExit) as exc:
        main(["monitor", *manifest["batches"][2:3], "--model", str(sim["model"]),
              "--out", str(sim["root"] / "cli-drift")])  # fmt: skip
    assert exc.value.code == 1
    march = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("2025-03")
    )
    assert march.startswith("2025-03: retrain (")
    assert "drift in age" in march
    with pytest.raises(SystemExit) as exc:
        main([*args, "--labels", str(sim["root"] / "missing.csv")])
    assert exc.value.code == 2
    assert "missing.csv: file not found" in capsys.readouterr().err


# --- error paths --------------------------------------------------------------------------


def test_batch_with_other_columns(sim, tmp_path):
    path = tmp_path / "other.csv"
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_csv(path, index=False)
    with pytest.raises(FoldwiseError, match=r"other.csv: batch lacks feature column\(s\) 'signup"):
        run(sim, "err", inputs=[path], labels=[])


def test_empty_batch(sim, tmp_path):
    path = tmp_path / "empty.csv"
    header = pd.read_csv(sim["manifest"]["batches"][0], nrows=0)
    header.to_csv(path, index=False)
    with pytest.raises(FoldwiseError, match=r"empty.csv: the table has a header but no data rows"):
        run(sim, "err", inputs=[path], labels=[])
    (tmp_path / "blank.csv").write_text("")
    with pytest.raises(FoldwiseError, match=r"blank.csv: the file is empty"):
        run(sim, "err", inputs=[tmp_path / "blank.csv"], labels=[])


def test_labels_matching_no_prediction_id(sim, tmp_path):
    path = tmp_path / "labels.csv"
    pd.DataFrame({"id": ["nobody-1", "nobody-2"], "churned": ["Yes", "No"]}).to_csv(
        path, index=False
    )
    with pytest.raises(
        FoldwiseError,
        match=r"none of the 2 labelled id.s. \(id, e.g. 'nobody-1'\) match a prediction's id",
    ):
        run(sim, "err", labels=[path])
    pd.DataFrame({"customer": ["x"], "churned": ["Yes"]}).to_csv(path, index=False)
    with pytest.raises(
        FoldwiseError,
        match=r"labels.csv: no id column; expected the model's id column.s. 'customer_id' or 'id'",
    ):
        run(sim, "err", labels=[path])


def test_bundle_without_reference(sim, tmp_path):
    from foldwise.bundle import Bundle

    # A bundle saved without a profile (as before monitoring existed), still sealed and valid.
    old = Bundle.load(Path(sim["model"]))
    old.reference = None
    old.save(tmp_path / "old")
    assert not (tmp_path / "old" / "reference.json").exists()
    with pytest.raises(FoldwiseError, match=r"the bundle has no reference.json"):
        monitor([Path(sim["manifest"]["batches"][0])], model_dir=tmp_path / "old",
                labels_paths=[], period="month", out=tmp_path / "r", config=parse_config({}))  # fmt: skip


def test_log_without_the_model_features(sim, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "log" / "date=2025-01-01"
    folder.mkdir(parents=True)
    table = pa.table({"ts": pa.array([np.datetime64("2025-01-01T10:00", "us")]), "value": [0.1]})
    pq.write_table(table, folder / "part-0.parquet")
    with pytest.raises(FoldwiseError, match=r"the prediction log has no column\(s\) 'id'"):
        run(sim, "err", inputs=[tmp_path / "log"], labels=[])


def test_params_are_validated():
    with pytest.raises(FoldwiseError, match=r"retrain.when contains 'schedule' but retrain.every"):
        parse_config({"retrain": {"when": ["schedule"]}})
    with pytest.raises(FoldwiseError, match=r"unknown key 'monitor.drift_pis'; did you mean"):
        parse_config({"monitor": {"drift_pis": 0.1}})
    with pytest.raises(FoldwiseError, match=r"retrain.when"):
        parse_config({"retrain": {"when": ["sometimes"]}})


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_other_tasks(task, tmp_path):
    from tests.conftest import make_table
    from tests.monitor.support import train_bundle

    (tmp_path / "data" / "raw").mkdir(parents=True)
    make_table(task, n=400, seed=0).to_csv(tmp_path / "data" / "raw" / "t.csv", index=False)
    params = {
        "data": {"source": "data/raw/t.csv", "target": "label", "id_columns": ["row_id"]},
        "cv": {"folds": 3},
        "model": {"catboost": {"iterations": 60, "depth": 3}},
    }
    model = train_bundle(tmp_path, params)
    batch = make_table(task, n=300, seed=1)
    batch["row_id"] = [f"B{i}" for i in range(len(batch))]
    batch["ts"] = "2025-02-03T10:00:00Z"
    batch.drop(columns="label").to_csv(tmp_path / "batch.csv", index=False)
    batch[["row_id", "label"]].rename(columns={"row_id": "id"}).to_csv(
        tmp_path / "l.csv", index=False
    )
    summary = monitor([tmp_path / "batch.csv"], model_dir=model, labels_paths=[tmp_path / "l.csv"],
                      period="week", out=tmp_path / "r", config=parse_config({"monitor": {"min_rows": 50}}))  # fmt: skip
    (period,) = summary["periods"]
    assert period["period"] == "2025-02-03"
    assert period["verdict"]["status"] in ("ok", "warn")
    metric = "log_loss" if task == "multiclass" else "rmse"
    assert period["performance"]["realized"][metric]["estimate"] > 0
    assert ("accuracy" in period["performance"]["estimated"]) == (task == "multiclass")
    assert {d["kind"] for d in period["drift"]} >= {"numeric", "categorical", "boolean", "datetime"}


def test_schema_violations_name_the_column(sim, tmp_path):
    rows = pd.read_csv(sim["manifest"]["batches"][0], dtype={"customer_id": "str"})
    rows["age"] = rows["age"].astype(object)
    rows.loc[:49, "age"] = "unknown"
    rows["loyalty_tier"] = "gold"
    rows.to_csv(tmp_path / "bad.csv", index=False)
    summary = run(sim, "schema", inputs=[tmp_path / "bad.csv"], labels=[])
    messages = [f["message"] for f in summary["schema_findings"]]
    assert (
        "bad.csv: column 'age': 50 value(s) are not numbers (e.g. 'unknown'); counted as missing"
        in messages
    )
    assert "bad.csv: column 'loyalty_tier' is not a model feature" in messages
