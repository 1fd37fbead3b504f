"""The figures a tuning run reports: the nested estimate, parameter stability, trials, importances.

:func:`tune_reports` renders a :class:`~foldwise.tuning.run.TuneResult` as the contents of the
tune stage's files (:mod:`foldwise.tuning.outputs` writes them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState
from scipy import stats

from foldwise.config import ChoiceSpec
from foldwise.metrics import METRICS
from foldwise.tuning.nested import OuterFold
from foldwise.tuning.run import TuneResult, best_params, budget_report
from foldwise.tuning.tuner import StudyResult

# Per-fold detail of the nested estimate: in tune.json, not in nested_cv.json (DVC metrics,
# whose scalars become `dvc exp show` columns).
NESTED_DETAILS = (
    "param_stability",
    "best_params_per_fold",
    "outer_fold_metrics",
    "trials_per_fold",
    "weights_per_fold",
    "rounds_per_fold",
)


@dataclass(frozen=True)
class TuneReports:
    """The contents of the tune stage's files, rendered from a :class:`TuneResult`."""

    nested: dict[str, Any]  # reports/tune/nested_cv.json (DVC metrics)
    summary: dict[str, Any]  # reports/tune/tune.json
    best: dict[str, Any]  # models/best_params.json
    trials: list[dict[str, Any]]  # reports/tune/trials.csv: every final study's trials
    history: list[dict[str, Any]]  # the first final study's trials (the history plot)
    greater_is_better: bool
    finals: dict[str, dict[str, Any]]  # per model: its final study's figures


def tune_reports(result: TuneResult) -> TuneReports:
    """Render ``result`` as best_params.json, nested_cv.json, tune.json and trials.csv."""
    outcome, ensemble = result.outcome, result.model == "ensemble"
    nested = nested_report(result)
    details = {key: nested.pop(key) for key in NESTED_DETAILS if key in nested}
    best = best_params(outcome, result.model, result.metric)
    tables = {name: trials_table(r.study) for name, r in outcome.final.items()}
    finals = {name: study_summary(r, tables[name]) for name, r in outcome.final.items()}
    if len(finals) == 1 and not ensemble:
        nested["final_inner_best"] = next(iter(finals.values()))["best_inner_score"]
    nested["folds_fingerprint"] = result.folds_fingerprint
    summary: dict[str, Any] = {
        "model": result.model,
        "metric": result.metric,
        "n_trials": result.n_trials,
    }
    if ensemble:
        summary["members"] = finals
    elif finals:
        summary.update(next(iter(finals.values())))
    summary["best_params"] = best["members"] if ensemble else best["params"]
    summary["search_space"] = {
        name: {k: v.model_dump() if hasattr(v, "model_dump") else v for k, v in t.space.items()}
        for name, t in outcome.tuners.items()
    }
    summary["nested"] = details
    budget = budget_report(outcome)
    if budget is not None:
        summary["time_budget"] = budget
    rows = [{"model": name, **row} for name, table in tables.items() for row in table]
    history = next(iter(tables.values()), [])
    return TuneReports(nested, summary, best, rows, history, result.greater_is_better, finals)


def nested_report(result: TuneResult) -> dict[str, Any]:
    """nested_cv.json (with per-fold detail still in it): the outer scores, or why none."""
    outcome, metric = result.outcome, result.metric
    if outcome.outer:
        (first, *_) = outcome.tuners.values()
        return {"nested": True, **nested_summary(outcome.outer, metric, first.space)}
    dropped = any(c.startswith("no nested loop") for c in outcome.plan.cuts)
    reason = (
        "time_budget_s left no time for the outer loop"
        if outcome.plan.budget_s is not None and dropped
        else "tune.nested is false"
    )
    return {
        "nested": False,
        "metric": metric,
        "note": f"{reason}: no outer loop was run, so there is no honest estimate of tuning + "
        "training; the inner score below is optimistic",
    }


def study_summary(result: StudyResult, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One final study's figures for tune.json (``rows``: its :func:`trials_table`)."""
    return {
        "complete": result.n_complete,
        "pruned": result.n_pruned,
        "best_params": result.best_params,
        "best_inner_score": result.best_value,
        "default_inner_score": next(
            (r["value"] for r in rows if r["index"] == 0 and r["state"] == "COMPLETE"), None
        ),
        "importances": importances(result.study),
    }


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
