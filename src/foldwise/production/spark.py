"""Scale-out scoring on Spark: the bundle shipped once, checked on every executor, ``mapInPandas``.

:func:`predict` adds the bundle to the Spark job as one zip file (``SparkContext.addFile``,
fetched once per executor), and each Python worker unpacks it once, checks that its manifest is
the one the driver verified (its sha256) and that every file matches the manifest's sha256,
before anything is deserialised; the loaded bundle is cached per worker by that hash. Every
batch of rows is then scored by :func:`foldwise.production.batch.score_chunk`, the function
``foldwise predict`` uses in process, so both give the same predictions.

pyspark is imported only here and only when called: foldwise works without it
(``pip install 'foldwise[spark]'``).
"""

from __future__ import annotations

import re
import socket
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from foldwise.artifacts import ID_PREFIX
from foldwise.bundle import MANIFEST, Bundle
from foldwise.errors import FoldwiseError, quoted
from foldwise.integrity import SELF_HASH_KEY, read_verified_manifest
from foldwise.production.batch import (
    SHA_COLUMN,
    VERSION_COLUMN,
    BundleVersion,
    bundle_version,
    prediction_type,
    score_chunk,
)

# Per Python worker: bundles already unpacked and verified, by manifest sha256.
_LOADED: dict[str, Bundle] = {}
# Per driver: zips already added to a SparkContext, by (context id, manifest sha256).
_SHIPPED: dict[tuple[str, str], ShippedBundle] = {}


@dataclass(frozen=True)
class ShippedBundle:
    """A bundle added to a Spark job: the zip's file name, its driver copy and its hash."""

    name: str
    zip_path: Path
    sha256: str


def _pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError:
        raise FoldwiseError(
            "scoring on Spark needs pyspark: pip install 'foldwise[spark]'"
        ) from None
    return pyspark.sql


def ship_bundle(spark: Any, bundle_path: str | Path) -> ShippedBundle:
    """Verify the bundle on the driver, zip it and add it to ``spark``'s jobs (once)."""
    directory = Path(bundle_path)
    read_verified_manifest(directory, MANIFEST)
    digest = bundle_version(directory).sha256
    key = (str(spark.sparkContext.applicationId), digest)
    if key in _SHIPPED:
        return _SHIPPED[key]
    staging = Path(tempfile.mkdtemp(prefix="foldwise-spark-"))
    zip_path = staging / f"foldwise-bundle-{digest[:16]}.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    spark.sparkContext.addFile(str(zip_path))
    shipped = ShippedBundle(zip_path.name, zip_path, digest)
    _SHIPPED[key] = shipped
    return shipped


