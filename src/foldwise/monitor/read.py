"""Read production rows: the prediction log (hive-partitioned Parquet) or CSV/Parquet batches.

The log is streamed record batch by record batch with ``pyarrow.dataset`` (never all rows in
pandas); batches are user files of moderate size, read whole and scored with the bundle.
Labelled rows (ids found in the labels file) are kept with their score and features for the
performance checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from foldwise.bundle import Bundle
from foldwise.data import read_table
from foldwise.errors import FoldwiseError, quoted
from foldwise.labels import Labels, row_keys
from foldwise.models import feature_frame
from foldwise.monitor.collect import Collector, PeriodStats, period_keys
from foldwise.profile.reference import column_values, is_binned

LOG_COLUMNS = ("ts", "id", "value", "proba", "prediction", "features")
BATCH_ROWS = 500_000


@dataclass
class Observed:
    """Per-period summaries of the production rows, and the labelled rows."""

    periods: list[PeriodStats]
    labelled: pd.DataFrame | None
    source: str
    findings: list[dict[str, Any]] = field(default_factory=list)  # schema findings, whole run
    label_summary: dict[str, Any] | None = None


def _score_parts(
    task: str, value: np.ndarray, proba: np.ndarray | None, predicted: pa.Array | None
) -> tuple[np.ndarray | None, pa.Array | None, np.ndarray | None]:
    """(score, predicted label, confidence) for the collector, by task."""
    if task == "multiclass":
        confidence = None if proba is None else proba.max(axis=1)
        return None, predicted, confidence
    return value, None, None


def _log_features(struct: pa.StructArray, features: list[dict[str, Any]]) -> dict[str, Any]:
    """Typed feature arrays from the log's ``features`` struct column."""
    columns: dict[str, Any] = {}
    for feature in features:
        name, kind = str(feature["name"]), feature["kind"]
        values = struct.field(name)
        try:
            columns[name] = _typed(values, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise FoldwiseError(
                f"prediction log: column {name!r} cannot be read as {kind} ({exc})"
            ) from None
    return columns


def _typed(values: pa.Array, kind: str) -> Any:
    """One logged feature as the collector takes it (float days for dates, text for categories)."""
    if kind == "numeric":
        return values.cast(pa.float64()).to_numpy(zero_copy_only=False)
    if kind == "datetime":
        micros = values.cast(pa.timestamp("us")).cast(pa.int64())
        return micros.to_numpy(zero_copy_only=False).astype("float64") / 86_400e6
    return values.cast(pa.string())


def _check_log_schema(schema: pa.Schema, features: list[dict[str, Any]], root: Path) -> list[dict]:
    missing = [c for c in LOG_COLUMNS if c not in schema.names]
    if missing:
        raise FoldwiseError(
            f"{root}: the prediction log has no column(s) {quoted(missing)}; expected the columns of "
            "the prediction log written by foldwise serve"
        )
    struct = schema.field("features").type
    names = [struct.field(i).name for i in range(struct.num_fields)]
    absent = [str(f["name"]) for f in features if str(f["name"]) not in names]
    if absent:
        raise FoldwiseError(
            f"{root}: logged features lack column(s) {quoted(absent)} expected by the model; the "
            "log was written by another model or a changed schema"
        )
    extra = sorted(set(names) - {str(f["name"]) for f in features})
    findings = [
        {"check": "schema", "column": name, "message": f"column {name!r} is not a model feature"}
        for name in extra
    ]
    for feature in features:
        name, kind = str(feature["name"]), feature["kind"]
        logged = struct.field(name).type
        if not _fits(logged, kind):
            findings.append(
                {
                    "check": "schema",
                    "column": name,
                    "message": f"column {name!r} is logged as {logged}, expected {kind}; converted",
                }
            )
    return findings


def _fits(logged: pa.DataType, kind: str) -> bool:
    if kind == "numeric":
        return pa.types.is_floating(logged) or pa.types.is_integer(logged)
    if kind == "datetime":
        return pa.types.is_timestamp(logged) or pa.types.is_date(logged)
    if kind == "boolean":
        return pa.types.is_boolean(logged)
    return pa.types.is_string(logged) or pa.types.is_large_string(logged)


def read_log(root: Path, bundle: Bundle, period: str, labels: Labels | None) -> Observed:
    """Stream the prediction log under ``root`` into per-period summaries."""
    assert bundle.reference is not None
    dataset = ds.dataset(root, format="parquet", partitioning="hive")
    findings = _check_log_schema(dataset.schema, bundle.features, root)
    task = bundle.problem.task
    collector = Collector(bundle.reference, period, bundle.threshold)
    # Little read-ahead: memory stays near one batch per column whatever the log's size.
    scanner = dataset.scanner(
        columns=["ts", "value", "proba", "prediction", "features"],
        batch_size=BATCH_ROWS,
        batch_readahead=2,
        fragment_readahead=1,
    )
    for batch in scanner.to_batches():
        if batch.num_rows == 0:
            continue
        ts = batch.column("ts").cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
        value = batch.column("value").cast(pa.float64()).to_numpy(zero_copy_only=False)
        proba = None
        if task == "multiclass":
            proba = np.stack(batch.column("proba").to_numpy(zero_copy_only=False))
        predicted = batch.column("prediction").cast(pa.string())
        score, label, confidence = _score_parts(task, value, proba, predicted)
        columns = _log_features(batch.column("features"), bundle.features)
        collector.add(ts, columns, score, label, confidence)
    periods = collector.periods()
    if not periods:
        raise FoldwiseError(f"{root}: the prediction log has no rows")
    labelled = None
    summary = None
    if labels is not None:
        keys = labels.log_columns
        absent = [c for c in keys if c not in dataset.schema.names]
        if absent:
            raise FoldwiseError(
                f"{root}: the prediction log has no column(s) {quoted(absent)} to join the labels on "
                f"({labels.describe()}); label it by 'id', the id the server answered with"
            )
        first = pa.array(labels.first_parts(), pa.string())
        table = dataset.to_table(
            columns=[*keys, "ts", "value", "proba", "prediction", "features"],
            filter=pc.field(keys[0]).isin(first),
        )
        labelled, summary = _labelled_from_log(table, bundle, period, labels)
    return Observed(periods, labelled, f"prediction log {root}", findings, summary)


def _labelled_from_log(
    table: pa.Table, bundle: Bundle, period: str, labels: Labels
) -> tuple[pd.DataFrame, dict[str, Any]]:
    task = bundle.problem.task
    ts = table.column("ts").cast(pa.timestamp("us")).to_numpy()
    value = table.column("value").cast(pa.float64()).to_numpy(zero_copy_only=False)
    proba = None
    if task != "regression" and table.num_rows:
        proba = np.stack(table.column("proba").to_numpy(zero_copy_only=False))
    features = _log_features(table.column("features").combine_chunks(), bundle.features)
    ids = row_keys(table.select(labels.log_columns).to_pandas(), labels.log_columns)
    return _join_labels(ids, ts, value, proba, features, bundle, period, labels)


def _join_labels(
    ids: np.ndarray,
    ts: np.ndarray,
    value: np.ndarray,
    proba: np.ndarray | None,
    features: dict[str, Any],
    bundle: Bundle,
    period: str,
    labels: Labels,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows with a label: id (the join key), period, encoded label, scores and features."""
    frame = pd.DataFrame({"id": ids})
    keep = frame["id"].isin(labels.frame["key"]).to_numpy()
    summary = {"labels": len(labels.frame), "matched": int(keep.sum()), "on": list(labels.columns)}
    if not keep.any():
        example = labels.frame["key"].iloc[0].replace("\x1f", ", ")
        raise FoldwiseError(
            f"labels: none of the {len(labels.frame)} labelled id(s) ({labels.describe()}, e.g. "
            f"{example!r}) match a prediction's {', '.join(labels.log_columns)}"
        )
    codes, names = period_keys(ts[keep], period)
    out = pd.DataFrame({"id": ids[keep], "period": np.asarray(names, dtype=object)[codes]})
    by_id = labels.frame.set_index("key")["label"]
    out["y"] = bundle.problem.encode(out["id"].map(by_id))
    out["value"] = value[keep]
    if proba is not None:
        for i in range(proba.shape[1]):
            out[f"proba_{i}"] = proba[keep, i]
    mask = pa.array(keep)
    for name, values in features.items():
        if isinstance(values, np.ndarray):
            out[f"f:{name}"] = values[keep]
        else:
            out[f"f:{name}"] = values.filter(mask).to_numpy(zero_copy_only=False)
    out = out.drop_duplicates("id", keep="last").reset_index(drop=True)
    summary["matched"] = len(out)
    return out, summary


def read_batches(
    paths: list[Path], bundle: Bundle, period: str, labels: Labels | None, time_column: str
) -> Observed:
    """Score CSV/Parquet batches with the bundle and summarise them per period.

    Rows are dated by ``time_column`` when the batch has it, else each file is one period
    named after the file (e.g. ``2025-03.csv``).
    """
    assert bundle.reference is not None
    reference = bundle.reference
    names = [str(f["name"]) for f in bundle.features]
    id_columns = reference.get("id_columns") or []
    collector = Collector(reference, period, bundle.threshold)
    findings: list[dict[str, Any]] = []
    pieces = []
    for path in paths:
        frame = read_table(path, text_columns=(*tuple(id_columns), "id"))
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise FoldwiseError(
                f"{path}: batch lacks feature column(s) {quoted(missing)} expected by the model "
                f"(it has {quoted(frame.columns, limit=8)})"
            )
        if frame.empty:
            raise FoldwiseError(f"{path}: the batch has a header but no rows")
        known = {*names, time_column, "id", *id_columns, bundle.problem.target}
        findings += [
            {
                "check": "schema",
                "column": c,
                "message": f"{path.name}: column {c!r} is not a model feature",
            }
            for c in frame.columns
            if c not in known
        ]
        frame, bad = _unparsable_numbers(frame, bundle.features, path)
        findings += bad
        typed = feature_frame(frame, bundle.features)
        scores = bundle.predict_scores(frame)
        ts = _batch_times(frame, path, time_column)
        task = bundle.problem.task
        if task == "multiclass":
            predicted = pa.array(
                [str(c) for c in np.asarray(bundle.problem.classes)[scores.argmax(1)]]
            )
            score, label, confidence = None, predicted, scores.max(axis=1)
        else:
            score = scores[:, 1] if task == "binary" else scores
            label, confidence = None, None
        columns = {f["name"]: column_values(typed[f["name"]], f["kind"]) for f in bundle.features}
        collector.add(path.stem if ts is None else ts, columns, score, label, confidence)
        if labels is not None:
            ids = _batch_keys(frame, labels, id_columns, path)
            pieces.append((ids, ts, path.stem, score, scores, columns))
    labelled, summary = None, None
    if labels is not None:
        labelled, summary = _labelled_from_batches(pieces, bundle, period, labels)
    return Observed(collector.periods(), labelled, "batches", findings, summary)


def _unparsable_numbers(
    frame: pd.DataFrame, features: list[dict[str, Any]], path: Path
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Numeric feature values that are not numbers become missing, each column reported."""
    findings = []
    for feature in features:
        name = str(feature["name"])
        values = frame[name]
        if feature["kind"] != "numeric" or pd.api.types.is_numeric_dtype(values):
            continue
        text = values.astype("str").str.strip()
        blank = values.isna() | (text == "")
        numbers = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
        bad = numbers.isna() & ~blank
        if bad.any():
            example = text[bad].iloc[0]
            findings.append(
                {
                    "check": "schema",
                    "column": name,
                    "message": f"{path.name}: column {name!r}: {int(bad.sum())} value(s) are not "
                    f"numbers (e.g. {example!r}); counted as missing",
                }
            )
            frame = frame.assign(**{name: values.mask(bad)})
    return frame, findings


def _batch_times(frame: pd.DataFrame, path: Path, time_column: str) -> np.ndarray | None:
    if time_column not in frame.columns:
        return None
    stamps = pd.to_datetime(frame[time_column], errors="coerce", utc=True)
    if stamps.isna().any():
        raise FoldwiseError(
            f"{path}: column {time_column!r} has {int(stamps.isna().sum())} value(s) that are "
            "not dates; expected an ISO timestamp per row"
        )
    return stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")


def _batch_keys(
    frame: pd.DataFrame, labels: Labels, id_columns: list[str], path: Path
) -> np.ndarray:
    """Each batch row's join key: the labels' id columns, or for ``id`` the batch's ``id``
    (else its first id column)."""
    if not labels.by_row_id:
        absent = [c for c in labels.columns if c not in frame.columns]
        if absent:
            raise FoldwiseError(
                f"{path}: the labels join on {labels.describe()} but the batch has no "
                f"column(s) {quoted(absent)}"
            )
        return row_keys(frame, labels.columns)
    for column in ["id", *id_columns]:
        if column in frame.columns:
            return row_keys(frame, [column])
    raise FoldwiseError(
        f"{path}: labels were given but the batch has no id column ('id' or {id_columns}) "
        "to join them on"
    )


def _labelled_from_batches(pieces: list, bundle: Bundle, period: str, labels: Labels) -> tuple:
    ids = np.concatenate([p[0] for p in pieces])
    ts = np.concatenate(
        [p[1] if p[1] is not None else np.zeros(len(p[0]), dtype="datetime64[us]") for p in pieces]
    )
    task = bundle.problem.task
    value = np.concatenate(
        [p[3] if p[3] is not None else np.full(len(p[0]), np.nan) for p in pieces]
    )
    proba = None if task == "regression" else np.concatenate([p[4] for p in pieces])
    features = {}
    for f in bundle.features:
        parts = [p[5][f["name"]] for p in pieces]
        features[f["name"]] = (
            np.concatenate(parts) if is_binned(f["kind"]) else pa.concat_arrays(parts)
        )
    out, summary = _join_labels(ids, ts, value, proba, features, bundle, period, labels)
    if any(p[1] is None for p in pieces):  # periods named after files
        file_of = np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in pieces])
        where = pd.Series(file_of, index=ids)
        out["period"] = out["id"].map(where[~where.index.duplicated(keep="last")]).to_numpy()
    return out, summary
