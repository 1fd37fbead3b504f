"""Time limits on boosting fits (``time_budget_s``): shares by rows, stops between rounds."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from foldwise.models import build_model
from foldwise.models.deadline import FitClock, fit_clock

FEATURES = [
    {"name": "x", "kind": "numeric"},
    {"name": "z", "kind": "numeric"},
    {"name": "colour", "kind": "categorical", "n_categories": 3},
]
# Far more rounds than any limit below lets a fit train: only the clock can stop them.
ENDLESS = {
    "catboost": {"iterations": 200_000, "learning_rate": 0.001, "thread_count": 1},
    "lightgbm": {"n_estimators": 200_000, "learning_rate": 0.001, "num_threads": 1},
}


def table(task: str, n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], n)
    X = pd.DataFrame({"x": x, "z": z, "colour": colour})
    signal = x + 0.5 * z + (colour == "red") + rng.normal(0, 0.5, n)
    if task == "regression":
        return X, signal
    if task == "binary":
        return X, (signal > 0.3).astype("int64")
    return X, np.digitize(signal, [-0.5, 0.8]).astype("int64")


def model(name: str, task: str, **settings):
    return build_model(
        name, features=FEATURES, task=task, seed=0, settings={**ENDLESS[name], **settings}
    )


def test_a_fit_gets_its_rows_share_of_the_time_left():
    clock = FitClock(end=time.monotonic() + 100.0, rows_left=400.0)
    first = clock.deadline(100) - time.monotonic()
    assert 24.0 < first <= 25.0  # a quarter of the rows: a quarter of the 100 s
    # The first fit ended at once: the next gets a third of all that is left (~100 s).
    second = clock.deadline(100) - time.monotonic()
    assert 32.0 < second <= 33.4
    assert clock.rows_left == 200.0
    assert clock.fits == 2
    # More rows than were planned: the fit gets everything that is left, never more.
    late = FitClock(end=time.monotonic() + 10.0, rows_left=50.0)
    assert late.deadline(500) - time.monotonic() <= 10.0


@pytest.mark.parametrize("name", sorted(ENDLESS))
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_fit_stops_at_its_deadline_and_keeps_what_it_trained(name, task):
    X, y = table(task)
    with fit_clock(0.5, planned_rows=len(y)) as clock:
        started = time.perf_counter()
        fitted = model(name, task).fit(X, y)
        seconds = time.perf_counter() - started
    assert clock.fits == 1
    assert clock.stopped == [fitted.stopped_by_time_]
    rounds = fitted.stopped_by_time_
    assert rounds is not None
    assert 0 < rounds < 200_000
    assert fitted.n_iterations_ == rounds  # no validation part: every round trained is kept
    assert seconds < 10.0  # unlimited, 200,000 rounds take minutes
    scores = fitted.predict_proba(X) if task != "regression" else fitted.predict(X)
    assert np.isfinite(scores).all()
    assert len(scores) == len(y)


@pytest.mark.parametrize("name", sorted(ENDLESS))
def test_an_early_stopped_fit_stopped_by_time_keeps_its_best_round(name):
    X, y = table("binary", n=800)
    with fit_clock(0.5, planned_rows=600):
        fitted = model(name, "binary").fit(X.iloc[:600], y[:600], X_val=X.iloc[600:], y_val=y[600:])
    assert fitted.stopped_by_time_ is not None
    assert 1 <= fitted.best_iteration_ <= fitted.stopped_by_time_
    assert fitted.n_iterations_ == fitted.best_iteration_


@pytest.mark.parametrize("name", sorted(ENDLESS))
def test_outside_a_clock_nothing_is_limited(name):
    X, y = table("binary")
    fitted = model(name, "binary", **{"iterations" if name == "catboost" else "n_estimators": 30})
    fitted = fitted.fit(X, y)
    assert fitted.stopped_by_time_ is None
    assert fitted.n_iterations_ == 30


def test_models_without_rounds_are_not_cut():
    X, y = table("binary")
    with fit_clock(0.0, planned_rows=len(y)) as clock:
        fitted = build_model("random_forest", features=FEATURES, task="binary", seed=0, settings={
            "n_estimators": 10}).fit(X, y)  # fmt: skip
    assert clock.fits == 0
    assert fitted.stopped_by_time_ is None
