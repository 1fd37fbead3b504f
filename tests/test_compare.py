"""foldwise compare: the statistics, the gate, test-set look counting and the report (fast)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from foldwise.compare.comparison import compare_runs
from foldwise.compare.inference import (
    corrected_paired_ttest,
    corrected_welch_test,
    independent_bootstrap,
)
from foldwise.compare.looks import count_test_looks
from foldwise.compare.report import render_markdown, write_report
from foldwise.compare.runs import Run, load_run, scored_predictions
from foldwise.errors import FoldwiseError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- the corrected resampled t-test ---------------------------------------------------


def test_corrected_paired_ttest_matches_the_nadeau_bengio_formula():
    base = np.array([0.80, 0.82, 0.81, 0.83, 0.79])
    d = np.array([0.010, 0.020, 0.015, 0.012, 0.018])
    result = corrected_paired_ttest(base, base + d, 0.25, alpha=0.05, greater_is_better=True)
    se = math.sqrt((1 / 5 + 0.25) * d.var(ddof=1))
    t = d.mean() / se
    assert result.delta == pytest.approx(d.mean())
    assert result.p_value == pytest.approx(2 * stats.t.sf(t, df=4))
    half = stats.t.ppf(0.975, df=4) * se
    assert result.low == pytest.approx(d.mean() - half)
    assert result.high == pytest.approx(d.mean() + half)
    assert result.verdict == "better"


def test_correction_is_more_cautious_than_the_naive_paired_t_test():
    base = np.array([0.80, 0.82, 0.81, 0.83, 0.79])
    d = np.array([0.010, 0.002, 0.008, 0.001, 0.009])
    naive = stats.ttest_rel(base + d, base).pvalue
    result = corrected_paired_ttest(base, base + d, 0.25, alpha=0.05, greater_is_better=True)
    assert naive < 0.05  # the naive test calls it
    assert result.p_value > naive
    assert result.verdict == "within noise"


def test_direction_follows_the_metric():
    base = np.array([0.30, 0.31, 0.29, 0.32, 0.30])
    higher = base + np.array([0.05, 0.06, 0.055, 0.052, 0.058])
    loss = corrected_paired_ttest(base, higher, 0.25, alpha=0.05, greater_is_better=False)
    score = corrected_paired_ttest(base, higher, 0.25, alpha=0.05, greater_is_better=True)
    assert loss.verdict == "worse"
    assert score.verdict == "better"


def test_identical_folds_are_within_noise_and_a_constant_shift_is_not():
    base = np.array([0.7, 0.72, 0.71])
    same = corrected_paired_ttest(base, base.copy(), 0.5, alpha=0.05, greater_is_better=True)
    assert (same.verdict, same.p_value, same.delta) == ("within noise", 1.0, 0.0)
    shifted = corrected_paired_ttest(base, base - 0.01, 0.5, alpha=0.05, greater_is_better=True)
    assert shifted.verdict == "worse"


def test_one_fold_is_not_testable():
    result = corrected_paired_ttest(
        np.array([0.7]), np.array([0.8]), 0.25, alpha=0.05, greater_is_better=True
    )
    assert result.verdict == "not testable"


def test_welch_on_different_folds_sees_a_large_gap_but_not_noise():
    rng = np.random.default_rng(0)
    a = 0.80 + rng.normal(0, 0.005, 5)
    far = 0.86 + rng.normal(0, 0.005, 5)
    near = 0.80 + rng.normal(0, 0.005, 5)
    assert corrected_welch_test(a, far, 0.25, 0.25, alpha=0.05, greater_is_better=True).verdict == (
        "better"
    )
    close = corrected_welch_test(a, near, 0.25, 0.25, alpha=0.05, greater_is_better=True)
    assert close.verdict == "within noise"
    assert close.method.startswith("corrected Welch")


def test_independent_bootstrap_on_different_rows():
    rng = np.random.default_rng(1)
    y_a = rng.integers(0, 2, 400)
    y_b = rng.integers(0, 2, 400)
    good = np.clip(0.5 + 0.4 * (2 * y_b - 1) + rng.normal(0, 0.2, 400), 0.01, 0.99)
    poor = np.clip(0.5 + 0.05 * (2 * y_a - 1) + rng.normal(0, 0.2, 400), 0.01, 0.99)
    result = independent_bootstrap(
        "roc_auc", (y_a, poor, 0.5), (y_b, good, 0.5), n_samples=200, seed=0, alpha=0.05
    )
    assert result.verdict == "better"
    assert result.low > 0


# --- whole comparisons on fabricated runs ---------------------------------------------


def _binary_predictions(n: int, strength: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = 1 / (1 + np.exp(-(strength * (2 * y - 1) + rng.normal(0, 1, n))))
    labels = np.where(y == 1, "Yes", "No")
    return pd.DataFrame(
        {
            "row_id": [f"R{i}" for i in range(n)],
            "y_true": labels,
            "prediction": np.where(p >= 0.5, "Yes", "No"),
            "proba_No": 1 - p,
            "proba_Yes": p,
        }
    )


def _run(
    label: str,
    values: list[float],
    *,
    metric: str = "roc_auc",
    task: str = "binary",
    fingerprint: str = "F",
    params: dict | None = None,
    predictions: pd.DataFrame | None = None,
    test_sha: str = "T",
) -> Run:
    evaluate = None
    if predictions is not None:
        evaluate = {
            "test_sha256": test_sha,
            "rows": len(predictions),
            "threshold": 0.5,
            "primary_metric": {"name": metric, "value": 0.8, "ci95_low": 0.78, "ci95_high": 0.82},
            "metrics": {"task": task, "roc_auc": 0.8, "log_loss": 0.5, "f1": 0.7},
        }
    return Run(
        label=label,
        sha=None,
        params=params or {},
        train={
            "task": task,
            "primary_metric": metric,
            "folds": len(values),
            "folds_fingerprint": fingerprint,
            "cv": {
                metric: {
                    "mean": float(np.nanmean(np.asarray(values, dtype="float64"))),
                    "values": values,
                }
            },
        },
        evaluate=evaluate,
        segments=[],
        predictions=predictions,
    )


BASE_SCORES = [0.850, 0.860, 0.845, 0.855, 0.852]


def test_gate_fails_on_a_significant_drop_beyond_the_tolerance_only():
    worse = [
        v - 0.03 + e for v, e in zip(BASE_SCORES, [0.001, -0.002, 0.0, 0.002, -0.001], strict=False)
    ]
    strict = compare_runs(_run("a", BASE_SCORES), _run("b", worse))
    assert strict.primary.test.verdict == "worse"
    assert strict.gate_failed
    assert strict.gate_message.startswith("failed")
    lenient = compare_runs(
        _run("a", BASE_SCORES, params={"compare": {"tolerance": 0.05}}), _run("b", worse)
    )
    assert lenient.primary.test.verdict == "worse"
    assert not lenient.gate_failed
    assert "a's params.yaml" in lenient.gate_message


def test_gate_passes_within_noise_and_on_improvement():
    noisy = [
        v + e for v, e in zip(BASE_SCORES, [0.004, -0.006, 0.003, -0.002, 0.001], strict=False)
    ]
    assert not compare_runs(_run("a", BASE_SCORES), _run("b", noisy)).gate_failed
    better = [v + 0.02 for v in noisy]
    cmp = compare_runs(_run("a", BASE_SCORES), _run("b", better))
    assert cmp.primary.test.verdict == "better"
    assert not cmp.gate_failed


def test_gate_on_a_loss_metric_uses_its_direction():
    base = [0.30, 0.31, 0.29, 0.30, 0.305]
    higher_loss = [
        v + 0.04 + e for v, e in zip(base, [0.001, -0.002, 0.0, 0.002, -0.001], strict=False)
    ]
    cmp = compare_runs(
        _run("a", base, metric="log_loss", task="multiclass"),
        _run("b", higher_loss, metric="log_loss", task="multiclass"),
    )
    assert cmp.primary.test.verdict == "worse"
    assert cmp.gate_failed


def test_different_folds_warn_and_fall_back_to_an_unpaired_test():
    cmp = compare_runs(_run("a", BASE_SCORES), _run("b", BASE_SCORES, fingerprint="G"))
    assert not cmp.same_folds
    assert any("different cross-validation folds" in w for w in cmp.warnings)
    assert "unpaired" in cmp.primary.test.method


def test_different_task_or_metric_is_refused():
    with pytest.raises(FoldwiseError, match="binary run but b is a regression run"):
        compare_runs(
            _run("a", BASE_SCORES), _run("b", [1.0, 2.0], metric="rmse", task="regression")
        )
    with pytest.raises(FoldwiseError, match="judged by roc_auc but b by log_loss"):
        compare_runs(_run("a", BASE_SCORES), _run("b", BASE_SCORES, metric="log_loss"))


def test_invalid_compare_section_names_the_key():
    with pytest.raises(FoldwiseError, match="compare section is invalid"):
        compare_runs(
            _run("a", BASE_SCORES, params={"compare": {"alpha": 2}}), _run("b", BASE_SCORES)
        )


def test_params_changed_lists_nested_added_and_removed_keys():
    cmp = compare_runs(
        _run("a", BASE_SCORES, params={"seed": 1, "model": {"name": "dummy", "x": 1}}),
        _run("b", BASE_SCORES, params={"seed": 1, "model": {"name": "catboost"}, "new": 2}),
    )
    assert cmp.params_changed == [
        ("model.name", "dummy", "catboost"),
        ("model.x", 1, None),
        ("new", None, 2),
    ]


def test_paired_test_set_verdicts_on_the_same_rows():
    weak = _binary_predictions(600, 0.3, seed=3)
    strong = weak.copy()
    y = (weak["y_true"] == "Yes").to_numpy()
    rng = np.random.default_rng(4)
    p = 1 / (1 + np.exp(-(2.5 * (2 * y - 1) + rng.normal(0, 1, len(y)))))
    strong["proba_Yes"], strong["proba_No"] = p, 1 - p
    cmp = compare_runs(
        _run("a", BASE_SCORES, predictions=weak), _run("b", BASE_SCORES, predictions=strong)
    )
    rows = {row.metric: row for row in cmp.test_rows}
    assert rows["roc_auc"].test.method == "paired bootstrap (same test rows)"
    assert rows["roc_auc"].test.verdict == "better"
    assert rows["log_loss"].test.verdict == "better"
    same = compare_runs(
        _run("a", BASE_SCORES, predictions=weak), _run("b", BASE_SCORES, predictions=weak)
    )
    assert {row.test.verdict for row in same.test_rows} == {"within noise"}


def test_different_test_tables_warn():
    a = _binary_predictions(300, 1.0, seed=5)
    b = _binary_predictions(300, 1.0, seed=6)
    cmp = compare_runs(
        _run("a", BASE_SCORES, predictions=a),
        _run("b", BASE_SCORES, predictions=b, test_sha="U"),
    )
    assert any("different test tables" in w for w in cmp.warnings)
    assert cmp.test_rows[0].test.method.startswith("independent bootstrap")


def test_scored_predictions_maps_numeric_labels():
    frame = pd.DataFrame(
        {
            "y_true": [0, 2, 1],
            "prediction": [0, 2, 2],
            "proba_0": [0.8, 0.1, 0.1],
            "proba_1": [0.1, 0.1, 0.3],
            "proba_2": [0.1, 0.8, 0.6],
        }
    )
    run = _run("a", BASE_SCORES, metric="log_loss", task="multiclass", predictions=frame)
    scored = scored_predictions(run)
    assert scored is not None
    assert scored.y.tolist() == [0, 2, 1]
    assert scored.classes == ["0", "1", "2"]


# --- the report -------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_report_writes_markdown_json_and_images(tmp_path, task):
    rng = np.random.default_rng(0)
    n = 200
    if task == "binary":
        preds_a, preds_b, metric = (
            _binary_predictions(n, 0.5, 1),
            _binary_predictions(n, 0.5, 1),
            "roc_auc",
        )
        preds_b["proba_Yes"] = np.clip(preds_b["proba_Yes"] + rng.normal(0, 0.05, n), 0, 1)
        preds_b["proba_No"] = 1 - preds_b["proba_Yes"]
        expected = {"cv_folds.png", "roc.png", "precision_recall.png", "calibration.png"}
    elif task == "multiclass":
        y = rng.integers(0, 3, n)
        proba = rng.dirichlet(np.ones(3), n)
        preds_a = pd.DataFrame({"y_true": y, "prediction": proba.argmax(1)})
        for k in range(3):
            preds_a[f"proba_{k}"] = proba[:, k]
        preds_b, metric = preds_a.copy(), "log_loss"
        expected = {"cv_folds.png", "roc.png", "precision_recall.png", "calibration.png"}
    else:
        y = rng.normal(size=n)
        preds_a = pd.DataFrame({"y_true": y, "prediction": y + rng.normal(0, 0.5, n)})
        preds_b, metric = (
            pd.DataFrame({"y_true": y, "prediction": y + rng.normal(0, 0.3, n)}),
            "rmse",
        )
        expected = {"cv_folds.png", "residuals.png", "predicted_vs_actual.png"}
    cmp = compare_runs(
        _run("a", [0.5, 0.6, 0.55], metric=metric, task=task, predictions=preds_a),
        _run("b", [0.52, 0.61, 0.56], metric=metric, task=task, predictions=preds_b),
    )
    (tmp_path / "keep.txt").write_text("user file")
    report, plots = write_report(cmp, tmp_path, None)
    assert set(plots) == expected
    for name in plots:
        assert (tmp_path / name).read_bytes().startswith(PNG_SIGNATURE)
        assert f"]({name})" in report.read_text()
    assert (tmp_path / "keep.txt").read_text() == "user file"  # only our own files are touched
    payload = json.loads((tmp_path / "comparison.json").read_text())
    assert payload["primary_metric"] == metric
    assert payload["cv"][0]["verdict"] in {"better", "worse", "within noise"}
    md = render_markdown(cmp, plots, None, image_prefix="out/")
    assert "](out/cv_folds.png)" in md
    assert "## Cross-validation: decide by this" in md


# --- revisions and test-set looks in real git repositories ----------------------------


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "t@example.com")
    _git(root, "config", "user.name", "t")
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True)
    (root / "params.yaml").write_text("seed: 1\nproblem:\n  positive_label: Yes\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "init")
    return root


def _write_reports(root: Path, test_sha: str, auc: float) -> None:
    train = _run("x", [auc, auc + 0.01, auc - 0.01]).train
    (root / "reports" / "train").mkdir(parents=True, exist_ok=True)
    (root / "reports" / "evaluate").mkdir(parents=True, exist_ok=True)
    (root / "reports" / "train" / "metrics.json").write_text(json.dumps(train))
    (root / "reports" / "evaluate" / "metrics.json").write_text(
        json.dumps({"test_sha256": test_sha, "primary_metric": {"value": auc}})
    )


def _commit(root: Path, message: str) -> str:
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", message)
    return _git(root, "rev-parse", "HEAD")


def test_load_run_reads_a_commit_and_the_workspace(repo):
    _write_reports(repo, "T1", 0.8)
    _commit(repo, "run 1")
    _write_reports(repo, "T1", 0.9)
    committed = load_run(repo, "HEAD")
    workspace = load_run(repo, None)
    assert committed.train["cv"]["roc_auc"]["mean"] == pytest.approx(0.8)
    assert workspace.train["cv"]["roc_auc"]["mean"] == pytest.approx(0.9)
    assert committed.params["problem"]["positive_label"] == "Yes"  # YAML 1.2: not True
    assert committed.sha is not None
    assert workspace.label == "workspace"
    assert any("not in the local DVC cache" in note for note in committed.notes)


def test_load_run_errors_name_the_revision(repo):
    with pytest.raises(FoldwiseError, match=r"HEAD has no reports/train/metrics\.json"):
        load_run(repo, "HEAD")
    with pytest.raises(FoldwiseError, match="'no-such-exp' is neither a git revision nor a DVC"):
        load_run(repo, "no-such-exp")
    (repo / "reports" / "train").mkdir(parents=True)
    (repo / "reports" / "train" / "metrics.json").write_text(
        json.dumps({"primary_metric": "roc_auc", "cv": {"roc_auc": {"mean": 0.8}}})
    )
    with pytest.raises(FoldwiseError, match="no per-fold scores"):
        load_run(repo, None)


def test_count_test_looks_over_commits_experiments_and_workspace(repo):
    _write_reports(repo, "T1", 0.80)
    first = _commit(repo, "look 1")
    (repo / "README").write_text("docs only")
    _commit(repo, "same results, new commit")  # not a new look
    _write_reports(repo, "T1", 0.81)
    _commit(repo, "look 2")
    _write_reports(repo, "OTHER", 0.70)
    _commit(repo, "another test table")
    # An experiment: a commit outside the branches, under a DVC experiment ref.
    _git(repo, "checkout", "-q", first)
    _write_reports(repo, "T1", 0.82)
    exp_sha = _commit(repo, "exp")
    _git(repo, "checkout", "-q", "-")
    ref = f"refs/exps/{first[:2]}/{first[2:]}/exp-1"
    _git(repo, "update-ref", ref, exp_sha)
    _git(repo, "update-ref", "refs/exps/exec/EXEC_BRANCH", exp_sha)  # not an experiment
    looks = count_test_looks(repo, "T1")
    assert (looks.evaluations, looks.commits, looks.experiments) == (3, 3, 1)
    assert not looks.workspace_uncommitted
    assert "Warning" in looks.message()
    _write_reports(repo, "T1", 0.83)
    assert count_test_looks(repo, "T1").workspace_uncommitted
    assert count_test_looks(repo, "T1").evaluations == 4
    once = count_test_looks(repo, "OTHER")
    assert (once.evaluations, once.commits, once.experiments) == (1, 1, 0)
    assert "One look" in once.message()


def test_cli_errors_are_one_line_with_exit_2(repo):
    result = subprocess.run(
        [sys.executable, "-m", "foldwise.cli", "compare", "nope", "--root", str(repo)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: compare: 'nope' is neither")


def test_an_empty_section_that_gains_keys_shows_only_the_keys():
    cmp = compare_runs(
        _run("a", BASE_SCORES, params={"tune": {"search_space": {}, "n_trials": 3}}),
        _run("b", BASE_SCORES, params={"tune": {"search_space": {"depth": 1}, "n_trials": 3}}),
    )
    assert cmp.params_changed == [("tune.search_space.depth", None, 1)]


def test_undefined_fold_scores_are_left_out_of_the_paired_test(tmp_path):
    base = [0.85, 0.86, None, 0.855, 0.852]
    worse = [0.82, 0.83, None, 0.824, 0.821]
    cmp = compare_runs(_run("a", base), _run("b", worse))
    assert cmp.primary.test.verdict == "worse"
    assert cmp.gate_failed
    assert any("undefined on some folds" in w for w in cmp.warnings)
    _, plots = write_report(cmp, tmp_path, None)
    assert (tmp_path / "cv_folds.png").read_bytes().startswith(PNG_SIGNATURE)
    assert plots == ["cv_folds.png"]


def test_report_without_predictions_does_not_claim_a_paired_bootstrap():
    a = _binary_predictions(100, 1.0, seed=1)
    base = _run("a", BASE_SCORES, predictions=a)
    target = _run("b", BASE_SCORES, predictions=a)
    base.predictions = None
    md = render_markdown(compare_runs(base, target), [], None)
    assert "paired bootstrap on the same rows" not in md
    assert "No test on the test set" in md
