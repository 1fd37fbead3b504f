"""``time_budget_s``: plan tune + train from a first timed fit per model, and cut in order.

The plan is made at the start of the tune stage. One timed fit of each model on the training
rows (:mod:`foldwise.tuning.probe`; early-stopped on a carved part, as every fit is) gives
its seconds per row; from it the plan estimates every fixed piece of work (the nested
loop's refits or ensemble fits, the train stage's cross-validation and final fits) and the
seconds of one trial of each study.
What is left is shared among the studies in proportion to their trial cost, so each study
gets about the same number of trials, and each study stops starting trials at its deadline
(``tune.n_trials`` is then only the upper bound). When the budget is short, the plan cuts in
this order, and reports each cut:

1. fewer trials per study (at least trial 0, the configured settings, and one searched);
2. no tuning: no studies; every model uses its configured settings (``model.<name>``);
3. fewer ensemble members: the most expensive member goes first (the first member listed
   is kept);
4. no nested loop (as ``tune.nested: false``): no honest estimate, said in the report.

If even that does not fit, the smallest plan runs and the report says by how much it is over;
the train stage then stops its boosting fits at their share of the time left
(:mod:`foldwise.models.deadline`), so tune + train still end near the budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from foldwise.config import Config
from foldwise.tuning.probe import Probe

# Work outside the fits: reports, the bundle, predictions (a share of the estimate).
OVERHEAD_SHARE = 0.10
# The train stage's own writing (bundle, reference profile, reports) beyond its fits and
# start-up: a constant plus this many times the tune stage's measured start-up (imports),
# which tells how fast the machine is now (measured: ~1.5x on a 2-core machine at load 16).
TRAIN_FIXED_S = 3.0
TRAIN_START_UP_FACTOR = 1.5
# The tune stage's wrap-up (importances, reports) as a multiple of its start-up.
WRAP_UP_FACTOR = 0.5
# Fewest trials per study that count as tuning: trial 0 (the configured settings) + 1.
MIN_TRIALS = 2


@dataclass(frozen=True)
class Study:
    """A study in the plan: its name, the model searched and the seconds of one trial."""

    name: str
    model: str
    trial_seconds: float
    deadline_s: float = math.inf  # seconds after the plan was made when no trial starts


@dataclass(frozen=True)
class BudgetPlan:
    """What tune + train will run, with the estimates that decided it."""

    budget_s: float | None
    members: tuple[str, ...]
    tune: bool
    nested: bool
    n_trials: int  # the upper bound per study (tune.n_trials)
    estimated_trials: int  # per study, from the estimates
    probes: tuple[Probe, ...]
    studies: tuple[Study, ...]
    fixed_s: dict[str, float]  # estimated seconds of the fixed work, by piece
    train_s: float
    elapsed_s: float  # spent before the plan (start-up and the probes)
    cuts: tuple[str, ...] = ()
    made_at: float = field(default_factory=time.monotonic)

    def deadline(self, study: str, model: str, slowdown: float = 1.0) -> float | None:
        """``time.monotonic()`` after which study ``study`` of ``model`` starts no trial.

        ``slowdown``: measured / estimated seconds of the fixed work so far; the train
        stage's reserve grows by it, so the final studies end earlier on a slower machine.
        """
        if self.budget_s is None:
            return None
        shift = self.train_s * (slowdown - 1.0) if study == "final" else 0.0
        for s in self.studies:
            if (s.name, s.model) == (study, model):
                return self.made_at + s.deadline_s - shift
        return None

    def slowdown(self, measured_fixed_s: float) -> float:
        """Measured over estimated seconds of the nested loop's fixed work (0.5 to 5)."""
        estimated = sum(v for k, v in self.fixed_s.items() if k.startswith("nested"))
        if self.budget_s is None or estimated <= 0 or measured_fixed_s <= 0:
            return 1.0
        return min(5.0, max(0.5, measured_fixed_s / estimated))

    @property
    def estimated_s(self) -> float:
        trials = sum(s.trial_seconds for s in self.studies) * self.estimated_trials
        return self.elapsed_s + sum(self.fixed_s.values()) + self.train_s + trials

    def report(self) -> dict[str, Any]:
        """The plan as report fields (estimates, not measurements of this run's outcome)."""
        return {
            "time_budget_s": self.budget_s,
            "members": list(self.members),
            "tune": self.tune,
            "nested": self.nested,
            "n_trials_cap": self.n_trials,
            "estimated_trials_per_study": self.estimated_trials if self.tune else 0,
            "studies": len(self.studies),
            "estimated_seconds_per_fit": {
                p.name: {"seconds": round(p.seconds, 2), "rows": p.rows, "stopped": p.stopped}
                for p in self.probes
            },
            "estimated_train_s": round(self.train_s, 1),
            "estimated_total_s": round(self.estimated_s, 1),
            "cuts": list(self.cuts),
        }

    def describe(self) -> list[str]:
        """The plan, printed up front."""
        lines = [
            f"plan: time_budget_s {self.budget_s:g}; {self.elapsed_s:.1f} s spent on start-up "
            "and one timed fit per model"
            if self.budget_s is not None
            else "plan: no time_budget_s",
        ]
        for p in self.probes:
            lines.append(
                f"  timed fit {p.name}: {p.seconds:.2f} s on {p.rows} rows"
                + (" (stopped at its time limit)" if p.stopped else "")
            )
        lines.append(
            f"  members: {', '.join(self.members)}; nested loop: "
            f"{'yes' if self.nested else 'no'}; tuning: "
            + (
                f"{len(self.studies)} studies, about {self.estimated_trials} trial(s) each "
                f"(at most {self.n_trials})"
                if self.tune
                else "none (configured settings)"
            )
        )
        if self.budget_s is None:
            return lines
        for piece, seconds in self.fixed_s.items():
            lines.append(f"  {piece}: ~{seconds:.1f} s")
        lines.append(
            f"  train stage: ~{self.train_s:.1f} s; estimated total ~{self.estimated_s:.0f} s"
        )
        lines.extend(f"  cut: {c}" for c in self.cuts)
        return lines


