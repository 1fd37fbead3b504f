"""Large batches of records scored in chunks equal the serial path and the reference exactly.

A CatBoost bundle converts one chunk of a large batch while CatBoost scores the previous one
(foldwise.scoring.overlap). The batches here are just over the threshold, so they span a
short first chunk, a full one and a last one.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pandas as pd
import pytest

from foldwise.errors import FoldwiseError
from foldwise.scoring import fast
from foldwise.scoring.fast import FastScorer
from foldwise.scoring.overlap import chunk_bounds
from tests.models.test_models import make_data
from tests.scoring.test_fast import as_text, fitted, one_thread, scores  # noqa: F401

N_ROWS = fast.OVERLAP_ROWS + 500


def big_records(task: str, seed: int = 5) -> list[dict]:
    """N_ROWS records never seen in training, every value as text (as a CSV reader gives)."""
    X, _ = make_data(task, n=N_ROWS, seed=seed)
    return as_text(X).to_dict("records")


def counted(scorer: FastScorer, monkeypatch: pytest.MonkeyPatch, any_cores: bool = True) -> list:
    """The sizes of the chunks the scorer converts (the overlapped path was taken if any).

    ``any_cores``: chunk also where the tests run on one core (the path is the same; only
    its speed needs the second core).
    """
    if any_cores:
        monkeypatch.setattr(fast, "two_cores", lambda: True)
    sizes: list[int] = []
    convert = scorer.records_chunk

    def spy(records):
        sizes.append(len(records))
        return convert(records)

    monkeypatch.setattr(scorer, "records_chunk", spy)
    return sizes


def serial(scorer: FastScorer, records: list[dict]) -> np.ndarray:
    return scorer.scores_of(scorer.records_matrix(records))


def serial_error(scorer: FastScorer, records: list[dict]) -> str:
    with pytest.raises(FoldwiseError) as caught:
        serial(scorer, records)
    return str(caught.value)


def test_chunks_cover_the_rows_in_order_without_a_short_last_chunk():
    assert chunk_bounds(4500, 2000, 1000) == [(0, 1000), (1000, 3000), (3000, 4500)]
    assert chunk_bounds(3900, 2000, 1000) == [(0, 1000), (1000, 3900)]
    assert chunk_bounds(10_000, 2000, 1000)[-1] == (9000, 10_000)
    for n in (1, 999, 4000, 10_001):
        bounds = chunk_bounds(n)
        assert bounds[0][0] == 0
        assert bounds[-1][1] == n
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_chunked_scores_equal_the_serial_path_and_the_reference(task, monkeypatch):
    model, _ = fitted("catboost", task)
    scorer = FastScorer(model)
    records = big_records(task)
    sizes = counted(scorer, monkeypatch)
    out = scorer.scores(records)
    assert sizes == [stop - start for start, stop in chunk_bounds(len(records))]
    assert len(sizes) >= 3
    assert np.array_equal(out, serial(scorer, records))
    expected = scores(model, pd.DataFrame(records))
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)


def test_categories_clean_to_the_same_text_in_every_chunk(monkeypatch):
    model, _ = fitted("catboost", "multiclass")
    scorer = FastScorer(model)
    records = big_records("multiclass", seed=6)
    n = len(records)
    # The same categories spelled differently early and late, and missing markers.
    for i, spelling in ((3, " red "), (n - 3, "red"), (5, "n/a"), (n - 5, ""), (n - 7, None)):
        records[i]["colour"] = spelling
    records[n - 9]["city"] = "__missing__"  # a look-alike of the missing category, escaped
    sizes = counted(scorer, monkeypatch)
    out = scorer.scores(records)
    assert len(sizes) >= 3
    assert np.array_equal(out, serial(scorer, records))
    assert np.array_equal(out, scores(model, pd.DataFrame(records)))


def test_a_bad_cell_in_a_late_chunk_gives_the_serial_message(monkeypatch):
    model, _ = fitted("catboost", "binary")
    scorer = FastScorer(model)
    records = big_records("binary", seed=7)
    records[-2]["x"] = "lots"
    records[-40]["x"] = "plenty"
    message = serial_error(scorer, records)
    assert "column 'x': 2 value(s) are not numbers" in message
    sizes = counted(scorer, monkeypatch)
    with pytest.raises(FoldwiseError) as caught:
        scorer.scores(records)
    assert str(caught.value) == message
    assert len(sizes) == len(chunk_bounds(len(records)))  # the last chunk sent it back


def test_a_record_missing_a_feature_in_a_late_chunk_names_its_row_in_the_batch(monkeypatch):
    model, _ = fitted("catboost", "binary")
    scorer = FastScorer(model)
    records = big_records("binary", seed=8)
    row = len(records) - 3
    del records[row]["city"]
    sizes = counted(scorer, monkeypatch)
    with pytest.raises(FoldwiseError, match=rf"column\(s\) 'city' expected .*\(row {row}\)"):
        scorer.scores(records)
    assert len(sizes) == len(chunk_bounds(len(records)))
    assert serial_error(scorer, records).endswith(f"(row {row})")


@pytest.mark.parametrize(
    ("column", "early", "late"),
    [
        ("city", 7, "city07"),  # integers for a category early, text late: the reference types it
        ("x", None, "1.5"),  # only nulls in the first chunk, text later
        ("member", True, "yes"),  # booleans early, words late
    ],
)
def test_value_types_differing_between_chunks_score_as_the_whole_batch(
    column, early, late, monkeypatch
):
    model, _ = fitted("catboost", "regression")
    scorer = FastScorer(model)
    records = big_records("regression", seed=9)
    first = chunk_bounds(len(records))[0][1]
    for i, record in enumerate(records):
        record[column] = early if i < first else late
    sizes = counted(scorer, monkeypatch)
    out = scorer.scores(records)
    assert sizes  # chunks were converted, then the whole batch went the serial way
    assert np.array_equal(out, serial(scorer, records))
    assert np.array_equal(out, scores(model, pd.DataFrame(records)))


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_a_process_on_one_core_scores_in_one_piece(monkeypatch):
    model, _ = fitted("catboost", "binary")
    scorer = FastScorer(model)
    records = big_records("binary", seed=10)
    sizes = counted(scorer, monkeypatch, any_cores=False)
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        out = scorer.scores(records)
    finally:
        os.sched_setaffinity(0, cores)
    assert sizes == []
    assert np.array_equal(out, serial(scorer, records))
