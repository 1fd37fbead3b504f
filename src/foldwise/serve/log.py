"""The prediction log: a write-ahead file flushed per request, compacted into Parquet.

Layout under the log root (readers use ``pyarrow.dataset.dataset(root, format="parquet",
partitioning="hive")``, which skips names starting with ``.`` or ``_``)::

    date=YYYY-MM-DD/part-<segment>.parquet   complete files only (temp name, fsync, rename)
    _wal/<segment>.jsonl                     the live write-ahead segment(s), one JSON line
                                             per request, held under an exclusive flock
    _models/<model_version>.json             problem, features and threshold of each model
                                             (the name with other than [A-Za-z0-9._@+-] as _)

Each row carries ``id`` (the id the response returned) and, per id column of the model, its
value as sent under ``id:<column>`` (text; null when the row left it out).

Each request is one ``write()`` of one JSON line holding its feature values as sent, flushed
to the OS before the response goes out, so killing the process loses only requests still being
scored. Every ``compact_every`` seconds (and at shutdown) the live segment is closed, a new one
opened, and the closed one converted to one Parquet file per date, typing the features with the
model's own reader (:func:`foldwise.models.feature_frame`) once per segment rather than once
per request. The files are named after the segment, so converting it again after a crash
overwrites them instead of duplicating rows. :func:`recover` converts segments left by a dead
process (their lock is free); a torn last line is dropped.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from foldwise.serve.segments import (
    WAL_FORMAT,
    compact_segment,
    log_schema,
)

WAL_DIR = "_wal"
MODELS_DIR = "_models"
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


def model_file(root: Path, version: str) -> Path:
    """Where the log describes the model named ``version`` (its name made safe as a file name)."""
    return root / MODELS_DIR / f"{_UNSAFE.sub('_', version).strip('_')}.json"


def _try_lock(path: Path) -> int | None:
    """An open descriptor holding an exclusive lock on ``path``, or None if another holds it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def recover(root: Path) -> int:
    """Compact segments left behind by a dead writer (live writers' locked segments are skipped).

    Returns the number of rows recovered. Safe to call while servers write to the same root.
    """
    wal = root / WAL_DIR
    if not wal.is_dir():
        return 0
    rows = 0
    for segment in sorted(wal.glob("*.jsonl")):
        fd = _try_lock(segment)
        if fd is None:
            continue
        try:
            if segment.exists():  # another recoverer may have finished it meanwhile
                rows += compact_segment(root, segment)
        finally:
            os.close(fd)
    return rows


class PredictionLog:
    """Append request records to a locked write-ahead segment; compact it into Parquet."""

    def __init__(
        self,
        root: Path,
        features: list[dict[str, Any]],
        compact_every: float = 60.0,
        id_columns: Sequence[str] = (),
    ) -> None:
        self.root = root
        self.features = features
        self.id_columns = [str(name) for name in id_columns]
        self.compact_every = compact_every
        self._lock = threading.Lock()
        self._fh: Any = None
        self._segment: Path | None = None
        self._records = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        log_schema(features, self.id_columns)  # fail early on a schema the log cannot hold

    def open(self) -> None:
        """Recover leftovers, open a fresh segment and start the periodic compaction."""
        (self.root / WAL_DIR).mkdir(parents=True, exist_ok=True)
        recover(self.root)
        with self._lock:
            self._rotate()
        self._thread = threading.Thread(target=self._compact_loop, name="log-compact", daemon=True)
        self._thread.start()

    def record_model(self, version: str, description: dict[str, Any]) -> None:
        """Write the model's problem, features and threshold beside the log (once per version)."""
        path = model_file(self.root, version)
        folder = path.parent
        folder.mkdir(parents=True, exist_ok=True)
        if path.exists():
            return
        tmp = folder / f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp"
        tmp.write_bytes(orjson.dumps(description, option=orjson.OPT_INDENT_2))
        os.replace(tmp, path)

    def _rotate(self) -> Path | None:
        """Open a new segment (under ``self._lock``); return the closed one, if any."""
        closed = self._segment
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()  # closing drops the flock: compaction takes it again
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self._segment = self.root / WAL_DIR / f"{stamp}-{uuid.uuid4().hex[:12]}.jsonl"
        self._fh = self._segment.open("xb", buffering=0)
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        header = {
            "wal": WAL_FORMAT,
            "features": self.features,
            "ids": self.id_columns,
            "pid": os.getpid(),
        }
        self._fh.write(orjson.dumps(header) + b"\n")
        self._records = 0
        return closed

    def append(self, record: dict[str, Any]) -> None:
        """Write one request's record as one line, flushed to the OS before returning."""
        line = orjson.dumps(record) + b"\n"
        with self._lock:
            if self._fh is None:
                raise RuntimeError("prediction log is not open")
            self._fh.write(line)  # unbuffered: one write() per request
            self._records += 1

    def compact(self) -> None:
        """Close the live segment (if it holds requests), open a new one, convert the old one."""
        with self._lock:
            if self._fh is None or self._records == 0:
                return
            closed = self._rotate()
        if closed is not None:
            recover_one(self.root, closed)

    def _compact_loop(self) -> None:
        while not self._stop.wait(self.compact_every):
            try:
                self.compact()
            except Exception as exc:  # keep serving; the segment stays for the next recovery
                print(f"warning: prediction log compaction failed: {exc}", flush=True)

    def close(self) -> None:
        """Stop compacting, convert the live segment and remove it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self._fh is None:
                return
            segment = self._segment
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
        if segment is not None:
            recover_one(self.root, segment)


def recover_one(root: Path, segment: Path) -> None:
    """Compact one closed segment under its lock (a concurrent :func:`recover` may own it)."""
    fd = _try_lock(segment)
    if fd is None:
        return
    try:
        if segment.exists():
            compact_segment(root, segment)
    finally:
        os.close(fd)
