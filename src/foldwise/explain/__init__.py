"""Step 8: explain the model and find where it fails, on training rows only.

``attribution`` (SHAP per model), ``agreement`` (linear baseline and permutation importance),
``segments`` (per-row loss, worst mistakes, weak segments), ``robustness`` (small perturbations),
``plots``, ``run`` (the stage's computation, ``run_explain``, in phases: ``oof`` the out-of-fold
rows and their loss, ``importances`` the importances and their agreement, ``checks`` weak
segments, robustness and ``explain.fail_on``), ``result`` (its :class:`Explanation`),
``report`` (its files), ``rows`` (the ``foldwise explain ROWS.csv`` command) and ``moves``
(top features that moved, for compare).
"""
