"""Raw-row scoring of an ensemble bundle: every member's fast scorer, weighted.

Each member is a :class:`~foldwise.models.TabularModel` with its own
:class:`~foldwise.scoring.fast.FastScorer`, so every member's scores equal its reference
path exactly and the ensemble's scores are the weighted sum :class:`EnsembleModel` computes.
The raw rows are converted once for all members (they read the same features), then handed
to each member in its estimator's input form; the scorer offers
the same public calls as :class:`FastScorer` (``matrix``, ``columns_matrix``, ``scores_of``,
``scores``), its "matrix" being one estimator input per member.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from foldwise.errors import FoldwiseError
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel
from foldwise.scoring.fast import FastScorer
from foldwise.scoring.rows import Rows


class EnsembleScorer:
    """Score raw rows with every member's :class:`FastScorer` and sum them by weight."""

    def __init__(self, model: EnsembleModel) -> None:
        self.model = model
        self.features = list(model.features)
        self.names = [str(f["name"]) for f in self.features]
        self.scorers = [FastScorer(member.model) for member in model.members]
        self.weights = [member.weight for member in model.members]
        self._first = self.scorers[0]
        for scorer in self.scorers[1:]:
            if scorer.names != self._first.names or scorer.kinds != self._first.kinds:
                raise FoldwiseError("the ensemble's members must read the same features")

    def matrix(self, rows: Rows) -> list[Any]:
        """Each member's estimator input for any accepted form of raw rows."""
        return self._inputs(*self._first.converted(rows))

    def records_matrix(self, records: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Each member's estimator input for rows given as mappings."""
        return self._inputs(*self._first.converted(records))

    def columns_matrix(self, columns: Mapping[str, Sequence[Any]]) -> list[Any]:
        """Each member's estimator input for raw values given feature by feature."""
        return self._inputs(*self._first.columns_converted(columns))

    def _inputs(self, values: list[Any], n_rows: int) -> list[Any]:
        return [scorer.input_of(values, n_rows) for scorer in self.scorers]

    def model_frame(self, rows: Any) -> Any:
        """Not defined for an ensemble: its members read different inputs."""
        raise FoldwiseError(
            "an ensemble has no single model frame; its members are scored one by one"
        )

    def scores_of(self, matrices: Sequence[Any]) -> np.ndarray:
        """The weighted sum of the members' scores, from :meth:`matrix`'s inputs."""
        if len(matrices) != len(self.scorers):
            raise ValueError(f"{len(matrices)} member inputs for {len(self.scorers)} members")
        total: np.ndarray | None = None
        for scorer, weight, matrix in zip(self.scorers, self.weights, matrices, strict=True):
            part = weight * scorer.scores_of(matrix)
            total = part if total is None else total + part
        assert total is not None  # an ensemble has at least one member
        return total

    def scores(self, rows: Rows) -> np.ndarray:
        """Scores of raw rows: a frame, one mapping, or a sequence of mappings."""
        return self.scores_of(self.matrix(rows))


def scorer_for(model: TabularModel | EnsembleModel) -> FastScorer | EnsembleScorer:
    """The raw-row scorer of a bundle's model: one fast scorer, or one per ensemble member."""
    if isinstance(model, EnsembleModel):
        return EnsembleScorer(model)
    return FastScorer(model)
