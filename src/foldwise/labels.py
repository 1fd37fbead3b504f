"""Labels that arrive after the predictions, and the key they join on.

A labels file (CSV or Parquet) holds the target (named as in training, or ``label``) and either

- the model's id columns under their own names (e.g. ``customer_id``; all of them when there
  are several): joined with the prediction log's ``id:<column>`` columns, or with the same
  columns of a batch file; or
- ``id``: the id the server answered with (the first id column's value, else
  ``<request_id>:<row>``), joined with the log's ``id`` column, or with a batch's ``id`` (else
  its first id column).

The model's own id columns win when the file has both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from foldwise.artifacts import ID_PREFIX
from foldwise.data import read_table
from foldwise.errors import FoldwiseError

ROW_ID = "id"
_SEPARATOR = "\x1f"  # between the parts of a key of several id columns (never in a CSV cell)


@dataclass(frozen=True)
class Labels:
    """One label per key (the last one given wins) and the id columns the key is made of."""

    frame: pd.DataFrame  # columns "key" and "label"
    columns: tuple[str, ...]

    @property
    def by_row_id(self) -> bool:
        """True when the labels carry the server's ``id`` rather than the model's id columns."""
        return self.columns == (ROW_ID,)

    @property
    def log_columns(self) -> list[str]:
        """The prediction-log columns holding the key."""
        return [ROW_ID] if self.by_row_id else [f"{ID_PREFIX}{c}" for c in self.columns]

    def describe(self) -> str:
        return ", ".join(self.columns)

    def first_parts(self) -> list[str]:
        """The first id column's value of every key (to filter the log before joining)."""
        return sorted({key.split(_SEPARATOR, 1)[0] for key in self.frame["key"]})


def row_keys(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The join key of each row from ``columns`` (text; None where a part is missing)."""
    parts = []
    for column in columns:
        values = frame[column].to_numpy(dtype=object)
        parts.append([None if _missing(v) else _text(v) for v in values])
    return np.asarray(
        [None if None in row else _SEPARATOR.join(row) for row in zip(*parts, strict=True)],
        dtype=object,
    )


def _missing(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value))


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_labels(path: Path, target: str, id_columns: Sequence[str] = ()) -> Labels:
    """The labels of ``path``, keyed by the model's ``id_columns`` if it has them all, else ``id``."""
    id_columns = [str(c) for c in id_columns]
    frame = read_table(path, text_columns=(*id_columns, ROW_ID))
    if id_columns and all(c in frame.columns for c in id_columns):
        columns: tuple[str, ...] = tuple(id_columns)
    elif ROW_ID in frame.columns:
        columns = (ROW_ID,)
    else:
        wanted = " + ".join(repr(c) for c in id_columns) if id_columns else ""
        raise FoldwiseError(
            f"{path}: no id column; expected "
            + (f"the model's id column(s) {wanted} or " if wanted else "")
            + f"'id' (the id the server answered with), beside {target!r}"
        )
    label = next((c for c in (target, "label") if c in frame.columns and c not in columns), None)
    if label is None:
        raise FoldwiseError(
            f"{path}: no label column; expected {target!r} (the bundle's target) or 'label'"
        )
    out = pd.DataFrame({"key": row_keys(frame, columns), "label": frame[label].to_numpy()})
    out = out.dropna()
    if out.empty:
        raise FoldwiseError(f"{path}: no labelled rows (every id or label is blank)")
    return Labels(out.drop_duplicates("key", keep="last").reset_index(drop=True), columns)


def combine(parts: list[Labels]) -> Labels:
    """Several labels files as one; they must join on the same columns."""
    kinds = {p.columns for p in parts}
    if len(kinds) > 1:
        raise FoldwiseError(
            "labels: the files join on different columns ("
            + "; ".join(", ".join(k) for k in sorted(kinds))
            + "); give every file the same id column(s)"
        )
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    frame = frame.drop_duplicates("key", keep="last").reset_index(drop=True)
    return Labels(frame, parts[0].columns)
