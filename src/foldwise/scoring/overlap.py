"""Large batches scored in chunks: one chunk is converted while CatBoost scores the previous.

Converting raw values is Python work that holds the interpreter lock; CatBoost releases it
while it walks its trees. A large batch of records is therefore cut into chunks: the
caller's thread converts chunk i+1 while one worker thread (started for the call, ended
with it) scores chunk i with one CatBoost thread, so the two cores work at once. The
results are joined in input order.

Every chunk is converted by the fast rules only: a chunk that needs the reference
coercion (a bad or unusual value, mixed types) or lacks a feature makes the whole batch
take the serial path, which reads it as the reference does or raises the reference's
message, with the row numbers of the whole batch. Each fast reading reads a value by itself,
so chunks read as the whole batch does, provided each feature's values take the same
reading in every chunk as in the whole batch (``consistent``, on the value types).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from foldwise.scoring.columns import column_class
from foldwise.stage import usable_cores

# Batches of at least this many records are scored in chunks of CHUNK_ROWS (the first one
# smaller, so that CatBoost starts early). Measured on the demo bundle: see
# docs/scoring-speed.md.
OVERLAP_ROWS = 4000
CHUNK_ROWS = 2000
FIRST_CHUNK_ROWS = 1000


def two_cores() -> bool:
    """Whether this process may run on two cores or more (the overlap needs a second one)."""
    return usable_cores() >= 2


@dataclass(frozen=True)
class Chunk:
    """One chunk's estimator input, and the set of each feature's value types in it."""

    matrix: Any
    types: list[set[type]]


def same_readings(kinds: list[str], chunk_types: list[list[set[type]]]) -> bool:
    """Whether each feature's values (of these ``kinds``) take in every chunk the reading they
    take in the whole batch, judged on each chunk's set of value types."""
    for i, kind in enumerate(kinds):
        sets = [types[i] for types in chunk_types]
        whole = column_class(set().union(*sets), kind)
        if whole == "other" or any(column_class(t, kind) != whole for t in sets):
            return False
    return True


def chunk_bounds(n_rows: int, size: int | None = None, first: int | None = None) -> list:
    """(start, stop) of each chunk of ``n_rows``, in order: ``size`` rows (CHUNK_ROWS), the
    first one ``first`` (FIRST_CHUNK_ROWS), the last one up to half a chunk longer."""
    size = CHUNK_ROWS if size is None else size
    bounds, start = [], 0
    step = min(FIRST_CHUNK_ROWS if first is None else first, size)
    while start < n_rows:
        stop = min(n_rows, start + step)
        if n_rows - stop < size // 2:  # no short last chunk: it joins this one
            stop = n_rows
        bounds.append((start, stop))
        start, step = stop, size
    return bounds


def overlapped_scores(
    rows: Sequence[Any],
    convert: Callable[[Sequence[Any]], Chunk | None],
    score: Callable[[Any], np.ndarray],
    consistent: Callable[[list[list[set[type]]]], bool],
) -> np.ndarray | None:
    """Scores of ``rows`` chunk by chunk, converting the next while the last is scored.

    ``convert`` gives a chunk's input (None: the batch needs the serial path), ``score`` its
    scores, ``consistent`` whether the chunks' value types read as the whole batch's. None:
    take the serial path (no score is returned from a batch it would read otherwise).
    """
    futures: list[Future[np.ndarray]] = []
    chunks: list[Chunk] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="foldwise-scoring") as pool:
        for start, stop in chunk_bounds(len(rows)):
            chunk = convert(rows[start:stop])
            if chunk is None:
                pool.shutdown(wait=True, cancel_futures=True)
                return None
            futures.append(pool.submit(score, chunk.matrix))
            chunks.append(chunk)
        if not consistent([chunk.types for chunk in chunks]):
            pool.shutdown(wait=True, cancel_futures=True)
            return None
        # The worker takes chunks from the front; this thread, done converting, scores
        # from the back those it has not started.
        stolen = {
            i: score(chunks[i].matrix) for i in reversed(range(len(chunks))) if futures[i].cancel()
        }
        parts = [stolen[i] if i in stolen else future.result() for i, future in enumerate(futures)]
    return np.concatenate(parts)
