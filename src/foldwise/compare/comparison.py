"""Compare two runs metric by metric and apply the regression gate.

Cross-validated scores are tested on the same folds when the runs share them; test scores with
a paired bootstrap when the runs scored the same test rows. The regression gate uses the
cross-validated primary metric only: nothing is chosen by the test set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from foldwise.compare.changes import changed_params, segment_moves
from foldwise.compare.inference import (
    Inference,
    corrected_paired_ttest,
    corrected_welch_test,
    independent_bootstrap,
    verdict_of,
)
from foldwise.compare.runs import (
    EVALUATE_METRICS,
    Run,
    Scored,
    reported_test_metrics,
    scored_predictions,
)
from foldwise.config import CompareConfig
from foldwise.errors import FoldwiseError, quoted
from foldwise.evaluation import paired_bootstrap
from foldwise.metrics import METRICS


@dataclass
class MetricRow:
    metric: str
    greater_is_better: bool
    base: float | None
    target: float | None
    test: Inference | None


@dataclass
class Comparison:
    """Everything the report shows; ``gate_failed`` drives ``--fail-on-regression``."""

    base: Run
    target: Run
    settings: CompareConfig
    settings_source: str
    params_changed: list[tuple[str, Any, Any]]
    same_folds: bool
    same_test: bool
    cv_rows: list[MetricRow]
    test_rows: list[MetricRow]
    segments: list[dict[str, Any]]
    warnings: list[str]
    gate_failed: bool
    gate_message: str

    @property
    def primary(self) -> MetricRow:
        return self.cv_rows[0]


def _compare_settings(base: Run, target: Run) -> tuple[CompareConfig, str]:
    """The gate's policy comes from BASE (the branch merged into), else TARGET, else defaults."""
    for run in (base, target):
        section = run.params.get("compare")
        if isinstance(section, dict):
            try:
                return CompareConfig.model_validate(section), f"{run.label}'s params.yaml"
            except Exception as exc:
                raise FoldwiseError(
                    f"compare: {run.label}'s params.yaml: compare section is invalid ({exc})"
                ) from None
    return CompareConfig(), "defaults"


def compare_runs(base: Run, target: Run, *, seed: int = 0) -> Comparison:
    """Paired (when possible) comparison of every metric both runs report."""
    _check_comparable(base, target)
    settings, source = _compare_settings(base, target)
    same_folds, same_test, warnings = _pairing(base, target)
    cv_rows, cv_warnings = _cv_rows(base, target, same_folds, settings.alpha)
    test_rows, test_warnings = _test_rows(base, target, same_test, settings, seed)
    gate_failed, gate_message = _gate(cv_rows[0], settings, source)
    return Comparison(
        base=base,
        target=target,
        settings=settings,
        settings_source=source,
        params_changed=changed_params(base.params, target.params),
        same_folds=same_folds,
        same_test=same_test,
        cv_rows=cv_rows,
        test_rows=test_rows,
        segments=segment_moves(base, target, settings.alpha),
        warnings=[*warnings, *cv_warnings, *test_warnings, *base.notes, *target.notes],
        gate_failed=gate_failed,
        gate_message=gate_message,
    )


def _check_comparable(base: Run, target: Run) -> None:
    """Runs of different tasks or primary metrics cannot be compared."""
    if base.task != target.task:
        raise FoldwiseError(
            f"compare: {base.label} is a {base.task} run but {target.label} is a {target.task} "
            "run; runs of different tasks cannot be compared"
        )
    if base.primary != target.primary:
        raise FoldwiseError(
            f"compare: {base.label} is judged by {base.primary} but {target.label} by "
            f"{target.primary} (problem.metric); compare runs with the same primary metric"
        )


def _pairing(base: Run, target: Run) -> tuple[bool, bool, list[str]]:
    """Whether the runs share their folds and their test table, and warnings where not."""
    warnings: list[str] = []
    same_folds = base.train.get("folds_fingerprint") == target.train.get("folds_fingerprint")
    if not same_folds:
        warnings.append(
            "The runs used different cross-validation folds (seed, cv.folds, the data or the "
            "split changed), so a paired comparison on the same folds is impossible: the CV "
            "verdicts use a weaker unpaired test."
        )
    same_test = base.test_sha256 is not None and base.test_sha256 == target.test_sha256
    if base.test_sha256 and target.test_sha256 and not same_test:
        warnings.append(
            "The runs scored different test tables (test_sha256 differs), so a paired "
            "comparison on the same test rows is impossible: the test verdicts use independent "
            "bootstraps, and the two test scores are not directly comparable."
        )
    return same_folds, same_test, warnings


