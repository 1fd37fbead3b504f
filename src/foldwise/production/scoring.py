"""Fast scoring of raw rows: the same values as ``feature_frame`` + ``_model_frame``, cheaper.

The reference path coerces every cell of every column with pandas string methods, twice per
call. Here a text column is factorised first, so cleaning runs once per distinct value and the
result is taken back by code; typed columns go straight to numpy; and a single row (a dict, or
a one-row frame) is converted value by value through a per-feature cache whose entries were
computed by the reference coercion itself. Predictions are therefore identical, not close:
``tests/test_production_scoring.py`` checks exact equality for every model and task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from foldwise.errors import FoldwiseError, quoted
from foldwise.models import TabularModel, feature_frame
from foldwise.models.frame import (
    _coerce_boolean,
    _coerce_categorical,
    _coerce_datetime,
    _coerce_numeric,
    _model_frame,
)

_CACHE_LIMIT = 50_000
_ONE_DAY = np.timedelta64(1, "D")
_NUMBER_TYPES = (float, int, np.floating, np.integer)
_COERCE = {
    "numeric": lambda values, name: _coerce_numeric(values, name),
    "boolean": lambda values, name: _coerce_boolean(values, name),
    "datetime": lambda values, name: _coerce_datetime(values, name),
    "categorical": lambda values, name: _coerce_categorical(values),
}


def _is_missing(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float | np.floating) and value != value)
    )


def _typed_for(kind: str, values: pd.Series) -> bool:
    """Whether ``values`` already has the dtype the coercion passes through without text work."""
    dtype = values.dtype
    if kind in ("numeric", "boolean"):
        return pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)
    if kind == "datetime":
        return pd.api.types.is_datetime64_any_dtype(dtype)
    return False


def _model_values(kind: str, coerced: pd.Series) -> np.ndarray:
    """One column of :func:`foldwise.models.frame._model_frame`, from a coerced column."""
    frame = _model_frame(pd.DataFrame({"v": coerced}), [{"name": "v", "kind": kind}])
    return frame["v"].to_numpy()


class FastScorer:
    """Turn raw rows into the fitted estimator's input and score them, without per-cell pandas."""

    def __init__(self, model: TabularModel) -> None:
        self.model = model
        self.features = list(model.features)
        self.names = [str(f["name"]) for f in self.features]
        self.kinds = [str(f["kind"]) for f in self.features]
        self._catboost = model.name == "catboost"
        self._caches: list[dict[tuple[type, Any], Any]] = [{} for _ in self.features]
        self._missing = [self._convert_reference(i, None) for i in range(len(self.features))]
        for i, feature in enumerate(self.features):
            if self.kinds[i] == "categorical" and feature.get("categories"):
                self._warm(i, [str(c) for c in feature["categories"]])

    # ----------------------------------------------------------------- one value

    def _convert_reference(self, i: int, value: Any) -> Any:
        """The model value of one raw value, by the reference coercion of a one-row column."""
        values = pd.Series([value])
        coerced = _COERCE[self.kinds[i]](values, self.names[i])
        return _model_values(self.kinds[i], coerced)[0]

    def _warm(self, i: int, values: list[Any]) -> None:
        column = pd.Series(values, dtype=object)
        coerced = _COERCE[self.kinds[i]](column, self.names[i])
        converted = _model_values(self.kinds[i], coerced)
        cache = self._caches[i]
        for raw, out in zip(values, converted, strict=True):
            cache[(type(raw), raw)] = out

    def convert_value(self, i: int, value: Any) -> Any:
        """The model value of one raw value of feature ``i`` (what a one-row frame would give)."""
        kind = self.kinds[i]
        if _is_missing(value):
            return self._missing[i]
        if kind == "numeric" and isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool):
            return float(value)
        if kind == "datetime" and type(value) is pd.Timestamp and value.tz is None:
            # numpy's datetime arithmetic, as the column path does (exact, checked in tests).
            return float((value.asm8 - np.datetime64(0, value.unit)) / _ONE_DAY)
        try:
            key = (type(value), value)
            return self._caches[i][key]
        except TypeError:  # unhashable: convert without caching
            return self._convert_reference(i, value)
        except KeyError:
            pass
        out = self._convert_reference(i, value)
        cache = self._caches[i]
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = out
        return out

    # ----------------------------------------------------------------- many rows

    def _column(self, i: int, values: pd.Series) -> Any:
        """Feature ``i`` in model form: floats, or (codes, distinct categories) for a category."""
        kind, name = self.kinds[i], self.names[i]
        if len(values) and values.isna().all():
            # Entirely missing is missing whatever dtype the reader gave it (a column of
            # nulls reads as float): the reference path refused a float date column here.
            if kind == "categorical":
                return np.zeros(len(values), dtype="int64"), np.array([self._missing[i]], object)
            return np.full(len(values), np.nan)
        plain = _plain_number(values.dtype)
        if (kind == "numeric" and plain) or (kind == "boolean" and plain == "boolean"):
            return values.to_numpy(dtype="float64", na_value=np.nan)
        if _typed_for(kind, values):
            return _model_values(kind, _COERCE[kind](values, name))
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        distinct = pd.Series(uniques, dtype=values.dtype)
        converted = _model_values(kind, _COERCE[kind](distinct, name))
        if kind != "categorical":
            return converted.take(codes)
        # Two raw values may clean to one category (" a" and "a"): categories must be unique.
        recodes, categories = pd.factorize(np.asarray(converted, dtype=object))
        return recodes.take(codes), np.asarray(categories, dtype=object)

    def model_frame(self, rows: pd.DataFrame) -> Any:
        """The estimator's input for raw rows; the same values as the reference path.

        CatBoost gets categories as pandas categoricals (each distinct text hashed once, the
        same hashes as plain text); scikit-learn gets the reference's exact frame.
        """
        missing = [name for name in self.names if name not in rows.columns]
        if missing or not rows.columns.is_unique:
            feature_frame(rows.iloc[:0], self.features)  # raises the reference message
        if len(rows) == 1:
            record = _one_row_values(rows, self.names)
            if record is not None:
                return self.records_matrix([record])
        try:
            columns = [self._column(i, rows[name]) for i, name in enumerate(self.names)]
        except FoldwiseError:
            # The reference path counts bad cells over the whole column; let it say so.
            feature_frame(rows, self.features)
            raise
        out: dict[str, Any] = {}
        for name, column in zip(self.names, columns, strict=True):
            if isinstance(column, tuple):
                codes, categories = column
                if self._catboost:
                    index = pd.Index(categories, dtype=object)
                    column = pd.Categorical.from_codes(codes, categories=index)
                else:
                    column = categories.take(codes)
            out[name] = column
        return pd.DataFrame(out, copy=False)

    def records_matrix(self, records: Sequence[Mapping[str, Any]]) -> Any:
        """The estimator's input for rows given as mappings (e.g. parsed JSON).

        CatBoost takes a list of rows directly (no frame to build); scikit-learn pipelines
        select columns by name, so they get a frame.
        """
        table = []
        for position, record in enumerate(records):
            try:
                table.append([self.convert_value(i, record[n]) for i, n in enumerate(self.names)])
            except KeyError:
                absent = [n for n in self.names if n not in record]
                raise FoldwiseError(
                    f"input is missing feature column(s) {quoted(absent)} expected by the model"
                    + (f" (row {position})" if len(records) > 1 else "")
                ) from None
        if self._catboost and table:
            return table
        out = {}
        for j, (name, kind) in enumerate(zip(self.names, self.kinds, strict=True)):
            dtype = object if kind == "categorical" else "float64"
            out[name] = np.array([row[j] for row in table], dtype=dtype)
        return pd.DataFrame(out)

    # ----------------------------------------------------------------- scoring

    def scores_of(self, matrix: Any) -> np.ndarray:
        """Class probabilities (n, k) or values (n,) from the estimator's input."""
        model = self.model
        estimator = model.estimator_
        if not model.is_classifier:
            if len(matrix) == 0:
                return np.zeros(0, dtype="float64")
            return np.asarray(estimator.predict(matrix), dtype="float64").reshape(-1)
        k = int(model.n_classes_)
        if len(matrix) == 0:
            return np.zeros((0, k), dtype="float64")
        proba = np.asarray(estimator.predict_proba(matrix), dtype="float64")
        known = np.asarray(estimator.classes_).astype("int64")
        if proba.shape[1] == k and np.array_equal(known, model.classes_):
            return proba
        full = np.zeros((proba.shape[0], k), dtype="float64")
        full[:, known] = proba
        return full

    def scores(self, rows: pd.DataFrame | Mapping[str, Any] | Sequence[Mapping]) -> np.ndarray:
        """Scores of raw rows: a frame, one mapping, or a sequence of mappings."""
        return self.scores_of(self.matrix(rows))

    def matrix(self, rows: pd.DataFrame | Mapping[str, Any] | Sequence[Mapping]) -> Any:
        """The estimator's input for any accepted form of raw rows."""
        if isinstance(rows, pd.DataFrame):
            return self.model_frame(rows)
        if isinstance(rows, Mapping):
            return self.records_matrix([rows])
        if isinstance(rows, Sequence) and not isinstance(rows, str | bytes):
            bad = next((i for i, r in enumerate(rows) if not isinstance(r, Mapping)), None)
            if bad is not None:
                raise FoldwiseError(f"row {bad}: expected an object of column: value pairs")
            return self.records_matrix(rows)
        raise FoldwiseError(
            f"rows: expected a table, a mapping or a list of mappings, got {type(rows).__name__}"
        )


