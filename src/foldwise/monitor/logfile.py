"""Write scored rows in the prediction log's format (CONTRACTS.md), as ``foldwise serve`` does.

Used by ``foldwise simulate --log`` and the benchmark; the server (issue 13) has its own
writer. Hive-partitioned Parquet, one folder per day, files renamed into place complete.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from foldwise.artifacts import ID_PREFIX
from foldwise.bundle import Bundle
from foldwise.models import feature_frame

_ARROW_KIND = {
    "numeric": pa.float64(),
    "categorical": pa.string(),
    "boolean": pa.bool_(),
    "datetime": pa.timestamp("us"),
}


def features_type(features: list[dict[str, Any]]) -> pa.StructType:
    """The ``features`` struct type for a bundle's feature schema."""
    return pa.struct([pa.field(str(f["name"]), _ARROW_KIND[f["kind"]]) for f in features])


def log_table(
    rows: pd.DataFrame,
    ids: np.ndarray,
    ts: np.ndarray,
    bundle: Bundle,
    scores: np.ndarray,
    model_version: str,
) -> pa.Table:
    """One log row per scored row, typed as CONTRACTS.md describes."""
    n = len(rows)
    task = bundle.problem.task
    typed = feature_frame(rows, bundle.features)
    struct = pa.StructArray.from_arrays(
        [
            pa.array(
                typed[str(f["name"])].to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]  # pandas-stubs: None is valid
                if f["kind"] in ("categorical", "boolean")
                else typed[str(f["name"])],
                _ARROW_KIND[f["kind"]],
                from_pandas=True,
            )
            for f in bundle.features
        ],
        fields=list(features_type(bundle.features)),
    )
    if task == "regression":
        prediction = pa.nulls(n, pa.string())
        value = pa.array(scores, pa.float64())
        proba = pa.nulls(n, pa.list_(pa.float64()))
    else:
        assert bundle.problem.classes is not None
        codes = bundle.predict_codes(scores)
        prediction = pa.array([str(c) for c in np.asarray(bundle.problem.classes)[codes]])
        value = pa.array(scores[:, 1] if task == "binary" else scores.max(axis=1))
        proba = pa.array(list(scores), pa.list_(pa.float64()))
    request = pa.array([f"req-{i // 100}" for i in range(n)], pa.string())
    # The model's id columns the rows carry, as text under id:<column> like the server logs them.
    id_columns = {
        f"{ID_PREFIX}{name}": pa.array(
            [None if pd.isna(v) else str(v) for v in rows[name].to_numpy(dtype=object)],
            pa.string(),
        )
        for name in bundle.metadata.get("id_columns") or []
        if name in rows.columns
    }
    return pa.table(
        {
            "request_id": request,
            "row": pa.array(np.arange(n) % 100, pa.int32()),
            "id": pa.array(ids.astype(str), pa.string()),
            **id_columns,
            "ts": pa.array(ts.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
            "model_version": pa.array([model_version] * n, pa.string()),
            "prediction": prediction,
            "value": value,
            "proba": proba,
            "shadow_model_version": pa.nulls(n, pa.string()),
            "shadow_prediction": pa.nulls(n, pa.string()),
            "shadow_value": pa.nulls(n, pa.float64()),
            "shadow_proba": pa.nulls(n, pa.list_(pa.float64())),
            "features": struct,
        }
    )


def append_log(root: Path, table: pa.Table) -> list[Path]:
    """Write ``table`` under ``root/date=YYYY-MM-DD/part-<uuid>.parquet``, one file per day."""
    days = table.column("ts").cast(pa.timestamp("us")).to_numpy().astype("datetime64[D]")
    written = []
    for day in np.unique(days):
        part = table.filter(pa.array(days == day))
        folder = root / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"part-{uuid.uuid4().hex}.parquet"
        tmp = folder / f".{final.name}.tmp"
        pq.write_table(part, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        written.append(final)
    return written
