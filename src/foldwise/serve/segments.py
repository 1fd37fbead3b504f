"""Prediction-log segments on disk: the write-ahead JSON lines and their Parquet parts.

A segment is one JSON line of header (format, features, id columns) and one line per answered
request. :func:`compact_segment` turns a closed segment into one durable Parquet file per UTC
date, typing the features with the model's own reader once per segment; a torn last line (the
request in flight when the writer died) is dropped. :mod:`foldwise.serve.log` writes segments.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from foldwise.artifacts import ID_PREFIX
from foldwise.errors import FoldwiseError
from foldwise.models import feature_frame

WAL_FORMAT = 1
_ARROW_KINDS = {
    "numeric": pa.float64(),
    "categorical": pa.string(),
    "boolean": pa.bool_(),
    "datetime": pa.timestamp("us"),
}


def log_schema(features: list[dict[str, Any]], id_columns: Sequence[str] = ()) -> pa.Schema:
    """The Parquet schema of the log for a model with these input features and id columns.

    Each id column of the model is logged as text under ``id:<column>``, the way every per-row
    file of foldwise carries ids, so an id named like a log column (``row``, ``prediction``)
    never collides with it.
    """
    fields = []
    for feature in features:
        kind = feature["kind"]
        if kind not in _ARROW_KINDS:
            raise FoldwiseError(f"schema feature {feature['name']!r}: unknown kind {kind!r}")
        fields.append(pa.field(str(feature["name"]), _ARROW_KINDS[kind]))
    prediction = [
        ("model_version", pa.string()),
        ("prediction", pa.string()),
        ("value", pa.float64()),
        ("proba", pa.list_(pa.float64())),
    ]
    return pa.schema(
        [
            pa.field("request_id", pa.string()),
            pa.field("row", pa.int32()),
            pa.field("id", pa.string()),
            *[pa.field(f"{ID_PREFIX}{name}", pa.string()) for name in id_columns],
            pa.field("ts", pa.timestamp("us", tz="UTC")),
            *[pa.field(name, kind) for name, kind in prediction],
            *[pa.field(f"shadow_{name}", kind) for name, kind in prediction],
            pa.field("features", pa.struct(fields)),
        ]
    )


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_parquet_durable(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` so the file only ever appears complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        pq.write_table(table, tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _read_segment(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The header and the complete request records of a segment (a torn last line is dropped).

    ``None`` and no records: the writer died before its header line was complete (killed while
    opening the segment), so the segment holds no answered request.
    """
    lines = path.read_bytes().split(b"\n")
    records: list[dict[str, Any]] = []
    header: dict[str, Any] | None = None
    for i, line in enumerate(lines):
        if not line:
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            if i == len(lines) - 1:  # the request in flight when the writer died
                break
            raise FoldwiseError(f"{path}: line {i + 1} is not JSON") from None
        if header is None:
            header = record
        else:
            records.append(record)
    if header is None:
        return None, records
    if header.get("wal") != WAL_FORMAT:
        raise FoldwiseError(f"{path}: not a foldwise prediction-log segment")
    return header, records


def _column(records: list[dict[str, Any]], key: str) -> list[Any]:
    out: list[Any] = []
    for record in records:
        values = record.get(key)
        out.extend([None] * len(record["id"]) if values is None else values)
    return out


def _id_column(records: list[dict[str, Any]], name: str) -> list[Any]:
    """The values of id column ``name`` over the records (null where a record has none)."""
    out: list[Any] = []
    for record in records:
        values = (record.get("ids") or {}).get(name)
        out.extend([None] * len(record["id"]) if values is None else values)
    return out


def segment_tables(path: Path) -> dict[str, pa.Table]:
    """A segment's rows as one Arrow table per UTC date (``YYYY-MM-DD``)."""
    header, records = _read_segment(path)
    if header is None:
        return {}
    id_columns = [str(name) for name in header.get("ids") or []]
    schema = log_schema(header["features"], id_columns)
    by_date: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        day = datetime.fromtimestamp(record["ts"] / 1e6, tz=UTC).strftime("%Y-%m-%d")
        by_date.setdefault(day, []).append(record)
    tables = {}
    feature_type = schema.field("features").type
    for day, day_records in by_date.items():
        n_rows = [len(r["id"]) for r in day_records]
        columns: dict[str, Any] = {
            "request_id": [
                r["request_id"] for r, n in zip(day_records, n_rows, strict=True) for _ in range(n)
            ],
            "row": [i for n in n_rows for i in range(n)],
            "id": _column(day_records, "id"),
            **{f"{ID_PREFIX}{name}": _id_column(day_records, name) for name in id_columns},
            "ts": [r["ts"] for r, n in zip(day_records, n_rows, strict=True) for _ in range(n)],
        }
        for prefix in ("", "shadow_"):
            columns[f"{prefix}model_version"] = [
                r.get(f"{prefix}model_version")
                for r, n in zip(day_records, n_rows, strict=True)
                for _ in range(n)
            ]
            for name in ("prediction", "value", "proba"):
                columns[f"{prefix}{name}"] = _column(day_records, f"{prefix}{name}")
        arrays = [
            pa.array(columns[field.name], type=field.type)
            for field in schema
            if field.name != "features"
        ]
        typed = typed_features(day_records, header["features"])
        feature_arrays = [pa.array(typed[field.name], type=field.type) for field in feature_type]
        arrays.append(pa.StructArray.from_arrays(feature_arrays, fields=list(feature_type)))
        tables[day] = pa.Table.from_arrays(arrays, schema=schema)
    return tables


def _typed_lists(raw: pd.DataFrame, features: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Raw values typed as the model reads them, as lists (dates in microseconds since 1970)."""
    X = feature_frame(raw, features)
    out: dict[str, list[Any]] = {}
    for feature in features:
        name, kind = str(feature["name"]), feature["kind"]
        values = X[name]
        if kind == "numeric":
            numbers = values.to_numpy(dtype="float64", na_value=np.nan)
            out[name] = [None if np.isnan(v) else v for v in numbers.tolist()]
        elif kind == "datetime":
            stamps = values.to_numpy(dtype="datetime64[us]")
            ints = stamps.astype("int64").tolist()
            out[name] = [None if np.isnat(s) else v for s, v in zip(stamps, ints, strict=True)]
        else:
            out[name] = values.to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]  # pandas-stubs: None is valid
    return out


def typed_features(
    records: list[dict[str, Any]], features: list[dict[str, Any]]
) -> dict[str, list[Any]]:
    """The requests' raw feature values typed by the model's own reader, in one pass.

    Each request was read by the model when it was scored; a batch can still fail where two
    requests disagree (e.g. dates with and without a time zone), so then each is typed alone.
    """
    names = [str(feature["name"]) for feature in features]
    raw = pd.DataFrame({n: [v for r in records for v in r["features"][n]] for n in names})
    try:
        return _typed_lists(raw, features)
    except FoldwiseError:
        parts = [_typed_lists(pd.DataFrame(r["features"]), features) for r in records]
        return {n: [v for part in parts for v in part[n]] for n in names}


def compact_segment(root: Path, segment: Path) -> int:
    """Convert a closed segment into Parquet parts, then delete it; returns the rows written."""
    rows = 0
    for day, table in sorted(segment_tables(segment).items()):
        write_parquet_durable(table, root / f"date={day}" / f"part-{segment.stem}.parquet")
        rows += table.num_rows
    segment.unlink()
    fsync_dir(segment.parent)
    return rows