_PLAIN_KINDS = frozenset("fiubOM")


def _plain_number(dtype: Any) -> str | None:
    """ "boolean" or "number" when ``to_numpy(float64)`` is the whole coercion, else None."""
    if isinstance(dtype, pd.BooleanDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "b"):
        return "boolean"
    if isinstance(dtype, np.dtype) and dtype.kind in "fiu":
        return "number"
    return None


def _plain_dtype(dtype: Any) -> bool:
    """A dtype whose single value converts like a one-value column of the same value.

    Numbers, booleans, plain text and naive or aware dates qualify; a pandas ``category``
    column does not (its categories' own dtype decides the text), nor do nullable extension
    numbers, whose missing marker differs.
    """
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    if pd.api.types.is_string_dtype(dtype) or isinstance(
        dtype, pd.DatetimeTZDtype | pd.BooleanDtype
    ):
        return True
    return isinstance(dtype, np.dtype) and dtype.kind in _PLAIN_KINDS


def _one_row_values(rows: pd.DataFrame, names: list[str]) -> dict[str, Any] | None:
    """The feature values of a one-row frame, or None when a column needs the column path."""
    wanted = set(names)
    try:  # column arrays without building a Series per column (~10x cheaper on one row)
        arrays = rows._iter_column_arrays()
    except AttributeError:
        arrays = (rows.iloc[:, j].array for j in range(rows.shape[1]))
    values = {}
    for name, array in zip(rows.columns, arrays, strict=True):
        if name in wanted:
            if not _plain_dtype(array.dtype):
                return None
            values[name] = array[0]
    return values