def _cv_rows(
    base: Run, target: Run, same_folds: bool, alpha: float
) -> tuple[list[MetricRow], list[str]]:
    """One row per cross-validated metric both runs report, the primary metric first."""
    rows: list[MetricRow] = []
    warnings: list[str] = []
    names = [
        base.primary,
        *sorted((set(base.train["cv"]) & set(target.train["cv"])) - {base.primary}),
    ]
    ratio_a, ratio_b = base.test_train_ratio(), target.test_train_ratio()
    for name in names:
        if name not in METRICS:
            continue
        gib = METRICS[name].greater_is_better
        # null fold scores (a metric undefined on a fold) become NaN and are left out: paired
        # tests keep the folds where both runs have a score.
        a = np.asarray(base.train["cv"][name].get("values") or [], dtype="float64")
        b = np.asarray(target.train["cv"][name].get("values") or [], dtype="float64")
        if same_folds and len(a) == len(b):
            both = np.isfinite(a) & np.isfinite(b)
            test = corrected_paired_ttest(
                a[both], b[both], ratio_a, alpha=alpha, greater_is_better=gib
            )
        else:
            test = corrected_welch_test(
                a[np.isfinite(a)],
                b[np.isfinite(b)],
                ratio_a,
                ratio_b,
                alpha=alpha,
                greater_is_better=gib,
            )
        if name == base.primary and not (np.isfinite(a).all() and np.isfinite(b).all()):
            warnings.append(
                f"{name} is undefined on some folds; the CV test uses the folds where it is defined."
            )
        rows.append(
            MetricRow(
                name,
                gib,
                float(np.nanmean(a)) if np.isfinite(a).any() else None,
                float(np.nanmean(b)) if np.isfinite(b).any() else None,
                test,
            )
        )
    return rows, warnings


def _test_rows(
    base: Run, target: Run, same_test: bool, settings: CompareConfig, seed: int
) -> tuple[list[MetricRow], list[str]]:
    """Test-set rows, for information only: a paired bootstrap on the same rows when possible."""
    if not base.evaluate or not target.evaluate:
        missing = base.label if not base.evaluate else target.label
        return [], [f"{missing} has no {EVALUATE_METRICS}: no test-set comparison."]
    warnings: list[str] = []
    sa, sb = scored_predictions(base), scored_predictions(target)
    if sa is not None and sb is not None and sa.classes != sb.classes:
        warnings.append(
            f"The runs predict different classes ({quoted(sa.classes)} vs "
            f"{quoted(sb.classes)}); the test "
            "predictions cannot be compared row by row."
        )
        sa = sb = None
    paired = (
        same_test
        and sa is not None
        and sb is not None
        and len(sa.y) == len(sb.y)
        and np.array_equal(sa.y, sb.y)
    )
    if same_test and sa is not None and sb is not None and not paired:
        warnings.append("The test predictions do not line up row by row; bootstraps are unpaired.")
    rows: list[MetricRow] = []
    for name in reported_test_metrics(target):
        gib = METRICS[name].greater_is_better
        va = (base.evaluate.get("metrics") or {}).get(name)
        vb = (target.evaluate.get("metrics") or {}).get(name)
        test = None
        if sa is not None and sb is not None:
            test = _test_inference(name, sa, sb, paired, settings, seed)
        rows.append(
            MetricRow(
                name,
                gib,
                None if va is None else float(va),
                None if vb is None else float(vb),
                test,
            )
        )
    return rows, warnings


def _test_inference(
    name: str, sa: Scored, sb: Scored, paired: bool, settings: CompareConfig, seed: int
) -> Inference:
    """One test metric's difference: paired bootstrap on the same rows, else independent."""
    if not paired:
        return independent_bootstrap(
            name,
            (sa.y, sa.x, sa.threshold),
            (sb.y, sb.x, sb.threshold),
            n_samples=settings.bootstrap_samples,
            seed=seed,
            alpha=settings.alpha,
        )
    res = paired_bootstrap(
        name,
        sa.y,
        sa.x,
        sb.x,
        n_samples=settings.bootstrap_samples,
        seed=seed,
        threshold_a=sa.threshold,
        threshold_b=sb.threshold,
        alpha=settings.alpha,
    )
    return Inference(
        "paired bootstrap (same test rows)",
        float(res["estimate"]),
        res["low"],
        res["high"],
        res["p_value"],
        verdict_of(res["low"], res["high"], METRICS[name].greater_is_better),
    )


def _gate(primary: MetricRow, settings: CompareConfig, source: str) -> tuple[bool, str]:
    """The regression gate: CV primary metric significantly worse by more than the tolerance."""
    tol, alpha = settings.tolerance, settings.alpha
    if primary.test is None or primary.test.low is None or primary.test.high is None:
        return False, f"not applied: {primary.metric} could not be tested"
    # Signed so that positive = worse: the whole interval of the drop must exceed tol.
    drop_low = -primary.test.high if primary.greater_is_better else primary.test.low
    gate_failed = drop_low > tol
    bound = (
        f"the {1 - alpha:.0%} interval of the drop in cross-validated {primary.metric} "
        f"starts at {drop_low + 0.0:+.4f}"
    )
    gate_message = (
        f"failed: {bound}, beyond the tolerance {tol:g} (compare.tolerance, {source})"
        if gate_failed
        else f"passed: {bound}, not beyond the tolerance {tol:g} (compare.tolerance, {source})"
    )
    return gate_failed, gate_message
