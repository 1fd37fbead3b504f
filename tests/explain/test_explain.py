"""Explain on small generated data: drivers, noise, planted weak segment, suspects, fallbacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from foldwise.bundle import Bundle
from foldwise.config import parse_config
from foldwise.errors import FoldwiseError
from foldwise.explain.agreement import investigate, rank_correlation, ranks
from foldwise.explain.attribution import output_names
from foldwise.explain.explainer import explain
from foldwise.explain.moves import feature_moves, render_moves
from foldwise.explain.run import run_explain
from foldwise.explain.segments import row_loss, weak_segments
from foldwise.problem import Problem
from foldwise.training.crossval import cross_validate, cv_rounds
from foldwise.training.data import folds_for, training_data
from foldwise.training.fitting import fit_final, model_for

FEATURES = [
    {"name": "x1", "kind": "numeric"},
    {"name": "x2", "kind": "numeric"},
    {"name": "noise", "kind": "numeric"},
    {"name": "colour", "kind": "categorical"},
    {"name": "zone", "kind": "categorical"},
    {"name": "member", "kind": "boolean"},
]
WEAK = "colour = blue and zone = d"


def explain_table(task: str, n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """x1 drives the target strongly, x2 a little, ``noise`` not at all; blue & d is noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "row_id": [f"R{i:05d}" for i in range(n)],
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "colour": rng.choice(["red", "green", "blue"], size=n),
            "zone": rng.choice(["a", "b", "c", "d"], size=n),
            "member": rng.random(n) < 0.5,
        }
    )
    signal = 2.5 * frame["x1"] + 0.6 * frame["x2"] + 0.3 * frame["member"]
    weak = ((frame["colour"] == "blue") & (frame["zone"] == "d")).to_numpy()
    noise = rng.normal(scale=0.3, size=n)
    if task == "binary":
        label = np.where(signal + noise > 0, "Yes", "No")
        label[weak] = rng.choice(["Yes", "No"], size=weak.sum())
    elif task == "multiclass":
        label = np.select([signal + noise < -1.0, signal + noise < 1.0], ["low", "mid"], "high")
        label[weak] = rng.choice(["low", "mid", "high"], size=weak.sum())
    else:
        label = 3.0 * signal + noise
        label[weak] = rng.normal(scale=8.0, size=weak.sum())
    frame["label"] = label
    return frame


def _problem(task: str) -> Problem:
    if task == "binary":
        return Problem("binary", "label", ("No", "Yes"), "Yes", "roc_auc")
    if task == "multiclass":
        return Problem("multiclass", "label", ("high", "low", "mid"), None, "log_loss")
    return Problem("regression", "label", None, None, "rmse")


def fit_run(task: str, model: str = "catboost", n: int = 1500, **explain_params):
    """Cross-validate and fit as the train stage does; return what run_explain takes."""
    frame = explain_table(task, n)
    problem = _problem(task)
    data = training_data(frame, problem.to_dict() | {"features": FEATURES})
    config = parse_config(
        {
            "seed": 0,
            "cv": {"folds": 3},
            "model": {"name": model, "catboost": {"iterations": 120, "depth": 4}},
            "explain": {"max_rows": 900, "permutation_repeats": 2, **explain_params},
        }
    )
    folds = folds_for(data, config)
    estimator = model_for(model, data, config)
    cv = cross_validate(estimator, data, folds, config, model, keep_models=True)
    final, _ = fit_final(model, {}, cv_rounds(cv), data, config)
    bundle = Bundle(final, problem, FEATURES, 0.5 if task == "binary" else None)
    oof = pd.DataFrame({"fold": cv.fold_of_row, "y_true": data.y})
    if task == "regression":
        oof["oof_prediction"] = cv.oof
    else:
        for i, label in enumerate(problem.classes or ()):
            oof[f"oof_proba_{label}"] = cv.oof[:, i]
    return config, data, bundle, cv.models, oof


