"""Small batches through scikit-learn models, without the per-call costs that dominate them.

Two costs dwarf the arithmetic when a scikit-learn model scores one row or a few:

- **A forest's thread pool.** ``predict_proba`` hands every tree to joblib, one task each,
  even with one job: about 25 ms for 300 trees and one row, where the trees' own work is
  under 3 ms. :func:`forest_scores` calls the same trees in the same order and adds their
  outputs exactly as the forest does (sequential sum, then one division), so the scores are
  bit-identical (``tests/scoring/test_small_batch.py``).
- **OpenMP threads that spin.** Histogram gradient boosting predicts with every OpenMP
  thread. On a busy two-core machine one row then waited up to 1.75 s at p99 for threads
  that spin while another process holds the core (55 ms with one thread, load 5).
  :func:`one_openmp_thread` scores small batches on the caller's thread alone; the
  predictions do not depend on the number of threads.

Large batches keep the libraries' own parallel paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

FOREST_NAMES = frozenset({"random_forest", "extra_trees"})
OPENMP_NAMES = frozenset({"hist_gradient_boosting"})

_controller: Any = None


@contextmanager
def one_openmp_thread() -> Iterator[None]:
    """Run the block with one OpenMP thread in this thread (restored afterwards).

    OpenMP's thread count is per calling thread, so concurrent requests on other threads
    are not affected. The controller that finds the OpenMP libraries is built once (a few
    milliseconds); each use costs about 0.05 ms.
    """
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="openmp"):
        yield


def forest_scores(pipeline: Any, matrix: Any, proba: bool) -> np.ndarray | None:
    """A fitted forest pipeline's ``predict_proba`` (or ``predict``) of ``matrix``, tree by tree.

    ``pipeline``: a scikit-learn ``Pipeline`` whose last step is a random forest or extra
    trees (classifier when ``proba``, regressor otherwise), with one output. Returns ``None``
    when the input after the pipeline's transforms is not a dense array (the caller then uses
    the forest's own method).
    """
    steps = pipeline.steps
    forest = steps[-1][1]
    X = matrix
    for _, transform in steps[:-1]:
        X = transform.transform(X)
    if not isinstance(X, np.ndarray) or getattr(forest, "n_outputs_", 1) != 1:
        return None
    # The forest's own input check: float32, as its trees store thresholds.
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != forest.n_features_in_:
        return None
    # Each tree's predict_proba / predict with check_input=False is its ``tree_.predict``
    # sliced (scikit-learn 1.5-1.9); calling ``tree_`` skips a fitted check per tree.
    trees = [tree.tree_ for tree in forest.estimators_]
    total: np.ndarray
    if proba:
        k = int(forest.n_classes_)
        total = np.zeros((X.shape[0], k), dtype=np.float64)
        for tree in trees:
            total += tree.predict(X)[:, :k]
    else:
        total = np.zeros(X.shape[0], dtype=np.float64)
        for tree in trees:
            total += tree.predict(X)[:, 0]
    total /= len(trees)
    return total
