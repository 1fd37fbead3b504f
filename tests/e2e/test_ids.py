"""Id columns named like foldwise's own columns survive every per-row output, unchanged.

One `dvc repro` on a table whose id columns are `fold`, `row`, `prediction`, `y_true` and
`loss`, then every command that writes rows. Each per-row output must carry the original ids
under `id:<name>` and keep foldwise's own columns intact.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

from tests.conftest import Project, make_table
from tests.support.serve import Server

pytestmark = pytest.mark.slow

IDS = ["fold", "row", "prediction", "y_true", "loss"]
ID_COLUMNS = [f"id:{name}" for name in IDS]
N_ROWS = 30  # raw rows sent to the commands


def _table(n: int = 240) -> pd.DataFrame:
    frame = make_table("binary", n=n, seed=5).drop(columns=["row_id"])
    frame.insert(0, "fold", [f"F{i:04d}" for i in range(n)])
    frame.insert(1, "row", np.arange(1000, 1000 + n))  # a whole-number id
    frame.insert(2, "prediction", [f"P-{i}" for i in range(n)])
    frame.insert(3, "y_true", [f"Y{i}x" for i in range(n)])
    frame.insert(4, "loss", [f"L{i:03d}" for i in range(n)])
    return frame


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = Project.create(tmp_path_factory.mktemp("ids") / "proj")
    source = project.write_table(_table())
    project.set_params(
        data={"source": source, "target": "label", "id_columns": IDS, "drop_columns": []},
        problem={"positive_label": "Yes"},
        cv={"folds": 3},
        tune={"nested": False, "n_trials": 1},
        model={"catboost": {"iterations": 60, "depth": 3}},
        explain={"max_rows": 200, "permutation_repeats": 1, "worst_rows": 20},
        evaluate={"segments": [], "bootstrap_samples": 100},
    )
    project.commit("ids named like foldwise's columns")
    project.dvc("repro")
    return project


def _ids_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The ids as text, named id:<column>, to compare with an output's id columns."""
    return pd.DataFrame({f"id:{c}": frame[c].astype(str).to_numpy() for c in IDS})


def _assert_ids(output: pd.DataFrame, expected: pd.DataFrame, what: str) -> None:
    assert list(output.columns[: len(IDS)]) == ID_COLUMNS, what
    got = output[ID_COLUMNS].astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), obj=what)


# --- the pipeline's per-row files ------------------------------------------------------------


def test_stage_outputs_carry_the_ids_beside_their_own_columns(built: Project) -> None:
    root = built.root
    train = pd.read_parquet(root / "data/prepared/train.parquet")
    test = pd.read_parquet(root / "data/prepared/test.parquet")

    oof = pd.read_parquet(root / "reports/train/oof_predictions.parquet")
    _assert_ids(oof, _ids_of(train), "oof_predictions")
    assert set(oof["fold"]) == {0, 1, 2}
    assert oof["y_true"].isin([0, 1]).all()
    assert oof["oof_proba_Yes"].between(0, 1).all()

    predictions = pd.read_parquet(root / "reports/evaluate/predictions.parquet")
    _assert_ids(predictions, _ids_of(test), "evaluate predictions")
    assert set(predictions["prediction"]) <= {"Yes", "No"}
    assert set(predictions["y_true"]) <= {"Yes", "No"}

    for name, reader in (
        ("worst_mistakes.csv", lambda p: pd.read_csv(p, dtype=dict.fromkeys(ID_COLUMNS, str))),
        ("shap_values.parquet", pd.read_parquet),
    ):
        table = reader(root / "reports/explain" / name)
        rows = table["row"].to_numpy()
        _assert_ids(table, _ids_of(train.iloc[rows]), name)
        # foldwise's own fold (not the id called fold) is the fold that scored the row
        np.testing.assert_array_equal(table["fold"], oof["fold"].to_numpy()[rows])
        if name == "worst_mistakes.csv":
            assert (table["loss"] >= 0).all()
            assert table["loss"].is_monotonic_decreasing
            assert set(table["y_true"]) <= {"Yes", "No"}
        else:
            assert {"shap:x2", "shap:colour"} <= set(table.columns)


