"""Small batches through scikit-learn models: one OpenMP thread, forests tree by tree."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_info

from foldwise.scoring.small_batch import forest_scores, one_openmp_thread


def openmp_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "openmp"}


def test_one_openmp_thread_limits_the_block_then_restores():
    # What histogram boosting asks for its prediction threads (other OpenMP copies loaded
    # later by other libraries are not what the limit is for).
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    before = _openmp_effective_n_threads()
    with one_openmp_thread():
        assert _openmp_effective_n_threads() == 1
    assert _openmp_effective_n_threads() == before


def test_one_openmp_thread_leaves_other_threads_alone():
    before = openmp_threads()
    seen: list[set[int]] = []
    entered, done = threading.Event(), threading.Event()

    def other() -> None:
        entered.wait(5)
        seen.append(openmp_threads())
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with one_openmp_thread():
        entered.set()
        done.wait(5)
    thread.join()
    assert seen == [before]


def data(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 5))
    X[rng.random(X.shape) < 0.1] = np.nan
    return X, rng.integers(0, 3, n)


@pytest.mark.parametrize("rows", [1, 7, 120])
def test_forest_scores_equal_the_forests_own_bit_for_bit(rows):
    X, y = data()
    classify = Pipeline(
        [("scale", StandardScaler()), ("model", RandomForestClassifier(25, random_state=0))]
    ).fit(X, y)
    regress = Pipeline([("model", ExtraTreesRegressor(25, random_state=0))]).fit(X, y * 1.5)
    batch = X[-rows:]
    assert np.array_equal(forest_scores(classify, batch, True), classify.predict_proba(batch))
    assert np.array_equal(forest_scores(regress, batch, False), regress.predict(batch))


def test_a_sparse_transform_falls_back_to_the_forests_own_method():
    X, y = data()
    codes = np.round(np.nan_to_num(X[:, :2])).astype(int)
    pipe = Pipeline(
        [
            ("encode", OneHotEncoder(handle_unknown="ignore")),
            ("model", RandomForestClassifier(5, random_state=0)),
        ]
    ).fit(codes, y)
    assert forest_scores(pipe, codes[:3], True) is None
