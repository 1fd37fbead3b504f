"""Run a stage's ``main()`` so user errors become one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from foldwise.errors import FoldwiseError

EXIT_USER_ERROR = 2


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


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON; NaN is refused so every file is strict JSON."""
    write_text_atomic(path, json.dumps(payload, indent=2, allow_nan=False, default=str) + "\n")


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
