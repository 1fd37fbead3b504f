"""Fast scoring of raw rows: the same values as ``feature_frame`` + the model frame, cheaper.

Rows (a table, one mapping, or a list of mappings such as parsed JSON) are taken apart into
one column per feature, and the columns are converted a whole column at a time by
:mod:`foldwise.scoring.columns`: numbers go straight to numpy; a text column of records or
of a small table is read through its distinct values in plain Python
(:mod:`foldwise.scoring.distinct`), other text columns of each kind are cleaned together by
a few pyarrow kernels. Nothing is kept between calls, so rows never seen before cost what
repeated ones do. Predictions are identical to the
reference path (``tests/scoring/test_fast.py`` checks exact equality for every model
and task, on messy inputs).

CatBoost gets its cheapest input: its own ``FeaturesData`` (float32 numbers, as it stores
every number, and an object array of category text) for small batches, a frame with pandas
categoricals (each distinct text hashed once) for large ones.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from foldwise.errors import FoldwiseError, quoted
from foldwise.models import TabularModel, feature_frame
from foldwise.models.frame import MISSING_CATEGORY, coerce_column, model_values
from foldwise.scoring.columns import (
    CleanText,
    RawColumn,
    array_column,
    list_column,
    series_column,
    text_array,
    text_values,
)
from foldwise.scoring.distinct import MAX_DISTINCT
from foldwise.scoring.overlap import (
    OVERLAP_ROWS,
    Chunk,
    overlapped_scores,
    same_readings,
    two_cores,
)
from foldwise.scoring.rows import Rows, column_arrays, gc_paused, records_of
from foldwise.scoring.small_batch import (
    FOREST_NAMES,
    OPENMP_NAMES,
    forest_scores,
    one_openmp_thread,
)

# CatBoost reads its own FeaturesData (float32 numbers, object categories) fastest up to a
# few thousand rows; beyond, a frame of categoricals hashes each distinct text once. Measured
# on the demo bundle (CPU ms, 2 cores, load 11-17): 100 rows 0.38-0.63 (FeaturesData) against
# 0.51-0.85 (2-D object array) and 0.83-1.3 (the typed frame); 10,000 rows from a table 38
# against 33 (categoricals), from records 32.5 against 33.5.
_FEATURES_DATA_ROWS = 2000
# CatBoost's thread_count for small batches: one thread. Measured on the demo bundle's object
# array (2 cores, load 11): one row 0.28 ms CPU (p50 0.21 ms) with one thread against 0.39 ms
# CPU (p50 0.31 ms) by default; 100 rows 1.20 against 1.32 ms CPU (p50 1.24 against 1.41 ms).
# A second run (load 10-12, `bench_scoring.py --threads`) saw no difference either way; one
# thread never cost more and leaves the other core to another request. The same bound sends
# scikit-learn forests and histogram boosting through `small_batch` (one thread, no pool).
_ONE_THREAD_ROWS = 1000
_KIND_ORDER = {"categorical": 0, "numeric": 1, "boolean": 2, "datetime": 3}


class FastScorer:
    """Turn raw rows into the fitted estimator's input and score them, column by column."""

    def __init__(self, model: TabularModel) -> None:
        self.model = model
        self.features = list(model.features)
        self.names = [str(f["name"]) for f in self.features]
        self.kinds = [str(f["kind"]) for f in self.features]
        self._catboost = model.name == "catboost"
        # One C call per record takes every feature's value (extra keys are never touched).
        take = operator.itemgetter(*self.names)
        self._take = take if len(self.names) > 1 else lambda record: (take(record),)
        self._number_columns = [i for i, k in enumerate(self.kinds) if k != "categorical"]
        self._category_columns = [i for i, k in enumerate(self.kinds) if k == "categorical"]
        self._features_data: Any = None
        if self._catboost:
            from catboost import FeaturesData  # only CatBoost bundles pay for the import

            self._features_data = FeaturesData

    # ----------------------------------------------------------------- raw columns

    def _frame_columns(self, rows: pd.DataFrame) -> list[RawColumn]:
        missing = [name for name in self.names if name not in rows.columns]
        if missing or not rows.columns.is_unique:
            feature_frame(rows.iloc[:0], self.features)  # raises the reference message
        position = {name: i for i, name in enumerate(rows.columns)}
        arrays = column_arrays(rows)
        out = []
        for name, kind in zip(self.names, self.kinds, strict=True):
            read = None if arrays is None else array_column(arrays(position[name]), kind)
            out.append(read or series_column(rows.iloc[:, position[name]], kind))
        return out

    def _record_columns(self, records: Sequence[Mapping[str, Any]]) -> list[RawColumn]:
        try:
            with gc_paused():
                # One C pass takes every record's values, zip(*rows) turns them into one
                # tuple per feature, in C.
                values = list(zip(*map(self._take, records), strict=True)) or [()] * len(self.names)
        except KeyError:
            self._missing_key(records)
            raise
        return [list_column(v, k) for v, k in zip(values, self.kinds, strict=True)]

    def _missing_key(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Name the first feature a record lacks (in feature order), and that record's gaps."""
        for name in self.names:
            position = next((i for i, r in enumerate(records) if name not in r), None)
            if position is not None:
                absent = [n for n in self.names if n not in records[position]]
                raise FoldwiseError(
                    f"input is missing feature column(s) {quoted(absent)} expected by the model"
                    + (f" (row {position})" if len(records) > 1 else "")
                )

    # ----------------------------------------------------------------- conversion

    def _reference(self, i: int, values: pd.Series) -> np.ndarray:
        """Feature ``i`` by the reference coercion (rare forms, and the error messages)."""
        kind = self.kinds[i]
        if len(values) and values.isna().all():
            # Entirely missing is missing whatever dtype the reader gave it (a column of
            # nulls reads as float): the reference refuses a float date column here.
            if kind == "categorical":
                return np.full(len(values), MISSING_CATEGORY, dtype=object)
            return np.full(len(values), np.nan)
        return model_values(coerce_column(values, kind, self.names[i]), kind)

    def convert(self, columns: list[RawColumn], n_rows: int, fast_only: bool = False) -> list[Any]:
        """Each feature's model values: float64 arrays, and text arrays for categories.

        All text columns are cleaned together, then read kind by kind; a column with a value
        the fast rules do not read goes to the reference coercion (which reads it or names it;
        ``fast_only``: raises :class:`NeedsReferenceError` instead).
        """
        out: list[Any] = [None] * len(columns)
        failed: dict[int, FoldwiseError] = {}  # the reference names the first bad column

        def reference(i: int, values: pd.Series) -> None:
            if fast_only:
                raise NeedsReferenceError(self.names[i])
            try:
                out[i] = self._reference(i, values)
            except FoldwiseError as exc:
                failed[i] = exc

        text: list[int] = []
        for i, column in enumerate(columns):
            if column.form in ("numbers", "model"):
                out[i] = column.values
            elif column.form == "text":
                text.append(i)
            else:
                reference(i, column.values)
        if text:
            self._convert_text(columns, text, n_rows, out, reference)
        if failed:
            raise failed[min(failed)]
        return out

    def _convert_text(
        self,
        columns: list[RawColumn],
        text: list[int],
        n_rows: int,
        out: list[Any],
        reference: Any,
    ) -> None:
        text.sort(key=lambda i: _KIND_ORDER[self.kinds[i]])  # each kind end to end
        raw = text_array([columns[i].values for i in text])
        clean = CleanText.of(raw)
        start = 0
        for kind, group in itertools.groupby(text, key=lambda i: self.kinds[i]):
            positions = list(group)
            stop = start + len(positions) * n_rows
            read = text_values(kind, clean.slice(start, stop))
            for j, i in enumerate(positions):
                begin, end = j * n_rows, (j + 1) * n_rows
                if read is None or read[1][begin:end].any():
                    cells = raw.slice(start + begin, n_rows).to_numpy(zero_copy_only=False)
                    reference(i, pd.Series(cells, dtype="str"))
                elif isinstance(read[0], pa.Array):
                    out[i] = read[0].slice(begin, n_rows)
                else:
                    out[i] = read[0][begin:end]
            start = stop

    # ----------------------------------------------------------------- estimator input

    def _frame_of(self, values: list[Any], categorical: bool) -> pd.DataFrame:
        out = {}
        for name, column in zip(self.names, values, strict=True):
            if isinstance(column, pa.Array):
                column = _categorical(column) if categorical else _objects(column)
            elif categorical and column.dtype == object:
                codes, uniques = pd.factorize(column)
                column = pd.Categorical.from_codes(codes, pd.Index(uniques, dtype=object))
            out[name] = column
        return pd.DataFrame(out, copy=False)

    def input_of(self, values: list[Any], n_rows: int) -> Any:
        """The estimator's input from :meth:`convert`'s values (which it does not change)."""
        if not self._catboost:
            return self._frame_of(values, categorical=False)
        if n_rows > _FEATURES_DATA_ROWS:
            return self._frame_of(values, categorical=True)
        return self._catboost_input(values, n_rows)

    def _catboost_input(self, values: list[Any], n_rows: int) -> Any:
        """CatBoost's own columnar input: float32 numbers (what it turns every number into)
        and an object array of category text, each in the model's feature order."""
        numbers = categories = None
        if self._number_columns:
            numbers = np.empty((n_rows, len(self._number_columns)), dtype="float32")
            for j, i in enumerate(self._number_columns):
                numbers[:, j] = values[i]
        if self._category_columns:
            categories = np.empty((n_rows, len(self._category_columns)), dtype=object)
            for j, i in enumerate(self._category_columns):
                column = values[i]
                categories[:, j] = _objects(column) if isinstance(column, pa.Array) else column
        return self._features_data(
            num_feature_data=numbers,
            cat_feature_data=categories,
            num_feature_names=[self.names[i] for i in self._number_columns] or None,
            cat_feature_names=[self.names[i] for i in self._category_columns] or None,
        )

    def model_frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The reference's model frame of raw rows: floats, and text for categories."""
        values = self.convert(self._frame_columns(rows), len(rows))
        return self._frame_of(values, categorical=False)

    def records_matrix(self, records: Sequence[Mapping[str, Any]]) -> Any:
        """The estimator's input for rows given as mappings (e.g. parsed JSON)."""
        return self.input_of(
            self.convert(self._record_columns(records), len(records)), len(records)
        )

    def records_chunk(self, records: Sequence[Mapping[str, Any]]) -> Chunk | None:
        """A chunk of a large batch of records: its estimator input and each feature's value
        types, by the fast rules alone; None when a record lacks a feature or a column needs
        the reference coercion (the whole batch then takes the serial path)."""
        try:
            with gc_paused():
                values = list(zip(*map(self._take, records), strict=True))
        except KeyError:
            return None
        types = [set(map(type, v)) for v in values]
        # A chunk is a few thousand rows: text of more distinct values than a quarter of them
        # (dates, numbers as text) costs less in the kernels than value by value.
        most = min(MAX_DISTINCT, len(records) // 4)
        columns = [
            list_column(v, k, t, most) for v, k, t in zip(values, self.kinds, types, strict=True)
        ]
        if any(column.form == "series" for column in columns):
            return None
        try:
            converted = self.convert(columns, len(records), fast_only=True)
        except NeedsReferenceError:
            return None
        # CatBoost's FeaturesData: less work in all than a frame of categoricals per chunk
        return Chunk(self._catboost_input(converted, len(records)), types)

    def consistent(self, chunk_types: list[list[set[type]]]) -> bool:
        """Whether every feature's values take in each chunk the reading they take together."""
        return same_readings(self.kinds, chunk_types)

    def columns_matrix(self, columns: Mapping[str, Sequence[Any]]) -> Any:
        """The estimator's input for raw values given feature by feature (as records would be).

        ``columns`` maps every feature name to its values, one per row, in row order; the
        same input as the records ``[{name: columns[name][i], ...} for i in ...]``.
        """
        return self.input_of(*self.columns_converted(columns))

    def columns_converted(self, columns: Mapping[str, Sequence[Any]]) -> tuple[list[Any], int]:
        """:meth:`convert`'s values and the row count of feature-by-feature raw values."""
        try:
            values = [columns[name] for name in self.names]
        except KeyError:
            absent = [n for n in self.names if n not in columns]
            raise FoldwiseError(
                f"input is missing feature column(s) {quoted(absent)} expected by the model"
            ) from None
        n_rows = len(values[0]) if values else 0
        if any(len(v) != n_rows for v in values):
            raise FoldwiseError("columns: every feature needs one value per row")
        raw = [list_column(v, k) for v, k in zip(values, self.kinds, strict=True)]
        return self.convert(raw, n_rows), n_rows

    def converted(self, rows: Rows) -> tuple[list[Any], int]:
        """:meth:`convert`'s values and the row count of any accepted form of raw rows."""
        if isinstance(rows, pd.DataFrame):
            return self.convert(self._frame_columns(rows), len(rows)), len(rows)
        records = [rows] if isinstance(rows, Mapping) else records_of(rows)
        return self.convert(self._record_columns(records), len(records)), len(records)

    def matrix(self, rows: Rows) -> Any:
        """The estimator's input for any accepted form of raw rows."""
        return self.input_of(*self.converted(rows))

    # ----------------------------------------------------------------- scoring

    def _call(self, proba: bool, matrix: Any, one_thread: bool) -> np.ndarray:
        estimator = self.model.estimator_
        method = estimator.predict_proba if proba else estimator.predict
        small = one_thread or _n_rows(matrix) <= _ONE_THREAD_ROWS
        if not small:
            return np.asarray(method(matrix), dtype="float64")
        if self._catboost:
            return np.asarray(method(matrix, thread_count=1), dtype="float64")
        if self.model.name in FOREST_NAMES:
            scores = forest_scores(estimator, matrix, proba)
            if scores is not None:
                return scores
        if self.model.name in OPENMP_NAMES:
            with one_openmp_thread():
                return np.asarray(method(matrix), dtype="float64")
        return np.asarray(method(matrix), dtype="float64")

    def scores_of(self, matrix: Any, one_thread: bool = False) -> np.ndarray:
        """Class probabilities (n, k) or values (n,) from the estimator's input.

        ``one_thread``: score as a small batch whatever its size (one CatBoost or OpenMP
        thread, forests tree by tree).
        """
        model = self.model
        estimator = model.estimator_
        if not model.is_classifier:
            if _n_rows(matrix) == 0:
                return np.zeros(0, dtype="float64")
            return self._call(False, matrix, one_thread).reshape(-1)
        k = int(model.n_classes_)
        if _n_rows(matrix) == 0:
            return np.zeros((0, k), dtype="float64")
        proba = self._call(True, matrix, one_thread)
        known = np.asarray(estimator.classes_).astype("int64")
        if proba.shape[1] == k and np.array_equal(known, model.classes_):
            return proba
        full = np.zeros((proba.shape[0], k), dtype="float64")
        full[:, known] = proba
        return full

    def scores(self, rows: Rows) -> np.ndarray:
        """Scores of raw rows: a frame, one mapping, or a sequence of mappings.

        A CatBoost model scores a large batch of records in chunks, converting one while it
        scores another (:mod:`foldwise.scoring.overlap`), when the process may use two cores;
        the same scores as in one piece.
        """
        if isinstance(rows, pd.DataFrame | Mapping):
            return self.scores_of(self.matrix(rows))
        records = records_of(rows)
        if self._catboost and len(records) >= OVERLAP_ROWS and two_cores():
            scores = overlapped_scores(
                records, self.records_chunk, self._one_thread_scores, self.consistent
            )
            if scores is not None:
                return scores
        return self.scores_of(self.records_matrix(records))

    def _one_thread_scores(self, matrix: Any) -> np.ndarray:
        return self.scores_of(matrix, one_thread=True)


class NeedsReferenceError(Exception):
    """A column of a chunk needs the reference coercion (see :meth:`FastScorer.records_chunk`)."""


def _n_rows(matrix: Any) -> int:
    rows = getattr(matrix, "get_object_count", None)  # catboost.FeaturesData
    return int(rows()) if rows is not None else len(matrix)


def _objects(text: pa.Array) -> np.ndarray:
    return text.to_numpy(zero_copy_only=False)


def _categorical(text: pa.Array) -> pd.Categorical:
    encoded = pc.dictionary_encode(text)
    categories = pd.Index(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    return pd.Categorical.from_codes(encoded.indices.to_numpy(), categories)