@dataclass(frozen=True)
class _Shape:
    """The sizes the estimates need."""

    rows: int
    folds: int
    inner_folds: int
    fraction: float  # train.validation_size
    ensemble: bool

    @property
    def outer_rows(self) -> float:
        return self.rows * (self.folds - 1) / self.folds

    def inner_rows(self, rows: float) -> float:
        return rows * (self.inner_folds - 1) / self.inner_folds


def _cv_and_fit(p: Probe, shape: _Shape, rows: float, folds: int) -> float:
    """Members' CV on ``folds`` folds of ``rows`` and the final fit(s) (fit_ensemble/train).

    The final fit is one fit on all rows with the folds' mean rounds (training.fit_final).
    """
    fold_rows = rows * (folds - 1) / folds
    cv = folds * p.fit_early_stopped(fold_rows, shape.fraction)
    return cv + p.fit(rows)


def _fixed(probes: Sequence[Probe], shape: _Shape, nested: bool, tune: bool) -> dict[str, float]:
    if not nested:
        return {}
    if shape.ensemble:  # per outer fold: members' inner CV, weights, final member fits
        per_fold = sum(_cv_and_fit(p, shape, shape.outer_rows, shape.inner_folds) for p in probes)
    else:  # per outer fold: one refit (untuned: after trial 0's inner fits, for its rounds)
        per_fold = sum(p.fit(shape.outer_rows) for p in probes)
        if not tune:
            inner = shape.inner_folds * shape.inner_rows(shape.outer_rows)
            per_fold += sum(p.fit(inner) for p in probes if p.early_stopping)
    return {f"nested loop fits ({shape.folds} outer folds)": per_fold * shape.folds}


def _train(probes: Sequence[Probe], shape: _Shape) -> float:
    fits = sum(_cv_and_fit(p, shape, shape.rows, shape.folds) for p in probes)
    return fits * (1 + OVERHEAD_SHARE) + TRAIN_FIXED_S


def _studies(probes: Sequence[Probe], shape: _Shape, nested: bool) -> list[Study]:
    parts = [(f"outer{i}", shape.outer_rows) for i in range(shape.folds)] if nested else []
    parts.append(("final", float(shape.rows)))
    return [
        Study(name, p.name, shape.inner_folds * p.fit(shape.inner_rows(rows)))
        for name, rows in parts
        for p in probes
    ]


def _schedule(studies: list[Study], fixed_s: dict[str, float], spare: float) -> list[Study]:
    """Study deadlines: each study's share of the spare seconds, after the fixed work before it."""
    per_trial = sum(s.trial_seconds for s in studies)
    nested = sum(v for k, v in fixed_s.items() if k.startswith("nested"))
    fixed_per_outer = nested / max(1, sum(1 for s in studies if s.name != "final"))
    clock, out = 0.0, []
    for s in studies:
        clock += spare * s.trial_seconds / per_trial
        out.append(Study(s.name, s.model, s.trial_seconds, clock))
        if s.name != "final":  # the outer fold's fits follow its members' studies
            clock += fixed_per_outer
    return out


