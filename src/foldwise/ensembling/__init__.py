"""Ensembles chosen on out-of-fold predictions (greedy selection with replacement).

``selection`` holds the pure selection on arrays; ``procedure`` the whole procedure that
ships (members' cross-validation, weights, final fits), used by train and by each outer fold
of tune.
"""

from foldwise.ensembling.selection import Selection, blend, scored_rows, select_ensemble

__all__ = ["Selection", "blend", "scored_rows", "select_ensemble"]
