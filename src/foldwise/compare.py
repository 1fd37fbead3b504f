"""Compare two runs of the pipeline (git revisions, DVC experiments or the workspace).

Every verdict comes from a paired test when the runs allow one:

- cross-validation: the corrected resampled t-test of Nadeau & Bengio (2003) on the per-fold
  differences, when both runs used the same folds (same fingerprint); otherwise a Welch test
  whose variances carry the same correction (weaker, and the report says so);
- test set: a paired bootstrap on the same test rows, when both runs scored the same test
  table (same hash); otherwise independent bootstraps.

The regression gate uses the cross-validated scores only: nothing is chosen by the test set.
Files are read through :class:`dvc.api.DVCFileSystem`, so git-tracked reports and
DVC-cached predictions come from commits and experiments alike.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from foldwise.config import CompareConfig
from foldwise.errors import FoldwiseError
from foldwise.evaluation import (
    bootstrap_p_value,
    paired_bootstrap,
    percentile_interval,
    resample_counts,
)
from foldwise.metrics import METRICS, get_metric, score, score_weighted

TRAIN_METRICS = "reports/train/metrics.json"
EVALUATE_METRICS = "reports/evaluate/metrics.json"
SEGMENTS = "reports/evaluate/segments.json"
PREDICTIONS = "reports/evaluate/predictions.parquet"
NESTED = "reports/tune/nested_cv.json"
PARAMS = "params.yaml"
WORKSPACE = "workspace"

Verdict = str  # "better" | "worse" | "within noise" | "not testable"


# --- reading a run ----------------------------------------------------------------------


@dataclass
class Run:
    """What one revision's pipeline produced, as far as a comparison needs it."""

    label: str
    sha: str | None  # None: the workspace
    params: dict[str, Any]
    train: dict[str, Any]
    evaluate: dict[str, Any] | None
    segments: list[dict[str, Any]]
    predictions: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)
    importance: dict[str, Any] | None = None  # reports/explain/importance.json

    @property
    def task(self) -> str:
        task = self.train.get("task") or ((self.evaluate or {}).get("metrics") or {}).get("task")
        if task is None:
            raise FoldwiseError(
                f"compare: {self.label}: {TRAIN_METRICS} does not say the task and there is "
                f"no {EVALUATE_METRICS}; rerun the pipeline there"
            )
        return str(task)

    @property
    def primary(self) -> str:
        return str(self.train["primary_metric"])

    @property
    def test_sha256(self) -> str | None:
        return (self.evaluate or {}).get("test_sha256")

    def test_train_ratio(self) -> float:
        """Mean rows scored / rows fitted per fold (k-fold: 1 / (k - 1))."""
        rows = self.train.get("fold_rows")
        if rows and rows.get("fit") and rows.get("scored"):
            return float(np.mean(np.asarray(rows["scored"]) / np.asarray(rows["fit"])))
        k = int(self.train.get("folds") or 0)
        return 1.0 / (k - 1) if k > 1 else 1.0


def resolve_revision(root: Path, rev: str, command: str = "compare") -> str:
    """The commit a git revision or DVC experiment name points at; one-line error if none."""
    from dvc.scm import RevError, resolve_rev
    from scmrepo.git import Git

    try:
        scm = Git(str(root))
    except Exception as exc:  # scmrepo raises its own errors for a non-repository
        raise FoldwiseError(f"{command}: {root} is not a git repository ({exc})") from None
    try:
        return str(resolve_rev(scm, rev))
    except RevError:
        raise FoldwiseError(
            f"{command}: {rev!r} is neither a git revision nor a DVC experiment in this "
            "repository (see `git log` and `dvc exp list`)"
        ) from None
    finally:
        scm.close()


def stale_stages(root: Path) -> list[str]:
    """Stages whose outputs do not match the workspace's params, code or data (``dvc status``)."""
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            status = repo.status()
    except Exception:  # no DVC project or an unreadable one: nothing to say
        return []
    return sorted(name.split(":")[-1] for name in status)


