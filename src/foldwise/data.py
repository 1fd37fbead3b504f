"""Read a user's table, infer and coerce column types, clean rows and split train from test."""

from __future__ import annotations

import csv
import re
import warnings
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
from foldwise.numbers import Decimal, decimal_hint, parse_numbers, refuse_ambiguous

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
# A text column is numeric when at least this share of its non-missing cells are numbers; the
# other cells become missing and are counted. Below it the column holds categories.
NUMERIC_SHARE = 0.95
# A categorical column with at least this share of numbers is listed among the coercions.
MOSTLY_NUMBERS = 0.5


@dataclass(frozen=True)
class Coercion:
    """One column whose type was changed on reading, and how many cells became missing."""

    column: str
    to: Kind
    blank_to_missing: int
    examples: tuple[str, ...] = ()
    unparseable: int = 0
    infinite_to_missing: int = 0
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "to": self.to,
            "blank_to_missing": self.blank_to_missing,
            "unparseable": self.unparseable,
            "infinite_to_missing": self.infinite_to_missing,
            "examples": list(self.examples),
            "note": self.note,
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


SEPARATORS = (",", ";", "\t", "|")


def sniff_separator(path: Path) -> str | None:
    """The separator that splits the first lines into the same number (> 1) of fields."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            lines = [line for _, line in zip(range(20), fh, strict=False)]
    except (UnicodeDecodeError, OSError):
        return None
    best, best_fields = None, 1
    for sep in SEPARATORS:
        try:
            counts = {len(row) for row in csv.reader(lines, delimiter=sep) if row}
        except csv.Error:
            continue
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = sep, fields
    return best


def separator_hint(path: Path, separator: str) -> str:
    """A hint naming the separator the file seems to use, or asking to check the setting."""
    found = sniff_separator(path)
    if found is not None and found != separator:
        shown = "\\t" if found == "\t" else found
        return f'the file looks {shown!r}-separated: set data.csv_separator: "{shown}"'
    return f"is data.csv_separator ({separator!r}) right?"


def read_table(
    path: Path, *, separator: str = ",", text_columns: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Read a CSV or Parquet table, refusing empty files, non-tables and duplicate column names.

    CSV cells are read as text (numbers are parsed by :func:`coerce_column` under one set of
    rules); ``text_columns`` is kept for callers that name their id columns.
    """
    del text_columns  # every CSV column is read as text
    if not path.is_file():
        raise FoldwiseError(f"{path}: file not found; check data.source / data.test_source")
    if path.stat().st_size == 0:
        raise FoldwiseError(f"{path}: the file is empty; expected a table with a header row")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            names = list(pq.read_schema(path).names)
            _check_unique_names(names, path)
            frame = pd.read_parquet(path)
        except (pa.ArrowException, OSError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise FoldwiseError(f"{path}: not a readable Parquet table ({first})") from None
        frame.columns = [str(c) for c in frame.columns]
    elif suffix in CSV_SUFFIXES:
        try:
            names = _header_names(path, separator)
        except (UnicodeDecodeError, csv.Error):
            raise FoldwiseError(
                f"{path}: not a text table (cannot decode it as UTF-8 CSV; save it as UTF-8)"
            ) from None
        _check_unique_names(names, path)
        try:
            # A row with more fields than the header would silently shift into a pandas index
            # (or lose its last cells with index_col=False): both are refused.
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                frame = pd.read_csv(
                    path,
                    sep=separator,
                    dtype="str",
                    index_col=False,
                    skipinitialspace=False,
                    encoding="utf-8-sig",
                    low_memory=False,
                )
        except (
            pd.errors.ParserError,
            pd.errors.ParserWarning,
            UnicodeDecodeError,
            ValueError,
        ) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise FoldwiseError(
                f"{path}: not a readable CSV table ({first}); {separator_hint(path, separator)}"
            ) from None
        frame.columns = [str(c).strip() for c in frame.columns]
    else:
        raise FoldwiseError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; expected .csv or .parquet"
        )
    if frame.shape[1] < 2:
        hint = separator_hint(path, separator) if suffix in CSV_SUFFIXES else ""
        raise FoldwiseError(
            f"{path}: found {frame.shape[1]} column(s); expected a table with features and a "
            f"target{'; ' + hint if hint else ''}"
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


def _examples(values: pd.Series, mask: pd.Series | np.ndarray) -> tuple[str, ...]:
    return tuple(values[np.asarray(mask)].astype(str).unique()[:3].tolist())


def _finite_numbers(values: pd.Series, name: str) -> tuple[pd.Series, Coercion | None]:
    """A numeric column as float64 with inf/-inf turned into missing, counted."""
    out = pd.Series(
        values.to_numpy(dtype="float64", na_value=np.nan), index=values.index, name=values.name
    )
    infinite = np.isinf(out.to_numpy())
    if not infinite.any():
        return out, None
    out[infinite] = np.nan
    return out, Coercion(
        name, "numeric", 0, _examples(values, infinite), infinite_to_missing=int(infinite.sum())
    )


def coerce_column(
    values: pd.Series,
    *,
    declared_date: bool = False,
    allow_boolean: bool = True,
    decimal: Decimal = ".",
) -> tuple[pd.Series, Kind, Coercion | None]:
    """Decide one column's kind and return it converted, with a record of what became missing.

    Text is numeric when at least ``NUMERIC_SHARE`` of its non-missing cells are numbers
    (:mod:`foldwise.numbers`); the rest become missing and are counted, as do infinities.
    """
    name = str(values.name)
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean"), "boolean", None
    if pd.api.types.is_datetime64_any_dtype(values):
        return values, "datetime", None
    if pd.api.types.is_numeric_dtype(values) and not declared_date:
        out, record = _finite_numbers(values, name)
        return out, "numeric", record
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

    numbers = parse_numbers(text, decimal)
    if numbers.share < 1.0:
        decimal_hint(name, text, numbers, decimal, NUMERIC_SHARE)
    if numbers.share >= NUMERIC_SHARE:
        if numbers.ambiguous:
            refuse_ambiguous(name, text, decimal)
        lost = (text.isna() & ~raw_missing) | numbers.not_numbers | numbers.infinite
        if not lost.any() and not numbers.rewritten:  # plain numbers: nothing to report
            return numbers.values, "numeric", None
        record = Coercion(
            name,
            "numeric",
            became_missing,
            _examples(values, lost),
            unparseable=int(numbers.not_numbers.sum()),
            infinite_to_missing=int(numbers.infinite.sum()),
        )
        return numbers.values, "numeric", record
    if numbers.share >= MOSTLY_NUMBERS:
        words = numbers.not_numbers
        note = (
            f"{int(numbers.number.sum())} of {numbers.n_present} values are numbers; read as "
            f"categories because {int(words.sum())} are not (at least {NUMERIC_SHARE:.0%} must "
            "be numbers for a numeric column)"
        )
        record = Coercion(name, "categorical", 0, _examples(text, words), note=note)
        return text.astype("str"), "categorical", record
    return text.astype("str"), "categorical", None


def coerce_table(
    frame: pd.DataFrame,
    *,
    target: str,
    id_columns: list[str],
    date_columns: list[str],
    decimal: Decimal = ".",
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
            out[name] = coerce_target(values, decimal=decimal)
            kinds[name] = "numeric" if pd.api.types.is_numeric_dtype(out[name]) else "categorical"
            continue
        converted, kind, record = coerce_column(
            values, declared_date=name in date_columns, decimal=decimal
        )
        out[name] = converted
        kinds[name] = kind
        if record is not None:
            coercions.append(record)
    return TypedTable(pd.DataFrame(out, index=frame.index), kinds, coercions)


def _refuse_infinite_target(name: str, values: pd.Series, infinite: np.ndarray) -> None:
    if infinite.any():
        raise FoldwiseError(
            f"target {name!r}: {int(infinite.sum())} value(s) are not finite numbers (e.g. "
            f"{values[infinite].astype(str).iloc[0]!r}); fix or remove those rows"
        )


def coerce_target(values: pd.Series, *, decimal: Decimal = ".") -> pd.Series:
    """The target with text stripped and numbers-as-text made numeric; labels keep their values.

    An infinite value (or one beyond float range) is refused, naming the target.
    """
    name = str(values.name)
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    if not _is_text(values):
        if pd.api.types.is_float_dtype(values):
            as_float = values.to_numpy(dtype="float64", na_value=np.nan)
            _refuse_infinite_target(name, values, np.isinf(as_float))
        return values
    text = _strip_text(values)
    numbers = parse_numbers(text, decimal)
    if numbers.n_present and numbers.share < 1.0:
        decimal_hint(f"{name}", text, numbers, decimal, 1.0)
    if numbers.n_present and numbers.share == 1.0:
        _refuse_infinite_target(name, values, numbers.infinite.to_numpy())
        as_float = numbers.values
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
