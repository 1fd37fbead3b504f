"""Greedy ensemble selection with replacement (Caruana et al. 2004), on out-of-fold predictions.

Pure functions on arrays. Round 1 takes the best single member; every later round adds (with
replacement) the member whose addition gives the best score of the averaged predictions;
after the last round the best round is kept (the earliest one on a tie), so the ensemble is
never worse on these rows than its best member. A member's weight is the number of times it
was picked up to that round divided by the round. This is AutoGluon's ``EnsembleSelection``.

The scores are the project's own metrics (:mod:`foldwise.metrics`) with their direction;
classification blends probabilities (hard-label metrics take the labels of the blend),
regression blends values. A metric that is undefined on the rows (NaN) counts as the worst.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from foldwise.metrics import get_metric, score


@dataclass(frozen=True)
class Selection:
    """The outcome of ensemble selection over named members' out-of-fold predictions."""

    names: tuple[str, ...]
    weights: tuple[float, ...]  # per member, in ``names`` order: >= 0, summing to one
    counts: tuple[int, ...]  # times each member was picked up to the kept round
    metric: str
    greater_is_better: bool
    round_scores: tuple[float, ...]  # the blend's score after each round (round 1 first)
    best_round: int  # rounds kept (1-based): the best score, earliest on a tie
    member_scores: tuple[float, ...]  # each member alone, in ``names`` order
    rows: int  # rows scored (those every member predicted out of fold)

    @property
    def score(self) -> float:
        """The kept blend's score."""
        return self.round_scores[self.best_round - 1]

    @property
    def best_member(self) -> str:
        return self.names[_best_index(self.member_scores, self.greater_is_better)]

    @property
    def best_member_score(self) -> float:
        return self.member_scores[_best_index(self.member_scores, self.greater_is_better)]

    def weight_of(self) -> dict[str, float]:
        """Weight per member name."""
        return dict(zip(self.names, self.weights, strict=True))


def _key(value: float, greater_is_better: bool) -> float:
    """A value to minimise: NaN (undefined) is the worst."""
    if not np.isfinite(value):
        return np.inf
    return -value if greater_is_better else value


def _best_index(values: Sequence[float], greater_is_better: bool) -> int:
    keys = [_key(v, greater_is_better) for v in values]
    return int(np.argmin(keys))  # the first on a tie


def scored_rows(predictions: Sequence[np.ndarray]) -> np.ndarray:
    """Rows every member predicted (walk-forward CV never predicts the first block)."""
    mask = np.ones(len(predictions[0]), dtype=bool)
    for p in predictions:
        finite = np.isfinite(p)
        mask &= finite if finite.ndim == 1 else finite.all(axis=1)
    return mask


def blend(predictions: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The weighted sum of the members' predictions (probabilities or values)."""
    out = np.zeros_like(np.asarray(predictions[0], dtype="float64"))
    for p, w in zip(predictions, weights, strict=True):
        if w > 0:
            out += w * np.asarray(p, dtype="float64")
    return out


def _check(names: Sequence[str], predictions: Sequence[np.ndarray], rounds: int) -> None:
    if not predictions:
        raise ValueError("ensemble selection needs at least one member")
    if len(names) != len(predictions):
        raise ValueError(f"{len(names)} names but {len(predictions)} predictions")
    if len(set(names)) != len(names):
        raise ValueError(f"member names must be unique, got {list(names)}")
    shapes = {np.shape(p) for p in predictions}
    if len(shapes) != 1:
        raise ValueError(f"members' predictions differ in shape: {sorted(shapes)}")
    if rounds < 1:
        raise ValueError(f"ensemble selection needs at least one round, got {rounds}")


def select_ensemble(
    names: Sequence[str],
    predictions: Sequence[np.ndarray],
    y_true: np.ndarray,
    metric: str,
    rounds: int,
) -> Selection:
    """Greedy selection with replacement over ``rounds`` rounds; keeps the best round.

    ``predictions[i]`` are member ``names[i]``'s out-of-fold predictions of ``y_true`` ((n, k)
    probabilities or (n,) values, NaN for rows it never predicted): only rows every member
    predicted are scored.
    """
    _check(names, predictions, rounds)
    greater = get_metric(metric).greater_is_better
    mask = scored_rows(predictions)
    if not mask.any():
        raise ValueError("no row was predicted out of fold by every member")
    preds = [np.asarray(p, dtype="float64")[mask] for p in predictions]
    y = np.asarray(y_true)[mask]
    member_scores = [score(metric, y, p) for p in preds]
    first = _best_index(member_scores, greater)
    counts = np.zeros((rounds, len(preds)), dtype="int64")  # counts after each round
    counts[0, first] = 1
    total = preds[first].copy()
    round_scores = [member_scores[first]]
    for r in range(1, rounds):
        candidates = [score(metric, y, (total + p) / (r + 1)) for p in preds]
        pick = _best_index(candidates, greater)
        total += preds[pick]
        counts[r] = counts[r - 1]
        counts[r, pick] += 1
        round_scores.append(candidates[pick])
    best = _best_index(round_scores, greater) + 1
    kept = counts[best - 1]
    return Selection(
        names=tuple(names),
        weights=tuple(float(c) / best for c in kept),
        counts=tuple(int(c) for c in kept),
        metric=metric,
        greater_is_better=greater,
        round_scores=tuple(float(s) for s in round_scores),
        best_round=best,
        member_scores=tuple(float(s) for s in member_scores),
        rows=int(mask.sum()),
    )
