"""Score files of any size: inputs streamed chunk by chunk into one output file, atomically.

The output is written under a temporary name beside it (``.OUTPUT.partial-<pid>``, which a
folder reader skips) and renamed to ``OUTPUT`` only when every row is written and synced, so
an interrupted run never leaves a file under the output's name. Inputs are only read.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from tqdm import tqdm

from foldwise.bundle import Bundle
from foldwise.errors import FoldwiseError, quoted
from foldwise.production.batch import BundleVersion, output_schema, score_chunk
from foldwise.production.batch_input import InputFile, describe_file, expand_inputs, read_chunks

OUTPUT_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


@dataclass(frozen=True)
class PredictOptions:
    """How ``foldwise predict`` reads, handles bad cells and writes."""

    chunk_rows: int = 100_000
    on_error: str = "fail"
    force: bool = False
    separator: str | None = None  # CSV inputs; None: detected per file
    progress: bool = False
    examples: int = 5


@dataclass(frozen=True)
class PredictSummary:
    """What a run read, wrote and left out."""

    output: Path
    files: int
    rows_read: int
    rows_written: int
    rows_skipped: int
    examples: tuple[str, ...]  # refused cells, "FILE: row N, column C: value ..."
    id_columns: tuple[str, ...]


@dataclass(frozen=True)
class InputPlan:
    """The files to read and the columns taken from them."""

    files: tuple[InputFile, ...]
    features: tuple[str, ...]
    id_columns: tuple[str, ...]
    id_types: dict[str, pa.DataType]
    extra_columns: tuple[str, ...]
    absent_ids: tuple[str, ...]


def output_format(path: Path) -> str:
    """``parquet`` or ``csv`` by the output's suffix; anything else is refused."""
    found = OUTPUT_FORMATS.get(path.suffix.lower())
    if found is None:
        raise FoldwiseError(
            f"{path}: unsupported output suffix {path.suffix or '(none)'!r}; "
            "expected .parquet or .csv"
        )
    return found


def partial_path(output: Path) -> Path:
    """The temporary name an output is written under until it is complete."""
    return output.with_name(f".{output.name}.partial-{os.getpid()}")


def _id_type(file: InputFile, name: str) -> pa.DataType:
    if file.kind == "csv":
        return pa.string()
    return pq.read_schema(file.path).field(name).type


def plan_inputs(
    bundle: Bundle, inputs: Sequence[str | Path], separator: str | None = None
) -> InputPlan:
    """Check every input's columns before anything is scored; missing features are refused."""
    files = tuple(describe_file(p, separator) for p in expand_inputs(inputs))
    if not files:
        raise FoldwiseError("no input files given")
    features = tuple(str(f["name"]) for f in bundle.features)
    for file in files:
        missing = [name for name in features if name not in file.columns]
        if missing:
            raise FoldwiseError(
                f"{file.path}: missing feature column(s) {quoted(missing)} expected by the model"
            )
    wanted = [str(c) for c in bundle.metadata.get("id_columns") or []]
    ids = tuple(c for c in wanted if c not in features and all(c in f.columns for f in files))
    id_types = {}
    for name in ids:
        types = {_id_type(file, name) for file in files}
        id_types[name] = types.pop() if len(types) == 1 else pa.string()
    used = set(features) | set(ids)
    extra = tuple(dict.fromkeys(c for f in files for c in f.columns if c not in used))
    absent = tuple(c for c in wanted if c not in ids and c not in features)
    return InputPlan(files, features, ids, id_types, extra, absent)


class _Writer:
    """An incremental Parquet or CSV writer of one schema."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        self.schema = schema
        if fmt == "parquet":
            self._writer: pq.ParquetWriter | pacsv.CSVWriter = pq.ParquetWriter(path, schema)
        else:
            self._writer = pacsv.CSVWriter(path, schema)

    def write(self, frame: pd.DataFrame) -> None:
        for field in self.schema:
            if field.type == pa.string() and not pd.api.types.is_string_dtype(frame[field.name]):
                frame[field.name] = frame[field.name].astype("str")
        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


@contextlib.contextmanager
def atomic_output(output: Path, schema: pa.Schema, force: bool) -> Iterator[_Writer]:
    """A writer into ``output``'s temporary name; renamed to ``output`` on success only."""
    temp = partial_path(output)
    writer = _Writer(temp, schema, output_format(output))
    try:
        yield writer
        writer.close()
        with temp.open("rb") as fh:
            os.fsync(fh.fileno())
        if output.exists() and not force:  # appeared while we were scoring
            raise FoldwiseError(f"{output}: already exists; --force replaces it")
        os.replace(temp, output)
    except BaseException:
        with contextlib.suppress(Exception):
            writer.close()
        temp.unlink(missing_ok=True)
        raise


def check_output(output: Path, files: Sequence[InputFile], force: bool) -> None:
    """Refuse an existing output without ``force``, an output that is an input, a bad suffix."""
    output_format(output)
    if any(output.resolve() == f.path.resolve() for f in files):
        raise FoldwiseError(f"{output}: is also an input; inputs are never overwritten")
    if output.is_dir():
        raise FoldwiseError(f"{output}: is a folder; expected a file name")
    if output.exists() and not force:
        raise FoldwiseError(f"{output}: already exists; --force replaces it")
    if not output.parent.is_dir():
        raise FoldwiseError(f"{output.parent}: no such folder for the output")


def predict_files(
    bundle: Bundle,
    inputs: Sequence[str | Path],
    output: Path,
    version: BundleVersion,
    options: PredictOptions | None = None,
    note: Callable[[str], None] | None = None,
) -> PredictSummary:
    """Score every row of ``inputs`` into ``output`` (Parquet or CSV), in input order."""
    options = options or PredictOptions()
    if options.chunk_rows < 1:
        raise FoldwiseError(f"--chunk-rows {options.chunk_rows}: expected a positive number")
    plan = plan_inputs(bundle, inputs, options.separator)
    check_output(output, plan.files, options.force)
    say = note or (lambda _text: None)
    if plan.extra_columns:
        shown = ", ".join(plan.extra_columns[:8]) + (", ..." if len(plan.extra_columns) > 8 else "")
        say(f"ignoring {len(plan.extra_columns)} column(s) the model does not use: {shown}")
    if plan.absent_ids:
        say(f"id column(s) {list(plan.absent_ids)} not in every input; rows are in input order")
    columns = [*plan.id_columns, *plan.features]
    total = (
        sum(f.rows or 0 for f in plan.files)
        if all(f.rows is not None for f in plan.files)
        else None
    )
    read = written = skipped = 0
    examples: list[str] = []
    bar = tqdm(
        total=total, unit=" rows", unit_scale=True, disable=not options.progress, file=sys.stderr
    )
    try:
        with atomic_output(output, output_schema(bundle, plan.id_types), options.force) as out:
            for file in plan.files:
                for chunk in read_chunks(file, columns, options.chunk_rows):
                    scored = score_chunk(
                        bundle,
                        chunk.frame,
                        id_columns=plan.id_columns,
                        version=version,
                        on_error=options.on_error,
                        source=str(file.path),
                    )
                    out.write(scored.table)
                    read += len(chunk.frame)
                    written += len(scored.table)
                    skipped += scored.skipped_rows
                    for cell in scored.bad_cells[: max(0, options.examples - len(examples))]:
                        examples.append(cell.describe(str(file.path)))
                    bar.update(len(chunk.frame))
    finally:
        bar.close()
    return PredictSummary(
        output, len(plan.files), read, written, skipped, tuple(examples), plan.id_columns
    )
