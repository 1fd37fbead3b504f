"""Run a stage's ``main()`` so user errors become one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from foldwise.errors import FoldwiseError

EXIT_USER_ERROR = 2
# Floats in every file a stage writes as JSON, CSV or Markdown (and in the bundle's JSON files)
# carry this many significant digits, so a rerun on another CPU, whose vector units round the
# last bits of a sum differently, writes the same text. Enough for every comparison foldwise
# makes (docs/pipeline.md, "The same digits on every machine").
SIGNIFICANT_DIGITS = 6


def run_stage(main: Callable[[], dict[str, float] | None], name: str | None = None) -> None:
    """Call ``main``; a FoldwiseError is printed as ``error: <message>`` and exits with 2.

    When ``main`` succeeds, its wall time (and the named parts it returns, in seconds) is
    appended to the untracked ``.foldwise/timings.jsonl`` and the run's summary so far is
    printed; see :mod:`foldwise.timings`.
    """
    from foldwise.paths import ProjectPaths
    from foldwise.timings import process_started, report_stage

    started = process_started()
    try:
        parts = main()
    except FoldwiseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    stage = name or Path(sys.argv[0]).stem
    try:
        lines = report_stage(ProjectPaths.from_cwd().timings, stage, started, parts)
    except OSError as exc:  # timing is a courtesy: a read-only folder must not fail the stage
        print(f"warning: timings not recorded ({exc})", file=sys.stderr)
        return
    print("\n".join(lines), flush=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits (NaN and infinities unchanged)."""
    value = float(value)
    if value == 0.0 or not math.isfinite(value):
        return value
    return float(f"{value:.{digits}g}")


def rounded(payload: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """A copy of a JSON-like ``payload`` with every float (numpy's too) rounded by
    :func:`significant`; ints, bools and text are kept as they are."""
    if isinstance(payload, dict):
        return {k: rounded(v, digits) for k, v in payload.items()}
    if isinstance(payload, list | tuple):
        return [rounded(v, digits) for v in payload]
    if isinstance(payload, np.ndarray):
        return [rounded(v, digits) for v in payload.tolist()]
    if isinstance(payload, float | np.floating):
        return significant(float(payload), digits)
    return payload


def rounded_frame(frame: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """A copy of a DataFrame with its float columns rounded by :func:`significant`."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype.kind == "f":
            out[column] = np.asarray([significant(v, digits) for v in values], dtype=values.dtype)
    return out


def json_text(payload: Any, indent: int | None = 2, allow_nan: bool = False) -> str:
    """``payload`` as JSON text with floats rounded (:func:`rounded`), ending in a newline."""
    return json.dumps(rounded(payload), indent=indent, allow_nan=allow_nan, default=str) + "\n"


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON, floats rounded to :data:`SIGNIFICANT_DIGITS`
    significant digits; NaN is refused so every file is strict JSON."""
    write_text_atomic(path, json_text(payload))


def write_csv_atomic(path: Path, frame: Any) -> None:
    """Write a DataFrame as CSV (no index), float columns rounded like :func:`write_json_atomic`."""
    write_text_atomic(path, rounded_frame(frame).to_csv(index=False))


def write_parquet_atomic(path: Path, frame: Any) -> None:
    """Write a DataFrame to Parquet via a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def staged_folder(directory: Path) -> Iterator[Path]:
    """Yield an empty sibling folder to fill; on success it replaces ``directory`` as a whole.

    On any error the staging folder is removed and ``directory`` is left as it was, so a
    crash never leaves half a folder that later looks valid.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        yield staging
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def close_live(live: Any) -> None:
    """End a DVCLive logger and round the floats of the files it wrote (plots and summary),
    so they reproduce digit for digit like every other report."""
    live.end()
    for path in sorted(Path(live.dir).rglob("*")):
        if path.suffix == ".json":
            payload = json.loads(path.read_text(encoding="utf-8"))
            write_text_atomic(path, json.dumps(rounded(payload), indent=4) + "\n")
        elif path.suffix == ".tsv":
            write_text_atomic(path, _rounded_tsv(path.read_text(encoding="utf-8")))


def _rounded_tsv(text: str) -> str:
    lines = text.splitlines()
    out = lines[:1]
    for line in lines[1:]:
        out.append("\t".join(_rounded_cell(cell) for cell in line.split("\t")))
    return "\n".join(out) + "\n"


def _rounded_cell(cell: str) -> str:
    if not any(mark in cell for mark in ".eE"):  # a step, a count: kept as written
        return cell
    try:
        return repr(significant(float(cell)))
    except ValueError:
        return cell


def open_live(directory: Path | str) -> Any:
    """A DVCLive logger that writes only plots and metrics under ``directory``.

    DVC reads the files through dvc.yaml, so DVCLive writes no dvc.yaml and makes no experiment.
    """
    from dvclive import Live
    from scmrepo.exceptions import SCMError

    try:
        return Live(dir=str(directory), dvcyaml=False, save_dvc_exp=False, report=None)
    except SCMError as exc:
        raise FoldwiseError(
            f"DVCLive cannot log to {directory}: {exc}; commit the project to git first "
            "(git add -A && git commit -m init)"
        ) from None


def startup_seconds() -> float:
    """Seconds since this process started (imports included); 0 where /proc is missing."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime"))
        started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return 0.0
    return max(0.0, time.time() - started)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1
