"""Read files written by other stages; a damaged or missing file is one line naming it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from foldwise.errors import FoldwiseError, quoted

if TYPE_CHECKING:
    from foldwise.bundle import Bundle

REBUILD = "run `dvc repro` to rebuild it (or `dvc checkout` to restore the cached version)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _missing(path: Path) -> FoldwiseError:
    return FoldwiseError(f"{path}: file not found; {REBUILD}")


def damaged(path: Path, exc: BaseException) -> FoldwiseError:
    """The one-line error for a file another stage wrote that cannot be read."""
    return FoldwiseError(
        f"{path}: cannot be read, the file is damaged ({type(exc).__name__}: "
        f"{_first_line(exc)[:160]}); {REBUILD}"
    )


def read_parquet_checked(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet table written by a stage; ``columns`` must all be in it."""
    if not path.is_file():
        raise _missing(path)
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # Arrow, OS and decoder errors alike mean a damaged file
        raise damaged(path, exc) from None
    absent = [c for c in columns or [] if c not in frame.columns]
    if absent:
        raise FoldwiseError(
            f"{path}: column(s) {quoted(absent, 5)} are missing, so the file does not belong to this "
            f"run; {REBUILD}"
        )
    return frame


def read_json_checked(path: Path, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """A JSON object written by a stage; ``keys`` must all be in it."""
    if not path.is_file():
        raise _missing(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise damaged(path, exc) from None
    if not isinstance(payload, dict):
        raise FoldwiseError(
            f"{path}: expected a JSON object, found {type(payload).__name__}; {REBUILD}"
        )
    absent = [k for k in keys if k not in payload]
    if absent:
        raise FoldwiseError(f"{path}: key(s) {quoted(absent)} are missing; {REBUILD}")
    return payload


SCHEMA_KEYS = ("target", "task", "metric", "features")


def read_schema(path: Path) -> dict[str, Any]:
    """``schema.json`` written by prepare, with the keys every later stage reads."""
    return read_json_checked(path, SCHEMA_KEYS)


def load_bundle_checked(directory: Path) -> Bundle:
    """The model bundle in ``directory``; any read failure names the file that failed."""
    from foldwise.bundle import MANIFEST, MODEL_DIR, Bundle
    from foldwise.models import MODEL_FILE, MODEL_NAMES, PIPELINE_FILE, saved_model_file

    if not directory.is_dir():
        raise FoldwiseError(f"{directory}: model bundle not found; {REBUILD}")
    read_json_checked(directory / MANIFEST, ("format", "problem", "features"))
    state = read_json_checked(directory / MODEL_DIR / MODEL_FILE, ("format", "params", "fitted"))
    params = state.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    saved = saved_model_file(name) if name in MODEL_NAMES else PIPELINE_FILE
    model_file = directory / MODEL_DIR / saved
    if not model_file.is_file():
        raise _missing(model_file)
    try:
        return Bundle.load(directory)
    except FoldwiseError:
        raise
    except Exception as exc:  # CatBoost, joblib/pickle, KeyError from a hand-edited manifest
        culprit = model_file if not isinstance(exc, KeyError | TypeError) else directory / MANIFEST
        raise damaged(culprit, exc) from None


ID_PREFIX = "id:"


def id_columns(
    frame: pd.DataFrame, names: list[str], rows: np.ndarray | None = None
) -> pd.DataFrame:
    """The id columns ``names`` of ``frame`` (the rows at positions ``rows``, default all) as
    ``id:<name>``, index 0..n-1.

    Every file foldwise writes with one line per row carries the user's ids this way, so no id
    column name can collide with foldwise's own columns (``fold``, ``row``, ``prediction``,
    ``y_true``, ``loss``, ``proba_<label>``...), whose names never start with ``id:``.
    """
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise FoldwiseError(f"id column(s) {quoted(missing)} are not in the table")
    picked = {}
    for name in names:
        values = frame[name].to_numpy()
        picked[f"{ID_PREFIX}{name}"] = values if rows is None else values[rows]
    n = len(frame) if rows is None else len(rows)
    return pd.DataFrame(picked, index=pd.RangeIndex(n))


def with_ids(ids: pd.DataFrame, own: pd.DataFrame) -> pd.DataFrame:
    """``ids`` (from :func:`id_columns`) then foldwise's own columns, side by side by position."""
    clash = [c for c in own.columns if str(c).startswith(ID_PREFIX)]
    if clash:
        raise ValueError(f"foldwise column names {clash} must not start with {ID_PREFIX!r}")
    if len(ids) != len(own):
        raise ValueError(f"{len(ids)} id rows for {len(own)} rows of results")
    ids = ids.set_axis(own.index)
    return pd.concat([ids, own], axis=1) if len(ids.columns) else own.copy()


def prediction_table(source: pd.DataFrame, ids: list[str], own: pd.DataFrame) -> pd.DataFrame:
    """The id columns of ``source`` as ``id:<column>``, then foldwise's own columns."""
    return with_ids(id_columns(source, ids), own)
