"""The input side of batch scoring: files, folders and globs read chunk by chunk, in order.

Each file is streamed by pyarrow's own readers (``ParquetFile.iter_batches``, ``csv.open_csv``)
so memory holds one chunk whatever the file's size, and every row keeps its file and row number
for error messages. CSV cells are read as text with the same missing-value markers as
:func:`foldwise.data.read_table` (pandas' defaults), so a column never changes type from one
chunk to the next and the bundle's coercion sees what it saw in training.
"""

from __future__ import annotations

import csv
import glob
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from foldwise.data import CSV_SUFFIXES, PARQUET_SUFFIXES, sniff_separator
from foldwise.errors import FoldwiseError

# The cells pandas.read_csv reads as missing by default (foldwise.data.read_table uses them).
PANDAS_NA_VALUES = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
# Files whose names start with these are not data (Spark's _SUCCESS, .crc files, our temp files).
IGNORED_PREFIXES = (".", "_")
_CSV_BLOCK_BYTES = 8 << 20


@dataclass(frozen=True)
class InputFile:
    """One input file: its path, format, column names and row count (Parquet only)."""

    path: Path
    kind: str  # "csv" or "parquet"
    columns: tuple[str, ...]
    rows: int | None
    separator: str = ","


@dataclass(frozen=True)
class Chunk:
    """Consecutive rows of one file; ``first_row`` is the 0-based data row of the first."""

    file: InputFile
    first_row: int
    frame: pd.DataFrame


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise FoldwiseError(
        f"{path}: unsupported file type {suffix or '(none)'!r}; expected .csv or .parquet "
        "(files starting with '.' or '_' in a folder are skipped)"
    )


def _folder_files(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if path.is_file() and not any(p.startswith(IGNORED_PREFIXES) for p in parts):
            found.append(path)
    return found


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files of the inputs, in the order given; a folder's files (recursively) and a glob's
    matches in sorted path order. Unknown suffixes are refused naming the file."""
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = _folder_files(path)
            if not found:
                raise FoldwiseError(f"{path}: the folder holds no data files")
        elif path.is_file():
            found = [path]
        elif glob.has_magic(str(item)):
            found = [Path(p) for p in sorted(glob.glob(str(item), recursive=True))]
            found = [p for p in found if p.is_file() and not p.name.startswith(IGNORED_PREFIXES)]
            if not found:
                raise FoldwiseError(f"{item}: no file matches the pattern")
        else:
            raise FoldwiseError(f"{path}: no such file or folder")
        for file in found:
            _kind(file)
        paths.extend(found)
    seen: set[Path] = set()
    unique = []
    for path in paths:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique


def _check_names(names: Sequence[str], path: Path) -> None:
    dupes = sorted(name for name, count in Counter(names).items() if count > 1)
    if dupes:
        raise FoldwiseError(f"{path}: duplicate column names {dupes}")
    if any(name == "" for name in names):
        raise FoldwiseError(f"{path}: a column has an empty name in the header row")


def describe_file(path: Path, separator: str | None = None) -> InputFile:
    """Columns (and rows, for Parquet) of one file, read from its header or footer only."""
    kind = _kind(path)
    if path.stat().st_size == 0:
        raise FoldwiseError(f"{path}: the file is empty; expected a table with a header row")
    if kind == "parquet":
        try:
            meta = pq.ParquetFile(path).metadata
            names = [str(n) for n in pq.read_schema(path).names]
        except (pa.ArrowException, OSError) as exc:
            raise FoldwiseError(f"{path}: not a readable Parquet table ({exc})") from None
        names = [n for n in names if not n.startswith("__index_level_")]
        _check_names(names, path)
        return InputFile(path, kind, tuple(names), meta.num_rows)
    sep = separator or sniff_separator(path) or ","
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh, delimiter=sep), None)
    except (UnicodeDecodeError, csv.Error):
        raise FoldwiseError(f"{path}: not a UTF-8 CSV table; save it as UTF-8") from None
    names = [] if header is None else [name.strip() for name in header]
    if not names:
        raise FoldwiseError(f"{path}: no header row")
    _check_names(names, path)
    return InputFile(path, kind, tuple(names), None, sep)


def _csv_batches(file: InputFile, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
    read = pacsv.ReadOptions(
        column_names=list(file.columns), skip_rows=1, block_size=_CSV_BLOCK_BYTES, use_threads=True
    )
    parse = pacsv.ParseOptions(delimiter=file.separator, newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in file.columns},
        null_values=list(PANDAS_NA_VALUES),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        include_columns=list(columns),
    )
    # A BOM before the header: open_csv skips it, as pandas' utf-8-sig does.
    reader = pacsv.open_csv(
        file.path, read_options=read, parse_options=parse, convert_options=convert
    )
    yield from reader


def _rebatch(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Tables of exactly ``rows`` rows (the last one shorter), in order."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def read_chunks(file: InputFile, columns: Sequence[str], chunk_rows: int) -> Iterator[Chunk]:
    """The rows of ``file`` (only ``columns``) as pandas chunks of ``chunk_rows`` rows, in order."""
    try:
        if file.kind == "parquet":
            # pre_buffer keeps every row group read so far (memory grows with the file).
            batches = pq.ParquetFile(file.path, pre_buffer=False).iter_batches(
                batch_size=chunk_rows, columns=list(columns)
            )
        else:
            batches = _csv_batches(file, columns)
        first = 0
        for table in _rebatch(iter(batches), chunk_rows):
            frame = table.to_pandas()
            frame.index = pd.RangeIndex(first, first + len(frame))
            yield Chunk(file, first, frame)
            first += len(frame)
    except pa.ArrowInvalid as exc:
        line = str(exc).splitlines()[0]
        raise FoldwiseError(f"{file.path}: not a readable table ({line})") from None
