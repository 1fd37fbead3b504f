"""The first timed fit of each model, from which ``time_budget_s`` is planned.

One early-stopped fit (no refit) of each model on at most :data:`PROBE_ROWS` rows of the
training table gives its seconds per row (:class:`Probe`); :mod:`foldwise.tuning.budget`
scales them to every fit the plan counts. With a budget the probes together get at most
:data:`PROBE_SHARE` of it (:mod:`foldwise.models.deadline`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from foldwise.config import Config
from foldwise.models.deadline import fit_clock
from foldwise.models.registry import backend_for
from foldwise.training.data import TrainingData, take_rows
from foldwise.training.fitting import fit_with_early_stopping, model_for

# Rows of the first timed fit of each model.
PROBE_ROWS = 5000
# The first timed fits spend at most this share of the budget (a huge ``iterations`` would
# otherwise spend all of it before there is a plan); the train stage's clock does the rest.
PROBE_SHARE = 0.10


@dataclass(frozen=True)
class Probe:
    """A first timed fit of one model on the training rows."""

    name: str
    seconds: float
    rows: int  # rows it was fitted on (an early-stopped fit: the carved fitting part)
    early_stopping: bool
    stopped: bool = False  # it reached its time limit: ``seconds`` is only a lower bound

    def fit(self, rows: float) -> float:
        """Estimated seconds of one fit on ``rows`` rows (linear in rows)."""
        return self.seconds * rows / max(self.rows, 1)

    def fit_early_stopped(self, rows: float, fraction: float) -> float:
        """A fit that carves ``fraction`` for early stopping and refits on all ``rows``."""
        if not self.early_stopping:
            return self.fit(rows)
        return self.fit(rows * (1 - fraction)) + self.fit(rows)


def probe_rows(data: TrainingData, seed: int) -> TrainingData:
    """At most :data:`PROBE_ROWS` rows drawn at random (all of a small table)."""
    n = len(data.y)
    if n <= PROBE_ROWS:
        return data
    idx = np.sort(np.random.default_rng(seed).choice(n, PROBE_ROWS, replace=False))
    return take_rows(data, idx)


def probe_models(data: TrainingData, config: Config, names: Sequence[str]) -> list[Probe]:
    """One timed, early-stopped fit (no refit) of each model on up to PROBE_ROWS rows.

    Seconds are then scaled linearly in rows: a sample keeps the probes cheap on a large
    table (tree ensembles grow a little faster than linearly, which the deadlines absorb).
    """
    data = probe_rows(data, config.seed)
    probes = []
    budget = config.time_budget_s
    with fit_clock(PROBE_SHARE * budget, len(names) * len(data.y)) if budget else nullcontext():
        for name in names:
            probes.append(_probe(name, data, config))
    return probes


def _probe(name: str, data: TrainingData, config: Config) -> Probe:
    """One timed early-stopped fit of ``name`` on ``data``."""
    model = model_for(name, data, config)
    backend_for(name)  # its library is imported on first use: not a cost of every fit
    started = time.perf_counter()
    result = fit_with_early_stopping(
        model,
        data.frame,
        data.X,
        data.y,
        config=config,
        task=data.problem.task,
        seed=config.seed,
        refit=False,
        labels=data.problem.classes,
    )
    seconds = time.perf_counter() - started
    es = model.supports_early_stopping
    rows = round(len(data.y) * (1 - config.train.validation_size)) if es else len(data.y)
    stopped = getattr(result.model, "stopped_by_time_", None) is not None
    return Probe(name, seconds, rows, es, stopped)