@pytest.fixture(scope="module", params=["binary", "multiclass", "regression"])
def explained(request):
    config, data, bundle, models, oof = fit_run(
        request.param, suspect_columns=["x1", "noise"], top_k=3
    )
    return request.param, run_explain(config, data, ["row_id"], bundle, models, oof)


def _rank(result, feature: str) -> int:
    return next(r["rank"] for r in result.details["features"] if r["feature"] == feature)


def test_strongest_driver_on_top_and_noise_near_the_bottom(explained):
    task, result = explained
    assert result.summary["top_features"][0]["feature"] == "x1", task
    assert _rank(result, "noise") >= len(FEATURES) - 2, task
    top = result.summary["top_features"]
    assert [t["importance"] for t in top] == sorted((t["importance"] for t in top), reverse=True)
    # the fold models agree that x1 comes first
    x1 = next(r for r in result.details["features"] if r["feature"] == "x1")
    assert x1["fold_ranks"] == [1, 1, 1]


def test_planted_weak_segment_is_found_and_named(explained):
    task, result = explained
    flagged = result.details["segments"]["flagged"]
    assert flagged, task
    assert flagged[0]["segment"] == WEAK, (task, [f["segment"] for f in flagged])
    assert flagged[0]["features"] == ["colour", "zone"]
    assert 60 <= flagged[0]["rows"] <= 200
    assert flagged[0]["p_adjusted"] < 0.05
    assert result.summary["weak_segments"] == len(flagged)


def test_suspect_column_the_model_relies_on_is_flagged(explained):
    task, result = explained
    assert result.summary["suspect_flagged"] == ["x1"], task  # noise is checked, not flagged
    assert result.summary["passed"] is True  # fail_on is empty


def test_reports_are_from_training_rows_and_carry_the_contract_fields(explained):
    task, result = explained
    s = result.summary
    assert s["rows_explained"] == 900
    assert s["rows_out_of_fold"] == 1500
    assert {"feature", "importance"} == set(s["top_features"][0])
    assert s["rank_correlation"]["permutation"] > 0.5
    assert len(result.worst) == 100
    assert result.worst["loss"].is_monotonic_decreasing
    assert result.worst["top1_feature"].notna().all()
    rob = result.details["robustness"]
    assert 0 <= rob["moved_share"] <= 1
    assert (rob["flip_share"] is None) == (task == "regression")
    assert "member" in rob["skipped"]


# fail_on and an unknown suspect column are tested through the stage: test_explain_stage.py


def test_too_few_rows_to_explain():
    config, data, bundle, models, oof = fit_run("binary", n=300)
    oof = oof.assign(fold=np.where(np.arange(len(oof)) < 40, oof["fold"], -1))
    with pytest.raises(FoldwiseError, match="40 out-of-fold rows; explain needs at least 50"):
        run_explain(config, data, ["row_id"], bundle, models, oof)


def test_model_without_native_shap_falls_back_and_says_so():
    config, data, bundle, models, oof = fit_run("binary", model="dummy", n=300)
    result = run_explain(config, data, ["row_id"], bundle, models, oof)
    assert result.summary["method"] == "permutation SHAP (fallback)"
    assert "no native SHAP support" in result.details["note"]
    assert "fell back" in result.details["note"]
    assert np.allclose(result.final.values, 0.0)  # a constant model: nothing contributes


def test_plots_of_a_capped_fallback_use_the_explained_rows(tmp_path):
    from foldwise.explain.attribution import FALLBACK_MAX_ROWS
    from foldwise.explain.plots import all_plots

    config, data, bundle, models, oof = fit_run("binary", model="dummy", n=600)
    result = run_explain(config, data, ["row_id"], bundle, models, oof)
    assert len(result.sample) > FALLBACK_MAX_ROWS == len(result.final.values)
    kinds = {f["name"]: f["kind"] for f in FEATURES}
    files = all_plots(result.final, result.sample, kinds, result.fold_importance, tmp_path, top=6)
    assert "beeswarm.png" in files


