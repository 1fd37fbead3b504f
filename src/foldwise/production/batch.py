"""Batch scoring: one pandas chunk of raw rows into the prediction table.

:func:`score_chunk` is the one place a chunk becomes predictions; ``foldwise predict`` (local
files, :mod:`foldwise.production.batch_files`) and Spark (:mod:`foldwise.production.spark`)
both call it, so they give the same table. Scoring goes through the bundle's public
:meth:`~foldwise.bundle.Bundle.predict`; a cell it refuses is found by asking the same
coercion about the column's distinct values (halving the set that fails), so "bad" means
exactly what ``Bundle.predict`` refuses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from foldwise.artifacts import ID_PREFIX, prediction_table
from foldwise.bundle import MANIFEST, Bundle, bundle_name
from foldwise.errors import FoldwiseError
from foldwise.integrity import SELF_HASH_KEY
from foldwise.models import feature_frame

ON_ERROR = ("fail", "skip")
VERSION_COLUMN = "model_version"
SHA_COLUMN = "model_sha256"
SHA_CHARS = 12
_EXPECTED = {
    "numeric": "a number",
    "boolean": "a boolean (true/false, yes/no or 0/1)",
    "datetime": "a date (e.g. 2024-01-31)",
    "categorical": "a category",
}


@dataclass(frozen=True)
class BundleVersion:
    """Which model scored a row: its registered ref (if known) and its content hash.

    ``sha256`` is the manifest's own hash, which covers every file's sha256, so two bundles
    share it only if every byte of every file agrees.
    """

    sha256: str
    ref: str | None = None

    @property
    def label(self) -> str:
        """The ``model_version`` column: the bundle's one name, as ``foldwise serve`` logs it
        (``model@v1.2.0 (sha256:abcdef123456)``, else ``sha256:abcdef123456``)."""
        return bundle_name(self.sha256, self.ref)


def bundle_version(directory: Path, ref: str | None = None) -> BundleVersion:
    """The version of the bundle in ``directory`` (read after :meth:`Bundle.load` checked it)."""
    manifest = json.loads((Path(directory) / MANIFEST).read_text(encoding="utf-8"))
    return BundleVersion(str(manifest[SELF_HASH_KEY]), ref)


@dataclass(frozen=True)
class BadCell:
    """A cell the bundle's coercion refuses; ``row`` is the chunk's index label (0-based)."""

    row: int
    column: str
    value: Any
    kind: str

    def describe(self, source: str | None = None) -> str:
        where = f"{source}: row {self.row + 1}, " if source else ""
        return f"{where}column {self.column!r}: {self.value!r} is not {_EXPECTED[self.kind]}"


@dataclass(frozen=True)
class ScoredChunk:
    """The prediction table of a chunk, and the cells that left rows out (``skip``)."""

    table: pd.DataFrame
    skipped_rows: int
    bad_cells: tuple[BadCell, ...]


class BadCellError(FoldwiseError):
    """A refused cell under ``--on-error fail``."""

    def __init__(self, cell: BadCell, source: str | None = None) -> None:
        self.cell = cell
        super().__init__(f"{cell.describe(source)} (--on-error skip leaves such rows out)")


def output_names(bundle: Bundle, id_columns: Sequence[str]) -> list[str]:
    """The columns of the prediction table, in order."""
    names = [f"{ID_PREFIX}{c}" for c in id_columns] + ["prediction"]
    if bundle.problem.classes is not None:
        names += [f"proba_{label}" for label in bundle.problem.classes]
    return [*names, VERSION_COLUMN, SHA_COLUMN]


def prediction_type(bundle: Bundle) -> pa.DataType:
    """The Arrow type of ``prediction``: float64 for regression, else the labels' type."""
    classes = bundle.problem.classes
    if classes is None:
        return pa.float64()
    try:
        found = pa.array(list(classes)).type
    except (pa.ArrowException, TypeError):
        return pa.string()
    return found if found in (pa.string(), pa.int64(), pa.bool_(), pa.float64()) else pa.string()