def _unpack(archive: Path, target: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                if member.startswith("/") or ".." in Path(member).parts:
                    raise FoldwiseError(f"{archive}: unsafe path {member!r} in the bundle zip")
            zf.extractall(target)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FoldwiseError(f"{archive}: the shipped bundle cannot be read ({exc})") from None


def load_shipped(name: str, sha256: str) -> Bundle:
    """On an executor: the shipped bundle, unpacked and verified once per worker process."""
    if sha256 in _LOADED:
        return _LOADED[sha256]
    from pyspark import SparkFiles

    # In Spark's per-application folder, which Spark removes when the application ends.
    target = Path(tempfile.mkdtemp(prefix="foldwise-bundle-", dir=SparkFiles.getRootDirectory()))
    where = f"executor {socket.gethostname()}: shipped bundle {name}"
    try:
        _unpack(Path(SparkFiles.get(name)), target)
        # Every file against the manifest, and the manifest against the driver's hash,
        # before any model file is opened.
        manifest = read_verified_manifest(target, MANIFEST)
    except FoldwiseError as exc:
        raise FoldwiseError(f"{where} refused: {exc}") from None
    if manifest.get(SELF_HASH_KEY) != sha256:
        raise FoldwiseError(
            f"{where} refused: it is not the bundle the driver verified (manifest sha256 "
            f"{str(manifest.get(SELF_HASH_KEY))[:12]}… != {sha256[:12]}…)"
        )
    bundle = Bundle.load(target)
    _LOADED[sha256] = bundle
    return bundle


def _spark_type(arrow: pa.DataType) -> Any:
    from pyspark.sql import types as st

    return {
        pa.string(): st.StringType(),
        pa.int64(): st.LongType(),
        pa.bool_(): st.BooleanType(),
        pa.float64(): st.DoubleType(),
    }[arrow]


def spark_schema(bundle: Bundle, df_schema: Any, id_columns: Sequence[str]) -> Any:
    """The Spark schema of the prediction table (id columns keep the input's types)."""
    from pyspark.sql import types as st

    fields = [st.StructField(f"{ID_PREFIX}{c}", df_schema[c].dataType) for c in id_columns]
    fields.append(st.StructField("prediction", _spark_type(prediction_type(bundle))))
    for label in bundle.problem.classes or ():
        fields.append(st.StructField(f"proba_{label}", st.DoubleType()))
    fields += [
        st.StructField(VERSION_COLUMN, st.StringType()),
        st.StructField(SHA_COLUMN, st.StringType()),
    ]
    return st.StructType(fields)


def _scorer(
    shipped: ShippedBundle, ref: str | None, id_columns: list[str], on_error: str
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    name, sha256 = shipped.name, shipped.sha256

    def score(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        bundle = load_shipped(name, sha256)
        version = BundleVersion(sha256, ref)
        for frame in frames:
            yield score_chunk(
                bundle, frame, id_columns=id_columns, version=version, on_error=on_error
            ).table

    return score


def predict(
    df: Any,
    bundle_path: str | Path,
    *,
    model_version: str | None = None,
    id_columns: Sequence[str] | None = None,
    on_error: str = "fail",
) -> Any:
    """Score a Spark DataFrame of raw rows with a bundle; a DataFrame of predictions.

    The result has ``id:<column>`` for each id column (default: the bundle's id columns that
    ``df`` has), ``prediction``, ``proba_<label>`` per class, ``model_version`` (the bundle's
    one name, as ``foldwise serve`` logs it: ``model@v1.2.0 (sha256:abcdef123456)`` when
    ``model_version`` is given, else ``sha256:abcdef123456``) and ``model_sha256``. Missing feature columns are refused here; a cell the model cannot read
    fails the job (``on_error="fail"``) or leaves its row out (``"skip"``). Works the same in
    local mode and on a cluster: only the session differs.
    """
    _pyspark()
    directory = Path(bundle_path)
    bundle = Bundle.load(directory)
    features = [str(f["name"]) for f in bundle.features]
    missing = [name for name in features if name not in df.columns]
    if missing:
        raise FoldwiseError(
            f"DataFrame: missing feature column(s) {quoted(missing)} expected by the model"
        )
    if id_columns is None:
        wanted = [str(c) for c in bundle.metadata.get("id_columns") or []]
        id_columns = [c for c in wanted if c in df.columns and c not in features]
    absent = [c for c in id_columns if c not in df.columns]
    if absent:
        raise FoldwiseError(f"DataFrame: no id column(s) {quoted(absent)}")
    shipped = ship_bundle(df.sparkSession, directory)
    schema = spark_schema(bundle, df.schema, id_columns)
    rows = df.select(*dict.fromkeys([*id_columns, *features]))
    return rows.mapInPandas(_scorer(shipped, model_version, list(id_columns), on_error), schema)


_RAISED = re.compile(r"foldwise\.[\w.]*Error: (?P<message>.+)")


def executor_error(exc: BaseException) -> FoldwiseError | None:
    """The FoldwiseError an executor raised, from the exception Spark gives the driver."""
    found = _RAISED.search(str(exc))
    return FoldwiseError(found["message"].strip()) if found else None
