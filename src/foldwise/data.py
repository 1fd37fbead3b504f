"""Read a user's table, infer and coerce column types, clean rows and split train from test."""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from foldwise.errors import FoldwiseError

Kind = Literal["numeric", "categorical", "boolean", "datetime"]
SplitStrategy = Literal["stratified", "random", "temporal", "group"]

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
# Tokens that mean "no value" in a text column; anything else unparseable keeps a column textual.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
BOOLEAN_PAIRS = (
    frozenset({"yes", "no"}),
    frozenset({"true", "false"}),
    frozenset({"y", "n"}),
    frozenset({"t", "f"}),
)
TRUE_TOKENS = frozenset({"yes", "true", "y", "t"})
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


@dataclass(frozen=True)
class Coercion:
    """One column whose type was changed on reading, and how many cells became missing."""

    column: str
    to: Kind
    blank_to_missing: int
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "to": self.to,
            "blank_to_missing": self.blank_to_missing,
            "examples": list(self.examples),
        }


@dataclass
class TypedTable:
    """A table with every column's kind decided, plus what the coercion did."""

    frame: pd.DataFrame
    kinds: dict[str, Kind]
    coercions: list[Coercion] = field(default_factory=list)


def _header_names(path: Path, separator: str) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        row = next(csv.reader(fh, delimiter=separator), None)
    return [] if row is None else [name.strip() for name in row]


def _check_unique_names(names: list[str], path: Path) -> None:
    dupes = sorted(name for name, count in Counter(names).items() if count > 1)
    if dupes:
        raise FoldwiseError(
            f"{path}: duplicate column names {dupes}; every column needs a unique name"
        )
    if any(name == "" for name in names):
        raise FoldwiseError(f"{path}: a column has an empty name in the header row")