# --- every command that writes rows ------------------------------------------------------------


def _cli(root: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "foldwise.cli", *args], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]


def _cli_table(root: Path, output: str, *args: str) -> pd.DataFrame:
    """Run ``foldwise ARGS`` in the project and read the CSV or Parquet file it wrote."""
    _cli(root, *args)
    if output.endswith(".parquet"):
        return pd.read_parquet(root / output)
    return pd.read_csv(root / output, dtype=dict.fromkeys(ID_COLUMNS, str))


def _serve(root: Path) -> pd.DataFrame:
    """Rows sent to a real `foldwise serve` on loopback; its prediction log, in sent order."""
    rows = pd.read_csv(root / "rows.csv").to_dict(orient="records")
    args = ["--model", str(root / "models/model"), "--log-dir", str(root / "out/log")]
    (root / "out").mkdir(exist_ok=True)
    server = Server(args, root / "out/server.txt")
    try:
        server.wait_ready()
        for start in (0, N_ROWS // 2):
            answer = server.client.post(
                "/predict", json={"rows": rows[start : start + N_ROWS // 2]}
            )
            assert answer.status_code == 200, answer.text
    finally:
        server.stop()
    log = ds.dataset(root / "out/log", format="parquet", partitioning="hive").to_table()
    frame = log.to_pandas().sort_values(["ts", "row"])
    columns = [*ID_COLUMNS, *[c for c in frame.columns if c not in ID_COLUMNS]]
    return frame[columns]


# Each command's per-row output, row i for rows.csv's row i (a new command is one line).
COMMANDS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "foldwise explain": lambda root: _cli_table(
        root, "out/explain/contributions.csv", "explain", "rows.csv", "--out", "out/explain"
    ),
    "foldwise predict": lambda root: _cli_table(
        root, "out/p.csv", "predict", "rows.csv", "-o", "out/p.csv"
    ),
    "foldwise serve (prediction log)": _serve,
}
OWN_COLUMNS = {
    "foldwise explain": {"row", "prediction", "proba_Yes", "top_contributions"},
    "foldwise serve (prediction log)": {"request_id", "row", "id", "prediction", "value"},
    "foldwise predict": {"prediction", "proba_Yes", "model_version"},
}


@pytest.fixture(scope="module")
def rows(built: Project) -> pd.DataFrame:
    raw = _table().drop(columns=["label"]).tail(N_ROWS).reset_index(drop=True)
    raw.to_csv(built.root / "rows.csv", index=False)
    return raw


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_outputs_carry_the_ids_unchanged(built, rows, command) -> None:
    output = COMMANDS[command](built.root)
    assert len(output) == len(rows)
    _assert_ids(output, _ids_of(rows), command)
    assert OWN_COLUMNS.get(command, set()) <= set(output.columns)
    assert set(output["prediction"].astype(str)) <= {"Yes", "No"}  # foldwise's, not the id


def test_monitor_joins_labels_on_the_id_columns_by_their_names(built, rows) -> None:
    """Labels carry the model's id columns under their own names; monitor joins every row."""
    root = built.root
    log = root / "out/log"
    if not log.is_dir():
        _serve(root)
    labels = rows[IDS].copy()
    labels["label"] = _table().tail(N_ROWS)["label"].to_numpy()
    labels.to_csv(root / "labels.csv", index=False)
    result = subprocess.run(
        [sys.executable, "-m", "foldwise.cli", "monitor", "out/log", "--labels", "labels.csv",
         "--out", "out/monitor", "--by", "day"],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-2000:]
    summary = json.loads((root / "out/monitor/summary.json").read_text())
    assert summary["labels"] == {"labels": N_ROWS, "matched": N_ROWS, "on": IDS}
