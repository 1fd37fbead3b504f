"""Time limits for boosting fits: how the train stage keeps to ``time_budget_s``.

The tune stage's plan cuts trials, studies, members and the outer loop to fit the budget, but
the train stage's own cross-validation and final fit are the smallest plan there is: on a
large table they alone can take several times the budget. So, with a budget, the train stage
opens a :class:`FitClock` for the seconds it has left, and each boosting fit gets a deadline:
its share of the time left, in proportion to its rows among the rows still to be fitted.
A fit that early stopping ends sooner leaves its unused time to the fits after it; a fit that
reaches its deadline stops there (CatBoost and LightGBM stop between two rounds) and keeps
the rounds it trained, the best of them when it early-stops. Models without rounds (forests,
linear) are not cut; their time is simply gone from what is left for the others.

Outside a clock (no ``time_budget_s``, or the tune stage) nothing is limited.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FitClock:
    """The seconds left for the boosting fits still to come, and what they were cut to."""

    end: float  # time.monotonic() by which every fit must be done
    rows_left: float  # rows of the fits still to come (each fit counts its rows once)
    stopped: list[int] = field(default_factory=list)  # rounds of each fit the clock stopped
    fits: int = 0  # fits that asked for a deadline

    def deadline(self, rows: int) -> float:
        """The monotonic time by which a fit on ``rows`` rows must stop; books its rows."""
        now = time.monotonic()
        share = rows / max(self.rows_left, float(rows), 1.0)
        self.rows_left = max(0.0, self.rows_left - rows)
        self.fits += 1
        return now + max(0.0, self.end - now) * share

    def report(self) -> dict[str, Any]:
        """How many fits the clock saw and which it stopped (train metrics.json)."""
        return {"boosting_fits": self.fits, "stopped_by_time": len(self.stopped),
                "stopped_at_rounds": list(self.stopped)}  # fmt: skip


_CLOCK: ContextVar[FitClock | None] = ContextVar("foldwise_fit_clock", default=None)


@contextmanager
def fit_clock(seconds: float, planned_rows: float) -> Iterator[FitClock]:
    """Limit the boosting fits made inside to ``seconds`` in all (see the module docstring).

    ``planned_rows``: the rows of every boosting fit that will be made inside, summed.
    """
    clock = FitClock(time.monotonic() + max(0.0, seconds), planned_rows)
    token = _CLOCK.set(clock)
    try:
        yield clock
    finally:
        _CLOCK.reset(token)


class StopAt:
    """A CatBoost callback (``after_iteration``) and LightGBM callback (``__call__``) that stop
    boosting once ``at`` (time.monotonic) has passed; ``stopped_at``: the rounds trained then."""

    order = 40  # LightGBM: after its evaluation recording (20) and early stopping (30)

    def __init__(self, at: float, clock: FitClock) -> None:
        self.at = at
        self.clock = clock
        self.stopped_at: int | None = None
        # LightGBM: the 0-based best round so far (its early stopping's), None: the last one
        self.best_round: Callable[[], int] | None = None

    def _past(self, rounds: int) -> bool:
        if time.monotonic() < self.at:
            return False
        self.stopped_at = rounds
        self.clock.stopped.append(rounds)
        return True

    def after_iteration(self, info: Any) -> bool:  # CatBoost: False stops training
        return not self._past(int(info.iteration))

    def __call__(self, env: Any) -> None:  # LightGBM
        if self._past(int(env.iteration) + 1):
            import lightgbm as lgb

            best = env.iteration if self.best_round is None else self.best_round()
            raise lgb.callback.EarlyStopException(best, env.evaluation_result_list)


def stopper(rows: int) -> StopAt | None:
    """A callback stopping a fit on ``rows`` rows at its deadline; None outside a clock."""
    clock = _CLOCK.get()
    if clock is None:
        return None
    return StopAt(clock.deadline(rows), clock)