def output_schema(bundle: Bundle, id_types: dict[str, pa.DataType]) -> pa.Schema:
    """The Arrow schema of the prediction table (``id_types``: each id column's type)."""
    fields = [pa.field(f"{ID_PREFIX}{c}", t) for c, t in id_types.items()]
    fields.append(pa.field("prediction", prediction_type(bundle)))
    if bundle.problem.classes is not None:
        fields += [pa.field(f"proba_{label}", pa.float64()) for label in bundle.problem.classes]
    fields += [pa.field(VERSION_COLUMN, pa.string()), pa.field(SHA_COLUMN, pa.string())]
    return pa.schema(fields)


def _refused(values: pd.Series, feature: dict[str, Any]) -> bool:
    try:
        feature_frame(values.to_frame(), [feature])
    except FoldwiseError:
        return True
    return False


def _bad_values(values: pd.Series, feature: dict[str, Any]) -> list[Any]:
    """The distinct values of a column the coercion refuses one by one.

    Raises the coercion's own error when the column as a whole is refused (a dtype that is
    not the model's, dates in mixed time zones) rather than any one value.
    """
    distinct = values.dropna().drop_duplicates()
    if distinct.empty or not _refused(distinct, feature):
        return []
    if _refused(distinct.iloc[:0], feature):
        feature_frame(distinct.iloc[:0].to_frame(), [feature])  # raises the column's error
    bad, pending = [], [distinct]
    while pending:
        part = pending.pop()
        if len(part) == 1:
            bad.append(part.iloc[0])
            continue
        halves = [part.iloc[: len(part) // 2], part.iloc[len(part) // 2 :]]
        failing = [half for half in halves if _refused(half, feature)]
        if not failing:  # refused together, accepted apart: not a cell's fault
            feature_frame(part.to_frame(), [feature])
        pending.extend(failing)
    return bad


def bad_cells(bundle: Bundle, frame: pd.DataFrame) -> tuple[np.ndarray, tuple[BadCell, ...]]:
    """Which rows hold a refused cell, and every refused cell, in row then feature order."""
    mask = np.zeros(len(frame), dtype=bool)
    cells: list[BadCell] = []
    for feature in bundle.features:
        name = str(feature["name"])
        column = frame[name].rename(name)
        values = _bad_values(column, feature)
        if not values:
            continue
        hit = column.isin(values).to_numpy(dtype=bool, na_value=False)
        mask |= hit
        for row, value in column[hit].items():
            cells.append(BadCell(int(cast(int, row)), name, value, str(feature["kind"])))
    cells.sort(key=lambda c: c.row)
    return mask, tuple(cells)


def score_chunk(
    bundle: Bundle,
    frame: pd.DataFrame,
    *,
    id_columns: Sequence[str],
    version: BundleVersion,
    on_error: str = "fail",
    source: str | None = None,
) -> ScoredChunk:
    """Score raw rows into ``id:<column>``, ``prediction``, probabilities and the version.

    A refused cell raises :class:`BadCellError` (``fail``, naming ``source``, the row and the
    column) or leaves its row out (``skip``).
    """
    if on_error not in ON_ERROR:
        raise FoldwiseError(f"on_error {on_error!r}: expected one of {', '.join(ON_ERROR)}")
    skipped = 0
    cells: tuple[BadCell, ...] = ()
    try:
        result = bundle.predict(frame)
    except FoldwiseError as exc:
        mask, cells = bad_cells(bundle, frame)
        if not cells:
            raise FoldwiseError(f"{source}: {exc}" if source else str(exc)) from None
        if on_error == "fail":
            raise BadCellError(cells[0], source) from None
        frame = frame[~mask]
        skipped = int(mask.sum())
        result = bundle.predict(frame)
    table = prediction_table(frame, list(id_columns), result)
    table[VERSION_COLUMN] = version.label
    table[SHA_COLUMN] = version.sha256[:SHA_CHARS]
    return ScoredChunk(table, skipped, cells)
