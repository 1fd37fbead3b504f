"""LightGBM and extra trees beyond the model wrapper: SHAP, bundles, ONNX export, params.yaml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from threadpoolctl import threadpool_limits

from foldwise.bundle import Bundle
from foldwise.errors import FoldwiseError
from foldwise.explain.attribution import output_names
from foldwise.explain.explainer import explain
from foldwise.model_settings import load_config
from foldwise.models import feature_frame
from foldwise.production.export import export_onnx
from tests.support.serve import FEATURES, PROBLEMS, train_bundle

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def one_openmp_thread():
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _raw_output(bundle: Bundle, X) -> np.ndarray:
    """What SHAP values must add up to: log-odds / logits (LightGBM), probabilities (forests)."""
    model = bundle.model
    if model.task == "regression":
        return model.predict(X)[:, None]
    if model.name == "lightgbm":
        matrix = model.estimator_.codes.matrix(model.model_input(X))
        raw = model.estimator_.booster.predict(matrix, raw_score=True)
        return raw.reshape(len(X), -1)
    proba = model.predict_proba(X)
    return proba[:, 1:] if model.task == "binary" else proba


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("name", ["lightgbm", "extra_trees"])
def test_shap_values_add_up_to_the_model_output(name, task, tmp_path):
    bundle, table = train_bundle(task, tmp_path / "bundle", model=name)
    X = feature_frame(table, FEATURES)
    attr = explain(
        bundle.model,
        X.iloc[:60],
        X,
        outputs=output_names(bundle.model, list(PROBLEMS[task].classes or []), "label"),
        target="label",
        seed=0,
    )
    assert attr.note is None
    expected_method = "LightGBM pred_contrib" if name == "lightgbm" else "shap.TreeExplainer"
    assert attr.method.startswith(expected_method)
    k = {"binary": 1, "multiclass": 3, "regression": 1}[task]
    assert attr.values.shape == (60, len(FEATURES), k)
    total = attr.values.sum(axis=1) + attr.base[None, :]
    assert np.allclose(total, _raw_output(bundle, X.iloc[:60]), atol=1e-6)
    assert attr.mean_abs().argmax() in (0, 1)  # make_table's label follows x1 and x2


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("name", ["lightgbm", "extra_trees"])
def test_bundle_round_trip_scores_raw_rows_like_the_model(name, task, tmp_path):
    bundle, table = train_bundle(task, tmp_path / "bundle", model=name)
    loaded = Bundle.load(tmp_path / "bundle")
    rows = table.drop(columns=["label"]).head(50)
    expected = (
        bundle.model.predict(feature_frame(rows, FEATURES))
        if task == "regression"
        else bundle.model.predict_proba(feature_frame(rows, FEATURES))
    )
    assert np.array_equal(loaded.predict_scores(rows), expected)
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    assert np.array_equal(loaded.predict_scores(records), expected)
    assert len(loaded.predict(rows)) == 50


def test_lightgbm_export_says_why_it_is_not_exported(tmp_path):
    bundle, table = train_bundle("binary", tmp_path / "bundle", model="lightgbm")
    result = export_onnx(bundle, table.head(100), tmp_path / "model.onnx")
    assert result["exported"] is False
    assert result["reason"].startswith("LightGBM models are not exported to ONNX")
    assert "lightgbm_model.txt" in result["reason"]
    assert not (tmp_path / "model.onnx").exists()


def test_extra_trees_export_keeps_parity_or_says_why(tmp_path):
    pytest.importorskip("onnxruntime")
    bundle, table = train_bundle("binary", tmp_path / "bundle", model="extra_trees")
    result = export_onnx(bundle, table.head(200), tmp_path / "model.onnx")
    if result["exported"]:
        assert result["max_abs_diff"] <= result["tolerance"]
        assert (tmp_path / "model.onnx").is_file()
    else:
        assert result["reason"]


def _params(tmp_path: Path, model: dict, tune: dict | None = None) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for key, value in model.items():
        params["model"][key] = value
    params["tune"].update(tune or {})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.mark.parametrize(
    ("model", "tune", "message"),
    [
        ({"lightgbm": {"num_leave": 8}}, None, r"model\.lightgbm\.num_leave .*'num_leaves'"),
        ({"lightgbm": {"num_leaves": 1}}, None, r"model\.lightgbm\.num_leaves: LightGBM refuses"),
        ({"lightgbm": {"early_stopping_rounds": 9}}, None, r"model\.lightgbm\.early_stopping_"),
        ({"extra_trees": {"max_feature": 0.5}}, None, r"model\.extra_trees\.max_feature "),
        ({"extra_trees": {"n_estimators": -1}}, None, r"model\.extra_trees\.n_estimators"),
        (
            {"name": "lightgbm"},
            {"search_space": {"num_leavs": {"low": 8, "high": 64}}},
            r"tune\.search_space\.num_leavs .*'num_leaves'",
        ),
    ],
)
def test_params_yaml_errors_name_the_key(tmp_path, model, tune, message):
    with pytest.raises(FoldwiseError, match=message):
        load_config(_params(tmp_path, model, tune))


def test_params_yaml_accepts_the_new_families(tmp_path):
    for name in ("lightgbm", "extra_trees"):
        config = load_config(_params(tmp_path, {"name": name}))
        assert config.model.name == name
        assert config.model.settings() == config.model.settings(name)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("name", ["lightgbm", "extra_trees"])
def test_default_search_space_ends_are_valid_settings(name, task):
    from foldwise.models import build_model
    from foldwise.tuning.space import SEARCH_SPACES

    for key, spec in SEARCH_SPACES[name].items():
        for value in (spec.low, spec.high):
            value = int(value) if spec.type == "int" else value
            model = build_model(name, task=task, features=FEATURES, settings={key: value})
            model.backend.check_values(task, {key: value})


def test_trial_zero_of_lightgbm_is_the_params_yaml_settings(tmp_path):
    from foldwise.tuning.space import default_trial, search_space

    config = load_config(_params(tmp_path, {"name": "lightgbm"}))
    space, fixed = search_space(config, "binary")
    assert fixed == {}
    trial = default_trial(config, space)
    # Only the searched keys params.yaml sets, with its values; every other key keeps
    # LightGBM's own default (num_leaves 31, min_child_samples 20, reg_lambda 0).
    configured = config.model.settings("lightgbm")
    assert trial == {k: v for k, v in configured.items() if k in space}
    assert trial["learning_rate"] == 0.05
    assert "num_leaves" not in trial
    assert "reg_lambda" not in trial
