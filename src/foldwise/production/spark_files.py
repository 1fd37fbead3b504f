"""``foldwise predict --engine spark``: read the inputs with Spark, score, write a Spark folder.

The session is whatever ``SparkSession.builder.getOrCreate()`` gives: under ``spark-submit``
the cluster's (its ``--master`` and settings), otherwise a local one on every core. OUTPUT is
a folder of part files (Spark's layout), written under a temporary name and renamed when the
job has finished; rows follow Spark's partitions, so join on the id columns.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foldwise.artifacts import ID_PREFIX
from foldwise.bundle import MANIFEST
from foldwise.errors import FoldwiseError
from foldwise.production.batch import BundleVersion
from foldwise.production.batch_files import output_format, partial_path
from foldwise.production.batch_input import describe_file, expand_inputs
from foldwise.production.spark import executor_error, predict


@dataclass(frozen=True)
class SparkSummary:
    """What a Spark run wrote."""

    output: Path
    files: int
    rows_written: int
    rows_skipped: int | None  # on_error="skip": input rows minus rows written
    master: str


def session(master: str | None = None) -> Any:
    """The active or a new Spark session: ``master`` if given, else the one spark-submit
    set, else local on every core."""
    from pyspark.sql import SparkSession

    # Local workers run this interpreter (the one foldwise is installed in) unless set.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("foldwise predict")
    if master:
        builder = builder.master(master)
    return builder.getOrCreate()


def _read(spark: Any, inputs: Sequence[str | Path], separator: str | None) -> tuple[Any, int]:
    files = [describe_file(p, separator) for p in expand_inputs(inputs)]
    kinds = {f.kind for f in files}
    if len(kinds) > 1:
        raise FoldwiseError("--engine spark: the inputs mix CSV and Parquet files; give one kind")
    paths = [str(f.path) for f in files]
    if kinds == {"parquet"}:
        return spark.read.parquet(*paths), len(files)
    # Every cell as text (no schema inference), as foldwise reads tables; blanks are missing.
    reader = spark.read.option("header", True).option("multiLine", True)
    return reader.option("sep", files[0].separator).csv(paths), len(files)


def predict_files_spark(
    bundle_dir: Path,
    inputs: Sequence[str | Path],
    output: Path,
    version: BundleVersion,
    *,
    on_error: str = "fail",
    force: bool = False,
    separator: str | None = None,
    note: Callable[[str], None] | None = None,
    master: str | None = None,
) -> SparkSummary:
    """Score the inputs on Spark into the folder ``output`` (Parquet or CSV part files)."""
    fmt = output_format(output)
    if output.exists() and not force:
        raise FoldwiseError(f"{output}: already exists; --force replaces it")
    spark = session(master)
    df, n_files = _read(spark, inputs, separator)
    result = predict(df, bundle_dir, model_version=version.ref, on_error=on_error)
    manifest = json.loads((Path(bundle_dir) / MANIFEST).read_text(encoding="utf-8"))
    used = {str(f["name"]) for f in manifest["features"]}
    used |= {c[len(ID_PREFIX) :] for c in result.columns if c.startswith(ID_PREFIX)}
    extra = [c for c in df.columns if c not in used]
    if extra and note is not None:
        note(f"ignoring {len(extra)} column(s) the model does not use: {', '.join(extra[:8])}")
    temp = partial_path(output)
    try:
        writer = result.write.mode("overwrite")
        if fmt == "parquet":
            writer.parquet(str(temp))
        else:
            writer.option("header", True).csv(str(temp))
    except Exception as exc:
        shutil.rmtree(temp, ignore_errors=True)
        found = executor_error(exc)
        if found is not None:
            raise found from None
        raise
    if output.exists():
        shutil.rmtree(output) if output.is_dir() else output.unlink()
    os.replace(temp, output)
    reader = spark.read.parquet if fmt == "parquet" else spark.read.option("header", True).csv
    rows = reader(str(output)).count()
    skipped = df.count() - rows if on_error == "skip" else None
    return SparkSummary(output, n_files, rows, skipped, spark.sparkContext.master)