def read_table(
    path: Path, *, separator: str = ",", text_columns: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Read a CSV or Parquet table, refusing empty files, non-tables and duplicate column names.

    ``text_columns`` (ids) are read as text so leading zeros survive.
    """
    if not path.is_file():
        raise FoldwiseError(f"{path}: file not found; check data.source / data.test_source")
    if path.stat().st_size == 0:
        raise FoldwiseError(f"{path}: the file is empty; expected a table with a header row")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            names = list(pq.read_schema(path).names)
        except (pa.ArrowException, OSError) as exc:
            raise FoldwiseError(f"{path}: not a readable Parquet table ({exc})") from None
        _check_unique_names(names, path)
        frame = pd.read_parquet(path)
    elif suffix in CSV_SUFFIXES:
        try:
            names = _header_names(path, separator)
        except (UnicodeDecodeError, csv.Error):
            raise FoldwiseError(
                f"{path}: not a text table (cannot decode it as UTF-8 CSV)"
            ) from None
        _check_unique_names(names, path)
        try:
            frame = pd.read_csv(
                path,
                sep=separator,
                dtype=dict.fromkeys(set(text_columns) & set(names), "str"),
                skipinitialspace=False,
                encoding="utf-8-sig",
                low_memory=False,
            )
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise FoldwiseError(f"{path}: not a readable CSV table ({first})") from None
        frame.columns = [str(c).strip() for c in frame.columns]
    else:
        raise FoldwiseError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; expected .csv or .parquet"
        )
    if frame.shape[1] < 2:
        raise FoldwiseError(
            f"{path}: found {frame.shape[1]} column(s); expected a table with features and a "
            "target (is data.csv_separator right?)"
        )
    if len(frame) == 0:
        raise FoldwiseError(f"{path}: the table has a header but no data rows")
    return frame


def _strip_text(values: pd.Series) -> pd.Series:
    """Stripped text with missing tokens turned into NaN (a new Series)."""
    text = values.astype("str").str.strip()
    return text.mask(text.str.lower().isin(MISSING_TOKENS))


def _is_text(values: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(values) or values.dtype == object


def coerce_column(
    values: pd.Series, *, declared_date: bool = False, allow_boolean: bool = True
) -> tuple[pd.Series, Kind, Coercion | None]:
    """Decide one column's kind and return it converted, with a record if text was converted."""
    name = str(values.name)
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean"), "boolean", None
    if pd.api.types.is_datetime64_any_dtype(values):
        return values, "datetime", None
    if pd.api.types.is_numeric_dtype(values) and not declared_date:
        return values.astype("float64"), "numeric", None
    if not _is_text(values) and not declared_date:
        return values.astype("str").astype("category").astype("str"), "categorical", None

    raw_missing = values.isna()
    text = _strip_text(values)
    became_missing = int((text.isna() & ~raw_missing).sum())
    present = text.dropna()

    if declared_date or (len(present) and present.str.match(ISO_DATE).all()):
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        bad = present[parsed[present.index].isna()]
        if len(bad):
            raise FoldwiseError(
                f"column {name!r}: {len(bad)} value(s) are not dates (e.g. {bad.iloc[0]!r}); "
                "expected dates such as 2024-01-31"
            )
        return parsed, "datetime", Coercion(name, "datetime", became_missing)

    if len(present) == 0:
        return text.astype("str"), "categorical", None

    lowered = present.str.lower()
    uniques = frozenset(lowered.unique())
    if allow_boolean and any(uniques <= pair for pair in BOOLEAN_PAIRS) and len(uniques) <= 2:
        flags = text.str.lower().isin(TRUE_TOKENS).astype("boolean").mask(text.isna())
        return flags, "boolean", Coercion(name, "boolean", became_missing)

    numbers = pd.to_numeric(present.str.replace(",", "", regex=False), errors="coerce")
    if numbers.notna().all():
        out = pd.Series(np.nan, index=values.index, dtype="float64", name=values.name)
        out[numbers.index] = numbers.to_numpy(dtype="float64")
        examples = tuple(values[text.isna() & ~raw_missing].astype(str).unique()[:3].tolist())
        return out, "numeric", Coercion(name, "numeric", became_missing, examples)
    return text.astype("str"), "categorical", None


def coerce_table(
    frame: pd.DataFrame,
    *,
    target: str,
    id_columns: list[str],
    date_columns: list[str],
) -> TypedTable:
    """Coerce every column: ids to text, the target keeps its labels, the rest by content."""
    out: dict[str, pd.Series] = {}
    kinds: dict[str, Kind] = {}
    coercions: list[Coercion] = []
    for name in frame.columns:
        values = frame[name]
        if name in id_columns:
            out[name] = values.astype("str").str.strip()
            kinds[name] = "categorical"
            continue
        if name == target:
            out[name] = coerce_target(values)
            kinds[name] = "numeric" if pd.api.types.is_numeric_dtype(out[name]) else "categorical"
            continue
        converted, kind, record = coerce_column(values, declared_date=name in date_columns)
        out[name] = converted
        kinds[name] = kind
        if record is not None:
            coercions.append(record)
    return TypedTable(pd.DataFrame(out, index=frame.index), kinds, coercions)


def coerce_target(values: pd.Series) -> pd.Series:
    """The target with text stripped and numbers-as-text made numeric; labels keep their values."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    if not _is_text(values):
        return values
    text = _strip_text(values)
    present = text.dropna()
    numbers = pd.to_numeric(present, errors="coerce")
    if len(present) and numbers.notna().all():
        as_float = pd.to_numeric(text, errors="coerce")
        if (as_float.dropna() % 1 == 0).all():
            return as_float.astype("Int64")
        return as_float
    return text.astype("str")


@dataclass(frozen=True)
class CleaningStats:
    """Rows found repeated and rows removed before splitting."""

    rows_read: int
    duplicate_rows_removed: int
    missing_target_rows_dropped: int
    duplicate_rows: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "duplicate_rows": self.duplicate_rows,
            "duplicate_rows_removed": self.duplicate_rows_removed,
            "missing_target_rows_dropped": self.missing_target_rows_dropped,
        }


def clean_rows(
    frame: pd.DataFrame, target: str, *, drop_duplicates: bool = True
) -> tuple[pd.DataFrame, CleaningStats]:
    """Remove exact duplicate rows (if asked) and rows whose target is missing, counting both.

    ``duplicate_rows`` counts rows repeating an earlier row either way.
    """
    repeated = frame.duplicated(keep="first")
    deduped = frame[~repeated] if drop_duplicates else frame
    labelled = deduped[deduped[target].notna()]
    stats = CleaningStats(
        rows_read=len(frame),
        duplicate_rows_removed=len(frame) - len(deduped),
        missing_target_rows_dropped=len(deduped) - len(labelled),
        duplicate_rows=int(repeated.sum()),
    )
    return labelled.reset_index(drop=True), stats


def choose_split_strategy(
    strategy: str, task: str, time_column: str | None, group_column: str | None
) -> SplitStrategy:
    """Resolve ``split.strategy: auto``: time beats groups beats stratification."""
    if strategy != "auto":
        return strategy  # type: ignore[return-value]
    if time_column:
        return "temporal"
    if group_column:
        return "group"
    return "random" if task == "regression" else "stratified"


@dataclass(frozen=True)
class SplitInfo:
    """What the split did, for the schema file and the audit."""

    strategy: str
    test_size: float
    train_rows: int
    test_rows: int
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "test_size": self.test_size,
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
            **self.details,
        }


def split_table(
    frame: pd.DataFrame,
    *,
    strategy: SplitStrategy,
    test_size: float,
    seed: int,
    target: str,
    time_column: str | None = None,
    group_column: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, SplitInfo]:
    """Split into train and test; temporal and group splits never put a time or group on both sides."""
    details: dict[str, Any] = {}
    index = np.arange(len(frame))
    if strategy == "temporal":
        if not time_column:
            raise FoldwiseError("split.strategy 'temporal' needs data.time_column")
        times = frame[time_column]
        if times.isna().any():
            raise FoldwiseError(
                f"data.time_column {time_column!r} has {int(times.isna().sum())} missing "
                "value(s); a temporal split needs every row dated"
            )
        cutoff = times.sort_values(kind="stable").iloc[int(len(frame) * (1 - test_size))]
        is_test = (times >= cutoff).to_numpy()
        if is_test.all() or not is_test.any():
            raise FoldwiseError(
                f"data.time_column {time_column!r}: cannot split by time, too few distinct times"
            )
        train_idx, test_idx = index[~is_test], index[is_test]
        details = {
            "time_column": time_column,
            "cutoff": str(cutoff),
            "train_time_max": str(times[~is_test].max()),
            "test_time_min": str(times[is_test].min()),
        }
    elif strategy == "group":
        if not group_column:
            raise FoldwiseError("split.strategy 'group' needs data.group_column")
        groups = frame[group_column]
        if groups.isna().any():
            raise FoldwiseError(
                f"data.group_column {group_column!r} has {int(groups.isna().sum())} missing "
                "value(s); every row needs a group"
            )
        if groups.nunique() < 2:
            raise FoldwiseError(
                f"data.group_column {group_column!r} has a single group; a group split needs two"
            )
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train_idx, test_idx = next(splitter.split(index, groups=groups.astype("str")))
        details = {
            "group_column": group_column,
            "test_groups": int(groups.iloc[test_idx].nunique()),
        }
    elif strategy == "stratified":
        y = frame[target].astype("str")
        counts = y.value_counts()
        if counts.min() < 2:
            raise FoldwiseError(
                f"target {target!r}: class {counts.idxmin()!r} has only {counts.min()} row; "
                "a stratified split needs at least 2 rows per class"
            )
        train_idx, test_idx = train_test_split(
            index, test_size=test_size, random_state=seed, stratify=y
        )
    elif strategy == "random":
        train_idx, test_idx = train_test_split(index, test_size=test_size, random_state=seed)
    else:
        raise ValueError(f"unknown split strategy {strategy!r}")
    train = frame.iloc[np.sort(train_idx)].reset_index(drop=True)
    test = frame.iloc[np.sort(test_idx)].reset_index(drop=True)
    if len(train) == 0 or len(test) == 0:
        raise FoldwiseError(
            f"split.test_size {test_size} leaves an empty train or test table from "
            f"{len(frame)} rows"
        )
    return train, test, SplitInfo(strategy, test_size, len(train), len(test), details)


def check_same_columns(source: pd.DataFrame, test: pd.DataFrame, test_path: Path) -> None:
    """A separate test table must have exactly the training table's columns."""
    missing = [c for c in source.columns if c not in test.columns]
    extra = [c for c in test.columns if c not in source.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if extra:
            parts.append(f"unexpected {extra}")
        raise FoldwiseError(f"{test_path}: columns differ from data.source: {'; '.join(parts)}")
