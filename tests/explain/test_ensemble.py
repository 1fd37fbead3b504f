"""SHAP of a weighted ensemble: the weighted sum of its members' values, additive per task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from foldwise.bundle import Bundle
from foldwise.config import parse_config
from foldwise.explain.attribution import output_names
from foldwise.explain.explainer import explain
from foldwise.explain.run import run_explain
from foldwise.models.ensemble import EnsembleModel
from foldwise.training.crossval import predict_scores
from foldwise.training.data import folds_for, training_data
from tests.explain.test_explain import FEATURES, _problem, explain_table
from tests.support.ensemble import fit_ensemble

TASKS = ["binary", "multiclass", "regression"]


@pytest.fixture(autouse=True, scope="module")
def one_openmp_thread():
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def ensemble_run(task: str, n: int = 600):
    """Fold ensembles with out-of-fold predictions and a final ensemble, as train would ship."""
    frame = explain_table(task, n)
    problem = _problem(task)
    data = training_data(frame, problem.to_dict() | {"features": FEATURES})
    config = parse_config(
        {"seed": 0, "cv": {"folds": 3}, "explain": {"max_rows": 300, "permutation_repeats": 1}}
    )
    k = len(problem.classes) if problem.classes else None
    oof = np.full((n, k), np.nan) if k else np.full(n, np.nan)
    fold_of_row = np.full(n, -1)
    folds = []
    for i, (train, held) in enumerate(folds_for(data, config)):
        model = fit_ensemble(task, data.X.iloc[train], data.y[train], data.features, n_classes=k)
        oof[held] = predict_scores(model, data.X.iloc[held], task)
        fold_of_row[held] = i
        folds.append(model)
    final = fit_ensemble(task, data.X, data.y, data.features, n_classes=k)
    bundle = Bundle(final, problem, data.features, 0.5 if task == "binary" else None)
    table = pd.DataFrame({"fold": fold_of_row, "y_true": data.y})
    if task == "regression":
        table["oof_prediction"] = oof
    else:
        for i, label in enumerate(problem.classes or ()):
            table[f"oof_proba_{label}"] = oof[:, i]
    return config, data, bundle, folds, table


@pytest.fixture(scope="module", params=TASKS)
def run(request):
    return request.param, ensemble_run(request.param)


def test_shap_of_the_ensemble_adds_up_to_its_prediction(run):
    task, (_, data, bundle, _, _) = run
    model = bundle.model
    X = data.X.iloc[:80].reset_index(drop=True)
    problem = bundle.problem
    outputs = output_names(model, [str(c) for c in problem.classes or ()], problem.target)
    attr = explain(model, X, data.X.iloc[100:400], outputs=outputs, target="label", seed=0)
    assert attr.rows is not None
    explained = X.iloc[attr.rows]
    scores = predict_scores(model, explained, task)
    if task == "binary":
        expected = scores[:, 1:]
    elif task == "multiclass":
        expected = scores
    else:
        expected = scores[:, None]
    total = attr.values.sum(axis=1) + attr.base[None, :]
    np.testing.assert_allclose(total, expected, rtol=0, atol=1e-6)
    assert attr.units == ("label (target units)" if task == "regression" else "probability")
    assert attr.method.startswith("weighted sum of member SHAP: catboost 0.5")
    assert "random_forest 0.3 (shap.TreeExplainer)" in attr.method
    assert int(np.abs(attr.values).mean(axis=(0, 2)).argmax()) == 0  # x1 drives the target


def test_ensemble_shap_is_the_weighted_sum_of_the_members(run):
    task, (_, data, bundle, _, _) = run
    model = bundle.model
    X = data.X.iloc[:40].reset_index(drop=True)
    background = data.X.iloc[100:400]
    outputs = output_names(model, [str(c) for c in bundle.problem.classes or ()], "label")
    whole = explain(model, X, background, outputs=outputs, target="label", seed=3)
    parts = [
        explain(
            EnsembleModel([m.model], [1.0]), X, background, outputs=outputs, target="label", seed=3
        )
        for m in model.members
    ]
    weighted = sum(m.weight * p.values for m, p in zip(model.members, parts, strict=True))
    np.testing.assert_allclose(whole.values, weighted, rtol=0, atol=1e-12)
    if task == "regression":  # each member in its own native explainer
        assert "CatBoost ShapValues" in whole.method
        assert "linear SHAP" in whole.method
    else:  # log-odds explainers replaced by permutation SHAP of the probabilities
        assert "catboost 0.5 (permutation SHAP (fallback))" in whole.method
        assert "catboost explains log-odds; the ensemble averages probabilities" in whole.note


def test_run_explain_with_an_ensemble_bundle(run, tmp_path):
    from foldwise.explain.report import write_explanation

    task, (config, data, bundle, folds, oof) = run
    result = run_explain(config, data, ["row_id"], bundle, folds, oof)
    assert result.kinds == {str(f["name"]): str(f["kind"]) for f in data.features}
    plots = write_explanation(result, tmp_path)
    assert sorted(p.name for p in (tmp_path / "plots").glob("*.png")) == sorted(plots)
    assert result.summary_line(3.0).startswith("explain ensemble: top features x1")
    assert result.summary_line(3.0).endswith("(3.0 s)")
    report = (tmp_path / "explain.md").read_text()
    assert "weighted sum of member SHAP: catboost 0.5" in report
    assert any(name.startswith("beeswarm") for name in plots)
    s = result.summary
    assert s["model"] == "ensemble"
    assert s["top_features"][0]["feature"] == "x1"
    assert s["method"].startswith("weighted sum of member SHAP")
    assert s["units"] == ("label (target units)" if task == "regression" else "probability")
    assert len(result.worst) == 100
    assert result.worst["top1_feature"].notna().all()
    assert result.details["segments"]["flagged"]  # the planted weak segment
    assert 0 <= result.details["robustness"]["moved_share"] <= 1
    assert not result.oof_shap.empty
    x1 = next(r for r in result.details["features"] if r["feature"] == "x1")
    assert x1["fold_ranks"] == [1, 1, 1]
    assert x1["permutation_rank"] == 1


def test_foldwise_explain_rows_with_an_ensemble_bundle(run, tmp_path, monkeypatch, capsys):
    from foldwise.cli import main

    task, (_, data, bundle, _, _) = run
    bundle.save(tmp_path / "models" / "model")
    monkeypatch.chdir(tmp_path)
    rows = explain_table(task, 6, seed=9).drop(columns=["label"])
    rows.to_csv("rows.csv", index=False)
    with pytest.raises(SystemExit) as exit_info:  # the members need training rows
        main(["explain", "rows.csv"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "background.parquet: not found; the ensemble model is explained against" in err
    (tmp_path / "reports" / "explain").mkdir(parents=True)
    data.X.iloc[:200].to_parquet("reports/explain/background.parquet")
    main(["explain", "rows.csv", "--row", "1"])
    out = capsys.readouterr().out
    assert out.count("row ") >= 6
    assert "note: catboost:" in out or task == "regression"
    table = pd.read_csv("reports/explain_rows/contributions.csv")
    assert len(table) == 6
    assert table["top_contributions"].str.contains("x1=").all()
    assert (tmp_path / "reports/explain_rows/waterfall_row1.png").stat().st_size > 1000


@pytest.mark.parametrize("task", TASKS)
def test_members_with_other_explainers_still_add_up(task):
    """Histogram boosting (TreeExplainer or its fallback) and the dummy (permutation only)."""
    from tests.models.test_models import FEATURES as MODEL_FEATURES
    from tests.models.test_models import make_data

    X, y = make_data(task, n=400)
    members = ("hist_gradient_boosting", "dummy", "random_forest")
    model = fit_ensemble(task, X, y, MODEL_FEATURES, members=members, weights=(0.6, 0.1, 0.3))
    classes = [str(c) for c in range(model.n_classes_)] if model.is_classifier else None
    outputs = output_names(model, classes, "y")
    attr = explain(model, X.iloc[:350], X.iloc[350:], outputs=outputs, target="y", seed=1)
    assert attr.rows is not None
    assert len(attr.rows) == 200  # the sample of the dummy's permutation SHAP
    scores = predict_scores(model, X.iloc[attr.rows], task)
    expected = (
        scores[:, 1:] if task == "binary" else scores if task != "regression" else scores[:, None]
    )
    total = attr.values.sum(axis=1) + attr.base[None, :]
    np.testing.assert_allclose(total, expected, rtol=0, atol=1e-6)
    assert "dummy 0.1 (permutation SHAP (fallback))" in attr.method


@pytest.mark.parametrize("task", TASKS)
def test_histogram_boosting_shap_that_misses_the_model_falls_back(task):
    """shap reads histogram boosting's categorical splits wrongly; its values are checked."""
    from foldwise.models import TabularModel
    from tests.models.test_models import FEATURES as MODEL_FEATURES
    from tests.models.test_models import make_data

    X, y = make_data(task, n=300)
    numeric = [f for f in MODEL_FEATURES if f["kind"] != "categorical"]
    outputs = ["0", "1", "2"] if task == "multiclass" else ["y"]
    for features, native in ((MODEL_FEATURES, False), (numeric, True)):
        model = TabularModel("hist_gradient_boosting", task, features, settings={"max_iter": 20})
        model.fit(X, y)
        attr = explain(model, X.iloc[:100], X.iloc[100:], outputs=outputs, target="y", seed=0)
        assert (attr.method == "shap.TreeExplainer") == native, attr.note
        if not native:
            assert "do not add up to the model's output" in attr.note
            assert attr.units == ("y (target units)" if task == "regression" else "probability")


