"""The train stage's share of ``time_budget_s``: a clock over its boosting fits.

The tune stage leaves the train stage ``train_s`` seconds (``models/best_params.json`` →
``budget``). Here they become a :class:`~foldwise.models.deadline.FitClock` over every
boosting fit of the stage, less its start-up (imports, reading) and a reserve for the work
after the fits (threshold, reference profile, bundle, reports): each fit then gets its rows'
share of the time left and stops there (see :mod:`foldwise.models.deadline`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from foldwise.models import backend_for
from foldwise.models.deadline import fit_clock
from foldwise.stage import startup_seconds

# Kept for the work after the fits: this share of the train stage's seconds, and at least
# RESERVE_MIN_S (the tune stage's plan counts the same share as its overhead).
RESERVE_SHARE = 0.10
RESERVE_MIN_S = 3.0

T = TypeVar("T")


def boosting_fit_rows(
    folds: Sequence[tuple[np.ndarray, np.ndarray]], rows: int, fraction: float
) -> float:
    """Rows of the fits ``training.cross_validate`` and ``training.fit_final`` make for one
    boosting model, summed: per fold a probe on the carved part (``1 - fraction`` of the
    fold's training rows) and a refit on all of them, then the final fit on ``rows``.

    Keep it in step with how ``cross_validate`` fits a fold: the shares follow these rows.
    """
    return sum((2.0 - fraction) * len(train) for train, _ in folds) + rows


def fit_seconds(train_s: float, started_s: float) -> float:
    """Seconds for the fits: ``train_s`` less what the stage spent so far and its reserve."""
    reserve = max(RESERVE_MIN_S, RESERVE_SHARE * train_s)
    return max(0.0, train_s - started_s - reserve)


def within_budget(
    budget: dict[str, Any] | None,
    members: Sequence[str],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    rows: int,
    fraction: float,
    fit: Callable[[], T],
) -> tuple[T, dict[str, Any] | None]:
    """``fit()``, its boosting fits limited to the budget's ``train_s`` (if any).

    Returns fit's result and what the clock did (None without a budget): the seconds the fits
    were given, how many boosting fits ran, and the rounds of those a deadline stopped.
    """
    train_s = None if budget is None else budget.get("train_s")
    if train_s is None:
        return fit(), None
    limited = [m for m in members if backend_for(m).time_limited]
    planned = len(limited) * boosting_fit_rows(folds, rows, fraction)
    seconds = fit_seconds(float(train_s), startup_seconds())
    with fit_clock(seconds, planned) as clock:
        result = fit()
    return result, {"fit_s": round(seconds, 1), **clock.report()}