@pytest.mark.parametrize("model", ["catboost", "logistic_regression"])
def test_shap_values_add_up_to_the_model_output(model):
    _, data, bundle, _, _ = fit_run("binary", model=model, n=400)
    X = data.X.iloc[:50].reset_index(drop=True)
    attr = explain(
        bundle.model,
        X,
        data.X,
        outputs=output_names(bundle.model, ["No", "Yes"], "label"),
        target="label",
        seed=0,
    )
    proba = bundle.model.predict_proba(X)[:, 1]
    logit = np.log(proba / (1 - proba))
    total = attr.values[:, :, 0].sum(axis=1) + attr.base[0]
    # linear SHAP is exact against the mean of the background rows given
    assert np.allclose(total, logit, atol=1e-4 if model == "catboost" else 1e-6)


def test_fallback_permutation_shap_adds_up_and_finds_the_driver():
    from foldwise.explain.attribution import _permutation

    _, data, bundle, _, _ = fit_run("binary", n=400)
    X = data.X.iloc[:40].reset_index(drop=True)
    values, base = _permutation(bundle.model, X, data.X.iloc[100:130], seed=0)
    proba = bundle.model.predict_proba(X)[:, 1]
    assert np.allclose(values[:, :, 0].sum(axis=1) + base[0], proba)
    assert np.abs(values).mean(axis=(0, 2)).argmax() == 0  # x1


def test_weak_segments_holm_correction_keeps_pure_noise_quiet():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"a": rng.choice(list("pqrs"), 2000), "b": rng.normal(size=2000), "c": rng.random(2000)}
    )
    loss = rng.exponential(size=2000)
    found = weak_segments(
        frame, ["a", "b", "c"], loss, bins=4, min_rows=50, alpha=0.05, min_ratio=1.0
    )
    assert found["slices_tested"] > 50
    assert found["flagged"] == []


def test_row_loss_and_rank_helpers():
    y = np.array([0, 1])
    proba = np.array([[0.9, 0.1], [0.5, 0.5]])
    assert np.allclose(row_loss("binary", y, proba), [-np.log(0.9), -np.log(0.5)])
    assert row_loss("regression", np.array([1.0]), np.array([3.0]))[0] == 4.0
    assert ranks(np.array([0.1, 0.5, 0.3])).tolist() == [3, 1, 2]
    assert rank_correlation(np.array([1, 2, 3]), np.array([1, 1, 1])) is None
    found = investigate(
        ["a", "b", "c", "d"],
        np.array([4.0, 3, 2, 1]),
        np.array([0.0, 3, 2, 1]),
        main_name="m",
        other_name="o",
        top=1,
    )
    assert [f["feature"] for f in found] == ["a"]
    assert "investigate" in found[0]["statement"]


def test_feature_moves_between_runs():
    base = {
        "top_features": [{"feature": "a", "importance": 2.0}, {"feature": "b", "importance": 1}]
    }
    target = {
        "top_features": [{"feature": "b", "importance": 3.0}, {"feature": "c", "importance": 1}]
    }
    moves = {m["feature"]: m for m in feature_moves(base, target)}
    assert moves["b"]["move"] == "up"
    assert moves["b"]["target_rank"] == 1
    assert moves["c"]["move"] == "entered"
    assert moves["a"]["move"] == "left"
    assert "| `b` | 2 | 1 |" in "\n".join(render_moves(list(moves.values())))
    assert feature_moves(None, target) == []


def test_plots_per_class_for_multiclass(tmp_path):
    from foldwise.explain.plots import all_plots

    config, data, bundle, models, oof = fit_run("multiclass", n=400, max_rows=200)
    result = run_explain(config, data, ["row_id"], bundle, models, oof)
    kinds = {f["name"]: f["kind"] for f in FEATURES}
    files = all_plots(result.final, result.sample, kinds, result.fold_importance, tmp_path, top=6)
    assert "importance_bar.png" in files
    for label in ("high", "low", "mid"):
        assert f"beeswarm_{label}.png" in files
        assert sum(f.startswith(f"dependence_{label}_") for f in files) == 3
    assert all((tmp_path / f).stat().st_size > 1000 for f in files)
