"""Spark local mode scores like the bundle in process, and refuses a tampered bundle on the
executor. One local[2] session for the module (a JVM start costs seconds)."""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foldwise.bundle import Bundle
from foldwise.data import read_table
from foldwise.errors import FoldwiseError
from tests.production.test_predict import run_cli
from tests.support.serve import train_bundle

pyspark = pytest.importorskip("pyspark")

import foldwise.spark  # noqa: E402
from foldwise.production.spark import executor_error  # noqa: E402

TASKS = ["binary", "multiclass", "regression"]
# pyspark 4.3 warns about pandas 3 (which it handles for what is used here).
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("foldwise-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, tuple[Path, pd.DataFrame]]:
    root = tmp_path_factory.mktemp("bundles")
    out = {}
    for task in TASKS:
        _, table = train_bundle(task, root / task)
        table.to_csv(root / f"{task}.csv", index=False)
        out[task] = (root / task, read_table(root / f"{task}.csv"))  # text, as a CSV reads
    return out


def in_process(bundle_dir: Path, rows: pd.DataFrame) -> pd.DataFrame:
    result = Bundle.load(bundle_dir).predict(rows)
    result.insert(0, "id:row_id", rows["row_id"].to_numpy())
    return result.sort_values("id:row_id").reset_index(drop=True)


def collected(df) -> pd.DataFrame:
    return df.toPandas().sort_values("id:row_id").reset_index(drop=True)


@pytest.mark.parametrize("task", TASKS)
def test_spark_scores_like_the_bundle_in_process(spark, bundles, task):
    bundle_dir, rows = bundles[task]
    df = spark.createDataFrame(rows).repartition(3)
    got = collected(foldwise.spark.predict(df, bundle_dir, model_version="model@v1.0.0"))
    want = in_process(bundle_dir, rows)
    assert list(got.columns) == [*want.columns, "model_version", "model_sha256"]
    assert got["id:row_id"].tolist() == want["id:row_id"].tolist()
    assert got["prediction"].astype(str).tolist() == want["prediction"].astype(str).tolist()
    numbers = [c for c in want.columns if c.startswith("proba_")] or ["prediction"]
    np.testing.assert_allclose(got[numbers].to_numpy(float), want[numbers].to_numpy(float),
                               rtol=0, atol=1e-9)  # fmt: skip
    assert set(got["model_version"]) == {Bundle.load(bundle_dir).name("model@v1.0.0")}


def test_typed_parquet_columns_score_the_same(spark, bundles, tmp_path):
    bundle_dir, rows = bundles["binary"]
    typed = rows.assign(x2=rows["x2"].astype(float), day=pd.to_datetime(rows["day"]))
    typed.to_parquet(tmp_path / "typed.parquet", index=False)
    got = collected(foldwise.spark.predict(spark.read.parquet(str(tmp_path / "typed.parquet")),
                                           bundle_dir))  # fmt: skip
    want = in_process(bundle_dir, typed)
    np.testing.assert_allclose(got["proba_Yes"], want["proba_Yes"], rtol=0, atol=1e-9)


def tamper(archive: Path) -> None:
    with zipfile.ZipFile(archive) as zin:
        files = {name: zin.read(name) for name in zin.namelist()}
    files["model/model.json"] = files["model/model.json"].replace(b'"format"', b' "format"')
    with zipfile.ZipFile(archive, "w") as zout:
        for name, data in files.items():
            zout.writestr(name, data)


def test_a_tampered_bundle_is_refused_on_the_executor(spark, tmp_path):
    from pyspark import SparkFiles

    bundle_dir = tmp_path / "model"
    _, table = train_bundle("binary", bundle_dir, seed=11)  # a bundle no other test shipped
    shipped = foldwise.spark.ship_bundle(spark, bundle_dir)
    result = foldwise.spark.predict(spark.createDataFrame(table), bundle_dir)
    # The bytes change after the driver checked them: the driver's zip and the executor's
    # copy (in local mode both live on this machine; Spark itself refuses copies that differ).
    tamper(shipped.zip_path)
    tamper(Path(SparkFiles.get(shipped.name)))
    with pytest.raises(Exception, match=r"foldwise\.[\w.]*Error") as raised:
        result.collect()
    error = executor_error(raised.value)
    assert error is not None
    assert "executor" in str(error)
    assert f"shipped bundle {shipped.name} refused" in str(error)
    assert "model/model.json: changed after the bundle was written (sha256" in str(error)


def test_a_tampered_bundle_is_refused_on_the_driver(spark, bundles, tmp_path):
    import shutil

    bundle_dir = tmp_path / "model"
    shutil.copytree(bundles["regression"][0], bundle_dir)
    (bundle_dir / "model" / "model.json").write_text("{}")
    with pytest.raises(FoldwiseError, match="changed after the bundle was written"):
        foldwise.spark.predict(spark.createDataFrame(bundles["regression"][1]), bundle_dir)


def test_missing_features_are_refused_and_bad_cells_follow_on_error(spark, bundles):
    bundle_dir, rows = bundles["multiclass"]
    with pytest.raises(FoldwiseError, match=r"missing feature column\(s\) 'x2'"):
        foldwise.spark.predict(spark.createDataFrame(rows.drop(columns="x2")), bundle_dir)
    bad = rows.copy()
    bad.loc[7, "x1"] = "twelve"
    df = spark.createDataFrame(bad).coalesce(1)  # one Python worker to start after a failure
    with pytest.raises(Exception, match=r"foldwise\.[\w.]*Error") as raised:
        foldwise.spark.predict(df, bundle_dir).collect()
    assert "column 'x1': 'twelve' is not a number" in str(executor_error(raised.value))
    got = collected(foldwise.spark.predict(df, bundle_dir, on_error="skip"))
    assert len(got) == len(rows) - 1
    assert bad.loc[7, "row_id"] not in set(got["id:row_id"])


def test_cli_engine_spark_writes_a_folder(spark, bundles, tmp_path, capsys):
    bundle_dir, rows = bundles["binary"]
    source = tmp_path / "rows.parquet"
    rows.to_parquet(source, index=False)
    out = tmp_path / "scored.parquet"
    args = ["predict", source, "-o", out, "--model", bundle_dir, "--engine", "spark"]
    assert run_cli(*args) == 0
    assert "300 prediction(s) from 1 file(s) on Spark" in capsys.readouterr().out
    got = pd.read_parquet(out).sort_values("id:row_id").reset_index(drop=True)
    want = in_process(bundle_dir, rows)
    np.testing.assert_allclose(got["proba_Yes"], want["proba_Yes"], rtol=0, atol=1e-9)
    assert run_cli(*args) == 2
    assert "already exists; --force replaces it" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*partial*"))
