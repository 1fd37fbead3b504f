"""Edge cases generated from the input contract, each with its documented behaviour, checked.

Behaviours (also in docs/production.md): a missing feature column and text in a numeric column are
refused with a one-line error naming the column; an extra column, an unseen category, values
far outside the training range and rows with every feature missing are scored, and
:func:`~foldwise.profile.contract.unusual_inputs` says what was unusual; an empty batch gives
an empty result with the usual columns; one row (as a mapping or a one-row table) and a large
batch give exactly the predictions the same rows get in an ordinary batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from foldwise.bundle import Bundle
from foldwise.errors import FoldwiseError, quoted
from foldwise.profile.contract import far_value, unusual_inputs

UNSEEN = "__never_seen_in_training__"


@dataclass
class CaseResult:
    """One edge case: what should happen, what happened, and whether they agree."""

    name: str
    expected: str
    behaviour: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sane(bundle: Bundle, scores: np.ndarray) -> bool:
    if bundle.problem.task == "regression":
        return bool(np.isfinite(scores).all())
    sums = scores.sum(axis=1) if len(scores) else np.ones(0)
    return bool(np.isfinite(scores).all() and np.allclose(sums, 1.0) and (scores >= 0).all())


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to the last bits a BLAS may change with the batch size (linear models)."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0.0, atol=1e-12))


def _expect_score(bundle: Bundle, rows: pd.DataFrame, must_mention: str | None) -> tuple[bool, str]:
    notes = unusual_inputs(bundle.input_schema or {"properties": {}}, rows, bundle.features)
    scores = bundle.predict_scores(rows)
    if len(scores) != len(rows) or not _sane(bundle, scores):
        return False, f"scored {len(scores)} of {len(rows)} rows, or scores not valid"
    detail = "; ".join(notes) if notes else "nothing unusual reported"
    if must_mention is not None and must_mention not in detail:
        return False, f"scored, but the notes do not mention {must_mention!r}: {detail}"
    return True, detail


def _expect_refusal(bundle: Bundle, rows: pd.DataFrame, column: str) -> tuple[bool, str]:
    try:
        bundle.predict_scores(rows)
    except FoldwiseError as exc:
        message = str(exc)
        ok = column in message and "\n" not in message
        return ok, message if ok else f"refused without naming {column!r}: {message}"
    return False, f"scored although column {column!r} is unusable"


def _features_of(bundle: Bundle, kinds: tuple[str, ...]) -> list[str]:
    return [str(f["name"]) for f in bundle.features if f["kind"] in kinds]


Check = Callable[[], tuple[bool, str]]
Case = tuple[str, str, str, Check]  # name, expected, behaviour, check


def run_edge_cases(bundle: Bundle, sample: pd.DataFrame, large_rows: int = 50_000) -> list[dict]:
    """Run every edge case on rows built from ``sample`` (raw training rows)."""
    if bundle.input_schema is None:
        raise FoldwiseError("bundle has no input_schema.json; retrain with dvc repro train")
    names = [str(f["name"]) for f in bundle.features]
    base = sample[[n for n in names if n in sample.columns]].reset_index(drop=True)
    reference = bundle.predict_scores(base)
    cases = [
        *_column_cases(bundle, base, reference),
        *_value_cases(bundle, base),
        *_batch_cases(bundle, base, reference, large_rows),
    ]
    return [_run_case(*case).to_dict() for case in cases]


def _run_case(name: str, expected: str, behaviour: str, check: Check) -> CaseResult:
    try:
        passed, detail = check()
    except FoldwiseError as exc:
        passed, detail = False, f"unexpected refusal: {exc}"
    return CaseResult(name, expected, behaviour, passed, detail)


def _column_cases(bundle: Bundle, base: pd.DataFrame, reference: np.ndarray) -> list[Case]:
    """A feature column missing, an extra column."""
    first = str(bundle.features[0]["name"])
    return [
        (
            "missing column",
            "refuse",
            f"a row without feature {first!r} is refused with one line naming it",
            lambda: _expect_refusal(bundle, base.drop(columns=[first]), first),
        ),
        (
            "extra column",
            "score",
            "unknown columns are ignored, reported, and change no prediction",
            lambda: _extra_column(bundle, base, reference),
        ),
    ]


def _value_cases(bundle: Bundle, base: pd.DataFrame) -> list[Case]:
    """Unseen categories, every feature missing, values far out of range, text for a number."""
    assert bundle.input_schema is not None
    properties = bundle.input_schema["properties"]
    names = [str(f["name"]) for f in bundle.features]
    cases: list[Case] = []
    categorical = _features_of(bundle, ("categorical",))
    if categorical:
        rows = base.iloc[[0] * len(categorical)].reset_index(drop=True)
        for i, name in enumerate(categorical):
            rows[name] = rows[name].astype(object)
            rows.loc[i, name] = UNSEEN
        cases.append(
            (
                "unseen category",
                "score",
                "a category never seen in training is scored as unknown and reported",
                lambda: _expect_score(bundle, rows, categorical[0]),
            )
        )
    missing = base.iloc[:3].copy()
    for name in names:
        missing[name] = None
    cases.append(
        (
            "all features missing",
            "score",
            "rows with every feature missing are scored (the model's missing-value handling) "
            "and reported",
            lambda: _expect_score(bundle, missing, "every feature missing"),
        )
    )
    ranged = [n for n in names if "x-foldwise-range" in properties.get(n, {})]
    if ranged:
        far = base.iloc[[0] * len(ranged)].reset_index(drop=True)
        for i, name in enumerate(ranged):
            far[name] = far[name].astype(object)
            far.loc[i, name] = far_value(properties[name])
        cases.append(
            (
                "far out of range",
                "score",
                "values far outside the training range are scored and reported",
                lambda: _expect_score(bundle, far, ranged[0]),
            )
        )
    numeric = _features_of(bundle, ("numeric",))
    if numeric:
        text = base.iloc[:2].copy()
        text[numeric[0]] = ["not a number", "12"]
        cases.append(
            (
                "text in a numeric column",
                "refuse",
                "text that is not a number in a numeric column is refused, naming the column",
                lambda: _expect_refusal(bundle, text, numeric[0]),
            )
        )
    return cases


def _batch_cases(
    bundle: Bundle, base: pd.DataFrame, reference: np.ndarray, large_rows: int
) -> list[Case]:
    """An empty batch, one row, a large batch."""
    return [
        (
            "empty batch",
            "score",
            "an empty batch gives an empty result with the usual columns",
            lambda: _empty_batch(bundle, base),
        ),
        (
            "one row",
            "score",
            "one row, as a mapping or a one-row table, gets exactly its batch prediction",
            lambda: _one_row(bundle, base, reference),
        ),
        (
            "large batch",
            "score",
            f"a batch of {large_rows:,} rows is scored in one call, each row as in a small batch",
            lambda: _large_batch(bundle, base, reference, large_rows),
        ),
    ]


def _extra_column(bundle: Bundle, base: pd.DataFrame, reference: np.ndarray) -> tuple[bool, str]:
    rows = base.assign(__extra_column__="anything")
    passed, detail = _expect_score(bundle, rows, "__extra_column__")
    if passed and not np.array_equal(bundle.predict_scores(rows), reference):
        return False, "the extra column changed predictions"
    return passed, detail


def _empty_batch(bundle: Bundle, base: pd.DataFrame) -> tuple[bool, str]:
    out = bundle.predict(base.iloc[:0])
    expected = bundle.predict(base.iloc[:1]).columns
    ok = len(out) == 0 and list(out.columns) == list(expected)
    return ok, f"{len(out)} rows, columns {quoted(out.columns)}"


def _one_row(bundle: Bundle, base: pd.DataFrame, reference: np.ndarray) -> tuple[bool, str]:
    record = {str(k): v for k, v in base.iloc[0].to_dict().items()}
    as_dict = bundle.predict_scores(record)
    as_frame = bundle.predict_scores(base.iloc[:1])
    ok = _same(as_dict, reference[:1]) and _same(as_frame, reference[:1])
    return ok, "same as the batch prediction" if ok else "differs from the batch prediction"


def _large_batch(
    bundle: Bundle, base: pd.DataFrame, reference: np.ndarray, n: int
) -> tuple[bool, str]:
    positions = np.resize(np.arange(len(base)), n)
    rows = base.iloc[positions].reset_index(drop=True)
    scores = bundle.predict_scores(rows)
    ok = len(scores) == n and _sane(bundle, scores) and _same(scores, reference[positions])
    return ok, f"{len(scores):,} rows scored" + ("" if ok else "; rows differ from small batches")
