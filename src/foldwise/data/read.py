"""Read a user's table: CSV or Parquet, separator sniffing, and the header checks."""

from __future__ import annotations

import csv
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from foldwise.errors import FoldwiseError, quoted

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}


def _header_names(path: Path, separator: str) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        row = next(csv.reader(fh, delimiter=separator), None)
    return [] if row is None else [name.strip() for name in row]


def _check_unique_names(names: list[str], path: Path) -> None:
    dupes = sorted(name for name, count in Counter(names).items() if count > 1)
    if dupes:
        raise FoldwiseError(
            f"{path}: duplicate column names {quoted(dupes)}; every column needs a unique name"
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

    CSV cells are read as text (numbers are parsed by
    :func:`~foldwise.data.coerce.coerce_column` under one set of rules); ``text_columns`` is
    kept for callers that name their id columns.
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


def check_same_columns(source: pd.DataFrame, test: pd.DataFrame, test_path: Path) -> None:
    """A separate test table must have exactly the training table's columns."""
    missing = [c for c in source.columns if c not in test.columns]
    extra = [c for c in test.columns if c not in source.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {quoted(missing)}")
        if extra:
            parts.append(f"unexpected {quoted(extra)}")
        raise FoldwiseError(f"{test_path}: columns differ from data.source: {'; '.join(parts)}")
