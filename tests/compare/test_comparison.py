"""foldwise compare: whole comparisons of fabricated runs, their warnings and the gate (fast)."""

from __future__ import annotations

import numpy as np
import pytest

from foldwise.compare.comparison import compare_runs
from foldwise.compare.report import write_report
from foldwise.errors import FoldwiseError
from tests.compare.helpers import BASE_SCORES, PNG_SIGNATURE, binary_predictions, make_run


def test_gate_fails_on_a_significant_drop_beyond_the_tolerance_only():
    worse = [
        v - 0.03 + e for v, e in zip(BASE_SCORES, [0.001, -0.002, 0.0, 0.002, -0.001], strict=False)
    ]
    strict = compare_runs(make_run("a", BASE_SCORES), make_run("b", worse))
    assert strict.primary.test.verdict == "worse"
    assert strict.gate_failed
    assert strict.gate_message.startswith("failed")
    lenient = compare_runs(
        make_run("a", BASE_SCORES, params={"compare": {"tolerance": 0.05}}), make_run("b", worse)
    )
    assert lenient.primary.test.verdict == "worse"
    assert not lenient.gate_failed
    assert "a's params.yaml" in lenient.gate_message


def test_gate_passes_within_noise_and_on_improvement():
    noisy = [
        v + e for v, e in zip(BASE_SCORES, [0.004, -0.006, 0.003, -0.002, 0.001], strict=False)
    ]
    assert not compare_runs(make_run("a", BASE_SCORES), make_run("b", noisy)).gate_failed
    better = [v + 0.02 for v in noisy]
    cmp = compare_runs(make_run("a", BASE_SCORES), make_run("b", better))
    assert cmp.primary.test.verdict == "better"
    assert not cmp.gate_failed


def test_gate_on_a_loss_metric_uses_its_direction():
    base = [0.30, 0.31, 0.29, 0.30, 0.305]
    higher_loss = [
        v + 0.04 + e for v, e in zip(base, [0.001, -0.002, 0.0, 0.002, -0.001], strict=False)
    ]
    cmp = compare_runs(
        make_run("a", base, metric="log_loss", task="multiclass"),
        make_run("b", higher_loss, metric="log_loss", task="multiclass"),
    )
    assert cmp.primary.test.verdict == "worse"
    assert cmp.gate_failed


def test_different_folds_warn_and_fall_back_to_an_unpaired_test():
    cmp = compare_runs(make_run("a", BASE_SCORES), make_run("b", BASE_SCORES, fingerprint="G"))
    assert not cmp.same_folds
    assert any("different cross-validation folds" in w for w in cmp.warnings)
    assert "unpaired" in cmp.primary.test.method


def test_different_task_or_metric_is_refused():
    with pytest.raises(FoldwiseError, match="binary run but b is a regression run"):
        compare_runs(
            make_run("a", BASE_SCORES), make_run("b", [1.0, 2.0], metric="rmse", task="regression")
        )
    with pytest.raises(FoldwiseError, match="judged by roc_auc but b by log_loss"):
        compare_runs(make_run("a", BASE_SCORES), make_run("b", BASE_SCORES, metric="log_loss"))


def test_invalid_compare_section_names_the_key():
    with pytest.raises(FoldwiseError, match="compare section is invalid"):
        compare_runs(
            make_run("a", BASE_SCORES, params={"compare": {"alpha": 2}}), make_run("b", BASE_SCORES)
        )


def test_params_changed_lists_nested_added_and_removed_keys():
    cmp = compare_runs(
        make_run("a", BASE_SCORES, params={"seed": 1, "model": {"name": "dummy", "x": 1}}),
        make_run("b", BASE_SCORES, params={"seed": 1, "model": {"name": "catboost"}, "new": 2}),
    )
    assert cmp.params_changed == [
        ("model.name", "dummy", "catboost"),
        ("model.x", 1, None),
        ("new", None, 2),
    ]


def test_an_empty_section_that_gains_keys_shows_only_the_keys():
    cmp = compare_runs(
        make_run("a", BASE_SCORES, params={"tune": {"search_space": {}, "n_trials": 3}}),
        make_run("b", BASE_SCORES, params={"tune": {"search_space": {"depth": 1}, "n_trials": 3}}),
    )
    assert cmp.params_changed == [("tune.search_space.depth", None, 1)]


def test_paired_test_set_verdicts_on_the_same_rows():
    weak = binary_predictions(600, 0.3, seed=3)
    strong = weak.copy()
    y = (weak["y_true"] == "Yes").to_numpy()
    rng = np.random.default_rng(4)
    p = 1 / (1 + np.exp(-(2.5 * (2 * y - 1) + rng.normal(0, 1, len(y)))))
    strong["proba_Yes"], strong["proba_No"] = p, 1 - p
    cmp = compare_runs(
        make_run("a", BASE_SCORES, predictions=weak), make_run("b", BASE_SCORES, predictions=strong)
    )
    rows = {row.metric: row for row in cmp.test_rows}
    assert rows["roc_auc"].test.method == "paired bootstrap (same test rows)"
    assert rows["roc_auc"].test.verdict == "better"
    assert rows["log_loss"].test.verdict == "better"
    same = compare_runs(
        make_run("a", BASE_SCORES, predictions=weak), make_run("b", BASE_SCORES, predictions=weak)
    )
    assert {row.test.verdict for row in same.test_rows} == {"within noise"}


def test_different_test_tables_warn():
    a = binary_predictions(300, 1.0, seed=5)
    b = binary_predictions(300, 1.0, seed=6)
    cmp = compare_runs(
        make_run("a", BASE_SCORES, predictions=a),
        make_run("b", BASE_SCORES, predictions=b, test_sha="U"),
    )
    assert any("different test tables" in w for w in cmp.warnings)
    assert cmp.test_rows[0].test.method.startswith("independent bootstrap")


def test_undefined_fold_scores_are_left_out_of_the_paired_test(tmp_path):
    base = [0.85, 0.86, None, 0.855, 0.852]
    worse = [0.82, 0.83, None, 0.824, 0.821]
    cmp = compare_runs(make_run("a", base), make_run("b", worse))
    assert cmp.primary.test.verdict == "worse"
    assert cmp.gate_failed
    assert any("undefined on some folds" in w for w in cmp.warnings)
    _, plots = write_report(cmp, tmp_path, None)
    assert (tmp_path / "cv_folds.png").read_bytes().startswith(PNG_SIGNATURE)
    assert plots == ["cv_folds.png"]