class _RawRows:
    """The reference: a fitted model scoring raw typed rows (each shuffle typed anew)."""

    def __init__(self, model):
        self.model = model

    def fit(self, *args, **kwargs):
        raise TypeError("fitted")

    def predict(self, X):
        return self.model.predict(X)

    def predict_proba(self, X):
        return self.model.predict_proba(X)


def test_permutation_importance_on_model_input_equals_shuffling_raw_rows(run):
    # Explain shuffles the model-form columns (typed once per fold); shuffling the raw rows
    # and typing every shuffle gives exactly the same importances, for a single model and an
    # ensemble of every task.
    from sklearn.inspection import permutation_importance

    from foldwise.explain.agreement import fold_permutation_importance
    from foldwise.metrics import METRICS, score

    task, (_config, data, _bundle, folds, table) = run
    metric = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}[task]
    fold_of_row = table["fold"].to_numpy()
    sign = 1.0 if METRICS[metric].greater_is_better else -1.0

    def scorer(estimator, X, y):
        predicted = estimator.predict(X) if task == "regression" else estimator.predict_proba(X)
        return sign * score(metric, y, np.asarray(predicted, dtype="float64"))

    for models in (folds, [fold.members[0].model for fold in folds]):
        fast = fold_permutation_importance(
            models, data.X, data.y, fold_of_row, metric=metric, task=task, repeats=2, seed=3
        )
        for i, model in enumerate(models):
            rows = np.flatnonzero(fold_of_row == i)
            reference = permutation_importance(
                _RawRows(model),
                data.X.iloc[rows],
                data.y[rows],
                scoring=scorer,
                n_repeats=2,
                random_state=3 + i,
                n_jobs=1,
            ).importances_mean
            np.testing.assert_allclose(fast[i], reference, rtol=1e-12, atol=1e-15)
        assert np.abs(fast).max() > 0  # some column matters: the comparison is not of zeros