def _over_budget(cut_short: Sequence[str], spare: float) -> str:
    over = (
        f"the first timed fit of {', '.join(cut_short)} reached its time limit"
        if cut_short
        else f"the smallest plan needs ~{-spare:.0f} s more than time_budget_s"
    )
    return (
        f"over budget: {over}; the train stage stops boosting fits at their share of the time left"
    )


def plan_budget(
    config: Config,
    rows: int,
    probes: Sequence[Probe],
    elapsed_s: float,
    start_up_s: float = TRAIN_FIXED_S,
) -> BudgetPlan:
    """The plan for ``time_budget_s`` (see the module docstring for the order of cuts).

    ``elapsed_s``: spent so far (start-up and probes); ``start_up_s``: this stage's own
    start-up (imports), which the train stage will spend again.
    """
    budget = config.time_budget_s
    assert budget is not None
    by_name = {p.name: p for p in probes}
    members = [m for m in config.model.members if m in by_name]
    shape = _Shape(
        rows,
        config.cv.folds,
        config.cv.inner_folds,
        config.train.validation_size,
        config.model.name == "ensemble",
    )
    nested, tune, cuts = config.tune.nested, config.tune.n_trials >= MIN_TRIALS, []
    while True:
        chosen = [by_name[m] for m in members]
        cut_short = [p.name for p in chosen if p.stopped]
        fixed_s = _fixed(chosen, shape, nested, tune)
        train_s = _train(chosen, shape) + TRAIN_START_UP_FACTOR * start_up_s
        studies = _studies(chosen, shape, nested)
        # A trial running at its study's deadline finishes; the final ones delay train.
        fixed_s["tune wrap-up (last trials, reports)"] = WRAP_UP_FACTOR * start_up_s + (
            sum(s.trial_seconds for s in studies if s.name == "final") if tune else 0.0
        )
        spare = budget - elapsed_s - sum(fixed_s.values()) - train_s
        if cut_short:  # a first fit reached its limit: a fit costs more than is known
            spare = min(spare, -1.0)
        per_trial = sum(s.trial_seconds for s in studies)
        trials = int(spare // per_trial) if per_trial > 0 else config.tune.n_trials
        if tune and trials >= MIN_TRIALS:
            if trials < config.tune.n_trials:
                cuts.append(
                    f"fewer trials: about {trials} per study of tune.n_trials {config.tune.n_trials}"
                )
            break
        if tune:
            tune = False
            cuts.append(
                f"no tuning: {MIN_TRIALS} trials per study would need ~{MIN_TRIALS * per_trial:.0f} s more than is left; configured settings"
            )
            continue
        if spare >= 0:
            break
        if len(members) > 1:
            dropped = max(members[1:], key=lambda m: _train([by_name[m]], shape))
            members.remove(dropped)
            cuts.append(f"fewer members: {dropped} dropped (the most expensive)")
            continue
        if nested:
            nested = False
            cuts.append(
                "no nested loop: no honest estimate of the procedure (as tune.nested: false)"
            )
            continue
        cuts.append(_over_budget(cut_short, spare))
        break
    return BudgetPlan(
        budget_s=budget,
        members=tuple(members),
        tune=tune,
        nested=nested,
        n_trials=config.tune.n_trials,
        estimated_trials=min(trials, config.tune.n_trials) if tune else 0,
        probes=tuple(by_name[m] for m in members),
        studies=tuple(_schedule(studies, fixed_s, max(spare, 0.0))) if tune else (),
        fixed_s=fixed_s,
        train_s=train_s,
        elapsed_s=elapsed_s,
        cuts=tuple(cuts),
    )


def unlimited_plan(config: Config) -> BudgetPlan:
    """No ``time_budget_s``: everything params.yaml asks for, no deadlines."""
    members = tuple(config.model.members)
    nested = config.tune.nested
    parts = [f"outer{i}" for i in range(config.cv.folds)] if nested else []
    studies = tuple(Study(p, m, 0.0) for p in [*parts, "final"] for m in members)
    return BudgetPlan(
        budget_s=None,
        members=members,
        tune=True,
        nested=nested,
        n_trials=config.tune.n_trials,
        estimated_trials=config.tune.n_trials,
        probes=(),
        studies=studies,
        fixed_s={},
        train_s=0.0,
        elapsed_s=0.0,
    )