def _flatten(mapping: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(mapping, dict):
        return {prefix: mapping} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(_flatten(value, name))
        else:
            out[name] = value
    return out


def load_run(root: Path, rev: str | None, command: str = "compare") -> Run:
    """Read a revision's reports (``rev`` None: the workspace) through DVC's file system."""
    from dvc.api import DVCFileSystem

    from foldwise.config import parse_params_text

    sha = None if rev is None else resolve_revision(root, rev, command)
    label = WORKSPACE if rev is None else rev
    fs = DVCFileSystem(str(root), rev=sha)

    def read(path: str) -> bytes | None:
        try:
            if not fs.isfile(path):
                return None
            return fs.read_bytes(path)
        except FileNotFoundError:
            return None

    def read_json(path: str) -> Any:
        raw = read(path)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise FoldwiseError(f"{command}: {label}: {path} is not valid JSON") from None

    train = read_json(TRAIN_METRICS)
    if train is None:
        raise FoldwiseError(
            f"{command}: {label} has no {TRAIN_METRICS}; run the pipeline there first "
            "(`dvc repro` and commit, or `dvc exp run`)"
        )
    primary = train.get("primary_metric")
    if primary not in (train.get("cv") or {}) or "values" not in train["cv"][primary]:
        raise FoldwiseError(
            f"{command}: {label}: {TRAIN_METRICS} has no per-fold scores of its primary metric "
            f"{primary!r}; it was written by an older foldwise; rerun `dvc repro` there"
        )
    raw_params = read(PARAMS)
    params: Any = {}
    if raw_params is not None:
        try:
            params = parse_params_text(raw_params.decode("utf-8")) or {}
        except Exception:
            raise FoldwiseError(f"{command}: {label}: {PARAMS} is not valid YAML") from None
    evaluate = read_json(EVALUATE_METRICS)
    importance = read_json("reports/explain/importance.json")
    segments = read_json(SEGMENTS) or {}
    notes: list[str] = []
    predictions = None
    if evaluate is not None:
        try:
            raw_pred = read(PREDICTIONS)
        except Exception as exc:  # not in the cache and no remote that has it
            raw_pred = None
            notes.append(f"{label}: test predictions unavailable ({type(exc).__name__}: {exc})")
        if raw_pred is None:
            if not notes:
                notes.append(
                    f"{label}: {PREDICTIONS} is not in the local DVC cache; `dvc pull` it (or "
                    "configure a DVC remote) for the paired test-set comparison"
                )
        else:
            predictions = pd.read_parquet(io.BytesIO(raw_pred))
    if sha is None:
        stale = stale_stages(root)
        if stale:
            notes.append(
                f"The workspace's reports are out of date for stage(s) {', '.join(stale)} "
                "(`dvc status`): its params.yaml, code or data changed since they were written; "
                "run `dvc repro` first for a comparison of what is in the workspace."
            )
    return Run(
        label=label,
        sha=sha,
        params=params if isinstance(params, dict) else {},
        train=train,
        evaluate=evaluate,
        segments=segments.get("segments", []) if isinstance(segments, dict) else [],
        predictions=predictions,
        notes=notes,
        importance=importance if isinstance(importance, dict) else None,
    )


# --- statistics -------------------------------------------------------------------------


@dataclass(frozen=True)
class Inference:
    """A difference ``target - base`` with its interval, p-value and verdict."""

    method: str
    delta: float
    low: float | None
    high: float | None
    p_value: float | None
    verdict: Verdict


def _verdict(low: float | None, high: float | None, greater_is_better: bool) -> Verdict:
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "not testable"
    if low > 0:
        return "better" if greater_is_better else "worse"
    if high < 0:
        return "worse" if greater_is_better else "better"
    return "within noise"


def corrected_paired_ttest(
    base: np.ndarray,
    target: np.ndarray,
    test_train_ratio: float,
    *,
    alpha: float,
    greater_is_better: bool,
) -> Inference:
    """Nadeau & Bengio's corrected resampled t-test on per-fold differences (same folds).

    The variance of the mean difference is ``(1/J + n_test/n_train) * s²`` rather than
    ``s²/J``: folds share training rows, so their scores are correlated and the naive test
    is far too eager to call a difference real.
    """
    d = np.asarray(target, dtype="float64") - np.asarray(base, dtype="float64")
    j = len(d)
    mean = float(d.mean())
    if j < 2:
        return Inference("corrected paired t-test", mean, None, None, None, "not testable")
    var = float(d.var(ddof=1))
    if var == 0.0:
        # The same difference on every fold: no noise to weigh it against.
        p = 1.0 if mean == 0.0 else 0.0
        return Inference(
            "corrected paired t-test", mean, mean, mean, p, _verdict(mean, mean, greater_is_better)
        )
    se = math.sqrt((1.0 / j + test_train_ratio) * var)
    t = mean / se
    p = float(2 * stats.t.sf(abs(t), df=j - 1))
    half = float(stats.t.ppf(1 - alpha / 2, df=j - 1)) * se
    low, high = mean - half, mean + half
    return Inference(
        "corrected paired t-test", mean, low, high, p, _verdict(low, high, greater_is_better)
    )


def corrected_welch_test(
    base: np.ndarray,
    target: np.ndarray,
    ratio_base: float,
    ratio_target: float,
    *,
    alpha: float,
    greater_is_better: bool,
) -> Inference:
    """Unpaired comparison of fold scores from different folds (Welch, corrected variances)."""
    a = np.asarray(base, dtype="float64")
    b = np.asarray(target, dtype="float64")
    delta = float(b.mean() - a.mean())
    if len(a) < 2 or len(b) < 2:
        return Inference(
            "corrected Welch t-test (unpaired)", delta, None, None, None, "not testable"
        )
    va = (1.0 / len(a) + ratio_base) * a.var(ddof=1)
    vb = (1.0 / len(b) + ratio_target) * b.var(ddof=1)
    se2 = va + vb
    if se2 == 0.0:
        p = 1.0 if delta == 0.0 else 0.0
        return Inference(
            "corrected Welch t-test (unpaired)",
            delta,
            delta,
            delta,
            p,
            _verdict(delta, delta, greater_is_better),
        )
    df_den = (va**2 / (len(a) - 1) if va else 0.0) + (vb**2 / (len(b) - 1) if vb else 0.0)
    df = se2**2 / df_den if df_den else float(len(a) + len(b) - 2)
    se = math.sqrt(se2)
    p = float(2 * stats.t.sf(abs(delta / se), df=df))
    half = float(stats.t.ppf(1 - alpha / 2, df=df)) * se
    low, high = delta - half, delta + half
    return Inference(
        "corrected Welch t-test (unpaired)",
        delta,
        low,
        high,
        p,
        _verdict(low, high, greater_is_better),
    )


def independent_bootstrap(
    metric: str,
    base: tuple[np.ndarray, np.ndarray, float],
    target: tuple[np.ndarray, np.ndarray, float],
    *,
    n_samples: int,
    seed: int,
    alpha: float,
) -> Inference:
    """``target - base`` when the two runs scored different test rows: resampled separately."""
    m = get_metric(metric)
    rng = np.random.default_rng(seed)
    scores = []
    for y, x, threshold in (base, target):
        resampled = [
            score_weighted(metric, y, x, counts, threshold=threshold)
            for counts in resample_counts(rng, len(y), n_samples)
        ]
        scores.append((score(metric, y, x, threshold=threshold), np.concatenate(resampled)))
    delta = float(scores[1][0] - scores[0][0])
    d = scores[1][1] - scores[0][1]
    d = d[np.isfinite(d)]
    low, high = percentile_interval(d, alpha)
    return Inference(
        "independent bootstrap (different test rows)",
        delta,
        low,
        high,
        bootstrap_p_value(d),
        _verdict(low, high, m.greater_is_better),
    )


# --- test predictions -------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """A run's test predictions as metric inputs: codes + probabilities, or values."""

    y: np.ndarray
    x: np.ndarray
    threshold: float
    classes: list[str]


def scored_predictions(run: Run) -> Scored | None:
    """y and probabilities (classification) or predictions (regression) from predictions.parquet."""
    frame = run.predictions
    if frame is None or "y_true" not in frame:
        return None
    if run.task == "regression":
        return Scored(
            frame["y_true"].to_numpy("float64"), frame["prediction"].to_numpy("float64"), 0.5, []
        )
    proba_cols = [c for c in frame.columns if c.startswith("proba_")]
    classes = [c.removeprefix("proba_") for c in proba_cols]
    index = {label: i for i, label in enumerate(classes)}
    labels = frame["y_true"].astype("object").map(str)
    if not labels.isin(index).all():
        return None
    threshold = float((run.evaluate or {}).get("threshold") or 0.5)
    return Scored(
        labels.map(index).to_numpy("int64"),
        frame[proba_cols].to_numpy("float64"),
        threshold,
        classes,
    )


def reported_test_metrics(run: Run) -> list[str]:
    """The registered metrics the evaluate report holds for this task, primary first."""
    reported = (run.evaluate or {}).get("metrics") or {}
    names = [
        name
        for name, metric in METRICS.items()
        if name in reported and run.task in metric.tasks and isinstance(reported[name], int | float)
    ]
    names.sort(key=lambda name: name != run.primary)
    return names


# --- the comparison ---------------------------------------------------------------------


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


def _changed_params(base: dict[str, Any], target: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    a, b = _flatten(base), _flatten(target)
    missing = object()
    changed = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, missing), b.get(key, missing)
        # An empty section that gained (or lost) keys shows as those keys, not as itself.
        if {} in (va, vb) and any(k.startswith(f"{key}.") for k in (*a, *b)):
            continue
        if va != vb:
            changed.append((key, None if va is missing else va, None if vb is missing else vb))
    return changed


def _segment_moves(base: Run, target: Run, alpha: float) -> list[dict[str, Any]]:
    """Segments present in both runs whose primary metric moved beyond its rough noise.

    A segment's standard error is approximated from the run's test interval scaled by
    sqrt(rows / segment rows); the difference of two such estimates is then a z-score.
    """
    if not base.segments or not target.segments:
        return []

    def se_overall(run: Run) -> float | None:
        primary = (run.evaluate or {}).get("primary_metric") or {}
        low, high = primary.get("ci95_low"), primary.get("ci95_high")
        if low is None or high is None:
            return None
        return (high - low) / (2 * 1.959964)

    se_a, se_b = se_overall(base), se_overall(target)
    rows_a = int((base.evaluate or {}).get("rows") or 0)
    rows_b = int((target.evaluate or {}).get("rows") or 0)
    index = {
        (s["column"], str(s["segment"])): s for s in base.segments if s.get("value") is not None
    }
    z_crit = float(stats.norm.ppf(1 - alpha / 2))
    moved = []
    for seg in target.segments:
        old = index.get((seg["column"], str(seg["segment"])))
        if old is None or seg.get("value") is None:
            continue
        delta = float(seg["value"]) - float(old["value"])
        z = None
        if se_a and se_b and rows_a and rows_b and old["rows"] and seg["rows"]:
            se = math.hypot(
                se_a * math.sqrt(rows_a / old["rows"]), se_b * math.sqrt(rows_b / seg["rows"])
            )
            z = delta / se if se > 0 else None
        moved.append(
            {
                "column": seg["column"],
                "segment": str(seg["segment"]),
                "rows": int(seg["rows"]),
                "base": float(old["value"]),
                "target": float(seg["value"]),
                "delta": delta,
                "z": z,
                "moved": z is not None and abs(z) >= z_crit,
            }
        )
    moved.sort(key=lambda s: -abs(s["z"] if s["z"] is not None else s["delta"]))
    return moved


def compare_runs(base: Run, target: Run, *, seed: int = 0) -> Comparison:
    """Paired (when possible) comparison of every metric both runs report."""
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
    settings, source = _compare_settings(base, target)
    alpha = settings.alpha
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

    # Cross-validation, primary metric first.
    cv_rows: list[MetricRow] = []
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
        cv_rows.append(
            MetricRow(
                name,
                gib,
                float(np.nanmean(a)) if np.isfinite(a).any() else None,
                float(np.nanmean(b)) if np.isfinite(b).any() else None,
                test,
            )
        )

    # Test set: for information only; paired bootstrap on the same rows when possible.
    test_rows: list[MetricRow] = []
    if base.evaluate and target.evaluate:
        sa, sb = scored_predictions(base), scored_predictions(target)
        if sa is not None and sb is not None and sa.classes != sb.classes:
            warnings.append(
                f"The runs predict different classes ({sa.classes} vs {sb.classes}); the test "
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
            warnings.append(
                "The test predictions do not line up row by row; bootstraps are unpaired."
            )
        for name in reported_test_metrics(target):
            gib = METRICS[name].greater_is_better
            va = (base.evaluate.get("metrics") or {}).get(name)
            vb = (target.evaluate.get("metrics") or {}).get(name)
            test = None
            if sa is not None and sb is not None:
                if paired:
                    res = paired_bootstrap(
                        name,
                        sa.y,
                        sa.x,
                        sb.x,
                        n_samples=settings.bootstrap_samples,
                        seed=seed,
                        threshold_a=sa.threshold,
                        threshold_b=sb.threshold,
                        alpha=alpha,
                    )
                    test = Inference(
                        "paired bootstrap (same test rows)",
                        float(res["estimate"]),
                        res["low"],
                        res["high"],
                        res["p_value"],
                        _verdict(res["low"], res["high"], gib),
                    )
                else:
                    test = independent_bootstrap(
                        name,
                        (sa.y, sa.x, sa.threshold),
                        (sb.y, sb.x, sb.threshold),
                        n_samples=settings.bootstrap_samples,
                        seed=seed,
                        alpha=alpha,
                    )
            test_rows.append(
                MetricRow(
                    name,
                    gib,
                    None if va is None else float(va),
                    None if vb is None else float(vb),
                    test,
                )
            )
    elif not target.evaluate or not base.evaluate:
        missing = base.label if not base.evaluate else target.label
        warnings.append(f"{missing} has no {EVALUATE_METRICS}: no test-set comparison.")

    # The gate: CV primary metric, significantly worse by more than the tolerance.
    primary = cv_rows[0]
    gate_failed = False
    tol = settings.tolerance
    if primary.test is None or primary.test.low is None or primary.test.high is None:
        gate_message = f"not applied: {primary.metric} could not be tested"
    else:
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
    return Comparison(
        base=base,
        target=target,
        settings=settings,
        settings_source=source,
        params_changed=_changed_params(base.params, target.params),
        same_folds=same_folds,
        same_test=same_test,
        cv_rows=cv_rows,
        test_rows=test_rows,
        segments=_segment_moves(base, target, alpha),
        warnings=[*warnings, *base.notes, *target.notes],
        gate_failed=gate_failed,
        gate_message=gate_message,
    )


# --- test-set hygiene -------------------------------------------------------------------


@dataclass(frozen=True)
class LookCount:
    """How often one test table has been scored across commits and experiments."""

    test_sha256: str
    evaluations: int  # distinct evaluate results (one per distinct metrics file)
    commits: int  # branch/tag commits whose evaluate report scored this table
    experiments: int  # DVC experiments whose evaluate report scored this table
    workspace_uncommitted: bool

    def message(self) -> str:
        table = self.test_sha256[:12]
        counted = (
            f"test table {table}… has been scored by {self.evaluations} distinct evaluate "
            f"run(s): {self.commits} commit(s), {self.experiments} experiment(s)"
            + (", plus the uncommitted workspace" if self.workspace_uncommitted else "")
        )
        if self.evaluations <= 1:
            return f"{counted}. One look: its score is still an unbiased estimate."
        return (
            f"{counted}. Warning: if any of these test scores informed a choice (model, "
            "params, features, threshold), model selection may have leaked through repeated "
            "looks and the test score is optimistic. Choose by the cross-validated estimate and "
            "score a fresh, untouched test table before reporting a final number."
        )


def _git(root: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=root, input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise FoldwiseError(f"git {' '.join(args)} failed in {root}: {result.stderr.strip()}")
    return result.stdout


def _is_experiment_ref(ref: str) -> bool:
    # refs/exps/<2 hex>/<38 hex>/<name>; stash, exec, celery and temp refs are not experiments
    parts = ref.split("/")
    return (
        len(parts) == 5
        and len(parts[2]) == 2
        and len(parts[3]) == 38
        and all(c in "0123456789abcdef" for c in parts[2] + parts[3])
    )


def _look_key(payload: dict[str, Any]) -> str:
    """What a look revealed: the model and its test metrics (else the whole report).

    Reports that differ only in format (a key added by a newer foldwise) are one look.
    """
    if "metrics" in payload or "primary_metric" in payload:
        return json.dumps(
            [payload.get("model"), payload.get("primary_metric"), payload.get("metrics")],
            sort_keys=True,
        )
    return json.dumps(payload, sort_keys=True)


def _read_blobs(root: Path, blobs: list[str]) -> dict[str, Any]:
    """Parse many JSON blobs with one ``git cat-file --batch``; unparsable ones are skipped."""
    if not blobs:
        return {}
    result = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=root,
        input="".join(f"{b}\n" for b in blobs).encode(),
        capture_output=True,
        check=True,
    )
    out, pos, parsed = result.stdout, 0, {}
    for blob in blobs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3:  # "<sha> missing"
            continue
        size = int(header[2])
        with contextlib.suppress(ValueError):
            parsed[blob] = json.loads(out[pos : pos + size])
        pos += size + 1
    return parsed


def count_test_looks(root: Path, test_sha256: str) -> LookCount:
    """Count the commits and experiments whose evaluate report scored ``test_sha256``."""
    refs = _git(root, "for-each-ref", "--format=%(refname)").split()
    exp_refs = [r for r in refs if _is_experiment_ref(r)]
    other_refs = [r for r in refs if not r.startswith("refs/exps/")]
    commits = set(_git(root, "rev-list", *other_refs).split()) if other_refs else set()
    if not other_refs:
        head = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, capture_output=True, text=True
        )
        commits = set(_git(root, "rev-list", "HEAD").split()) if head.returncode == 0 else set()
    exp_shas = set()
    if exp_refs:
        lines = _git(root, "rev-parse", *exp_refs).split()
        exp_shas = set(lines) - commits
    revs = sorted(commits | exp_shas)
    blobs: dict[str, str] = {}
    if revs:
        out = _git(
            root,
            "cat-file",
            "--batch-check",
            stdin="".join(f"{r}:{EVALUATE_METRICS}\n" for r in revs),
        ).splitlines()
        for rev, line in zip(revs, out, strict=True):
            parts = line.split()
            if len(parts) == 3 and parts[1] == "blob":
                blobs[rev] = parts[0]
    # One look = one distinct result on this table: rerunning a model that reproduces the
    # same score, or a commit that only touched docs, tells nobody anything new.
    look_of_blob: dict[str, str] = {}
    for blob, payload in _read_blobs(root, sorted(set(blobs.values()))).items():
        if isinstance(payload, dict) and payload.get("test_sha256") == test_sha256:
            look_of_blob[blob] = _look_key(payload)
    looks = set(look_of_blob.values())
    n_commits = sum(1 for r in commits if blobs.get(r) in look_of_blob)
    n_exps = sum(1 for r in exp_shas if blobs.get(r) in look_of_blob)
    workspace = False
    current = root / EVALUATE_METRICS
    if current.is_file():
        try:
            payload = json.loads(current.read_text())
        except ValueError:
            payload = {}
        if isinstance(payload, dict) and payload.get("test_sha256") == test_sha256:
            workspace = _look_key(payload) not in looks
    return LookCount(
        test_sha256=test_sha256,
        evaluations=len(looks) + int(workspace),
        commits=n_commits,
        experiments=n_exps,
        workspace_uncommitted=workspace,
    )
