"""The figures a tuning run reports: the nested estimate, parameter stability, trials, importances."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState
from scipy import stats

from foldwise.config import ChoiceSpec
from foldwise.metrics import METRICS
from foldwise.tuning.nested import OuterFold


def nested_summary(outer: list[OuterFold], metric: str, space: dict[str, Any]) -> dict[str, Any]:
    """Outer scores with mean, std and a t interval, the optimism gap and parameter stability.

    ``space``: the single model's search space (parameter stability); an ensemble's outer
    folds report their weights and per-member params instead.
    """
    greater = METRICS[metric].greater_is_better
    values = np.array([o.scores[metric] for o in outer], dtype=float)
    k = len(values)
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if k > 1 else 0.0
    half = float(stats.t.ppf(0.975, k - 1) * std / math.sqrt(k)) if k > 1 else 0.0
    out: dict[str, Any] = {
        "metric": metric,
        "greater_is_better": greater,
        "outer_scores": values.tolist(),
        "mean": mean,
        "std": std,
        "ci95_low": mean - half,
        "ci95_high": mean + half,
    }
    if all(o.inner_score is not None for o in outer):
        inner = np.array([o.inner_score for o in outer], dtype=float)
        # Positive gap = the inner (tuning or selection) score flattered the procedure.
        gap = (inner - values) if greater else (values - inner)
        out["inner_best_scores"] = inner.tolist()
        out["optimism_gap_mean"] = float(gap.mean())
        out["optimism_gap_per_fold"] = gap.tolist()
    out["outer_fold_metrics"] = [o.scores for o in outer]
    out["best_params_per_fold"] = [o.params for o in outer]
    if all(o.weights is None for o in outer):
        out["param_stability"] = param_stability([o.params for o in outer], space)
    else:
        out["weights_per_fold"] = [o.weights for o in outer]
    out["trials_per_fold"] = [_trials(o) for o in outer]
    if any(o.rounds is not None for o in outer):  # the boosting rounds of each outer refit
        out["rounds_per_fold"] = [o.rounds for o in outer]
    return out


def _trials(fold: OuterFold) -> dict[str, Any]:
    """Trials finished in an outer fold: one model's counts, or an ensemble's per member."""
    counts = {n: {"complete": s.n_complete, "pruned": s.n_pruned} for n, s in fold.studies.items()}
    if fold.weights is not None:
        return counts
    return next(iter(counts.values()), {"complete": 0, "pruned": 0})


def param_stability(chosen: list[dict[str, Any]], space: dict[str, Any]) -> dict[str, Any]:
    """How much each chosen hyperparameter moves across outer folds (relative to its range)."""
    out: dict[str, Any] = {}
    for key, spec in space.items():
        values = [c[key] for c in chosen if key in c]
        if not values:
            continue
        if isinstance(spec, ChoiceSpec):
            top = max(set(map(str, values)), key=lambda v: [str(x) for x in values].count(v))
            share = [str(x) for x in values].count(top) / len(values)
            out[key] = {"values": values, "mode": top, "mode_share": share}
            continue
        arr = np.array(values, dtype=float)
        scaled = np.log(arr) if spec.log else arr
        lo, hi = (math.log(spec.low), math.log(spec.high)) if spec.log else (spec.low, spec.high)
        spread = float(np.std(scaled, ddof=1) / (hi - lo)) if len(arr) > 1 else 0.0
        out[key] = {
            "values": values,
            "median": float(np.median(arr)),
            "spread_of_range": spread,
            "stable": spread < 0.15,
        }
    return out


def trials_table(study: optuna.Study) -> list[dict[str, Any]]:
    """One row per trial of a study, for the report."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        rows.append(
            {
                "number": t.number,
                "index": t.user_attrs.get("index"),
                "state": t.state.name,
                "value": t.value,
                "rounds": t.user_attrs.get("rounds"),
                **{f"param_{k}": v for k, v in t.params.items()},
            }
        )
    return rows


def importances(study: optuna.Study) -> dict[str, float] | None:
    """fANOVA parameter importances of a study, or None when there is too little to tell."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    # Trial 0 (the configured settings) may name fewer keys than the sampled trials.
    names = max((set(t.params) for t in complete), key=len, default=set())
    if len([t for t in complete if set(t.params) == names]) < 3 or not names:
        return None
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        found = optuna.importance.get_param_importances(
            study, evaluator=evaluator, params=sorted(names)
        )
    except (RuntimeError, ValueError):
        return None
    return {k: float(v) for k, v in found.items()}
