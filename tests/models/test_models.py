"""The model registry: shapes, early stopping, rounds, raw-row scoring, persistence, settings."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from foldwise.config import Config
from foldwise.errors import FoldwiseError
from foldwise.models import MODEL_NAMES, TabularModel, build_model, feature_frame
from foldwise.stage import rounded

FEATURES = [
    {"name": "x", "kind": "numeric"},
    {"name": "colour", "kind": "categorical", "n_categories": 3},
    {"name": "city", "kind": "categorical", "n_categories": 40},
    {"name": "member", "kind": "boolean"},
    {"name": "joined", "kind": "datetime"},
]
# Small settings keep every fit well under a second.
FAST = {
    "catboost": {"iterations": 30, "thread_count": 2},
    "hist_gradient_boosting": {"max_iter": 30},
    "random_forest": {"n_estimators": 20},
    "logistic_regression": {},
    "dummy": {},
    "lightgbm": {"n_estimators": 30},
    "extra_trees": {"n_estimators": 20},
}


@pytest.fixture(autouse=True, scope="module")
def one_openmp_thread():
    """Tiny fits: OpenMP thread start-up and contention cost more than they save."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def make_data(task: str, n: int = 240, seed: int = 0, noise: float = 0.5):
    """A prepared feature frame with all four dtypes and missing values, plus an encoded target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n).astype(object)
    colour[rng.random(n) < 0.1] = None
    city = np.array([f"city{i:02d}" for i in rng.integers(0, 40, size=n)], dtype=object)
    member = pd.array(rng.random(n) < 0.5, dtype="boolean")
    member[rng.random(n) < 0.1] = pd.NA
    joined = pd.Series(pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 400, n), "D"))
    joined[rng.random(n) < 0.1] = pd.NaT
    x_missing = np.where(rng.random(n) < 0.1, np.nan, x)
    frame = pd.DataFrame(
        {
            "x": x_missing,
            "colour": pd.Series(colour, dtype="str"),
            "city": pd.Series(city, dtype="str"),
            "member": member,
            "joined": joined,
        }
    )
    signal = 1.5 * x + (colour == "red") + 0.5 * member.fillna(False).to_numpy(dtype=float)
    signal = signal + rng.normal(scale=noise, size=n)
    if task == "binary":
        y = (signal > 0.5).astype("int64")
    elif task == "multiclass":
        y = np.digitize(signal, [-0.3, 1.0]).astype("int64")
    else:
        y = signal.astype("float64")
    return frame, y


def make_model(name: str, task: str, **kwargs) -> TabularModel:
    settings = {**FAST[name], **kwargs.pop("settings", {})}
    return TabularModel(name, task, FEATURES, settings=settings, **kwargs)


def scores(model: TabularModel, X: pd.DataFrame) -> np.ndarray:
    return model.predict(X) if model.task == "regression" else model.predict_proba(X)


# ----------------------------------------------------------------- shapes


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_fits_and_predicts_every_task(name, task):
    X, y = make_data(task)
    model = make_model(name, task).fit(X.iloc[:180], y[:180])
    X_new = X.iloc[180:]
    prediction = model.predict(X_new)
    assert prediction.shape == (60,)
    if task == "regression":
        assert prediction.dtype == np.float64
        assert np.isfinite(prediction).all()
        with pytest.raises(ValueError, match="predict_proba is for classification"):
            model.predict_proba(X_new)
        return
    k = 2 if task == "binary" else 3
    proba = model.predict_proba(X_new)
    assert proba.shape == (60, k)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert (proba >= 0).all()
    assert np.array_equal(model.classes_, np.arange(k))
    assert np.array_equal(prediction, proba.argmax(axis=1))
    if name != "dummy":
        assert (prediction == y[180:]).mean() > 0.5  # it learned something


def test_model_predictions_beat_the_dummy_on_signal():
    X, y = make_data("regression", n=300)
    errors = {}
    for name in ("dummy", "logistic_regression"):
        model = make_model(name, "regression").fit(X.iloc[:200], y[:200])
        errors[name] = np.mean((model.predict(X.iloc[200:]) - y[200:]) ** 2)
    assert errors["logistic_regression"] < 0.5 * errors["dummy"]


def test_fit_does_not_mutate_its_input():
    X, y = make_data("binary")
    before = X.copy()
    make_model("logistic_regression", "binary").fit(X, y)
    pd.testing.assert_frame_equal(X, before)


# ----------------------------------------------------------------- early stopping and rounds


@pytest.mark.parametrize(
    ("name", "settings", "metric"),
    [
        ("catboost", {"iterations": 300, "learning_rate": 0.3}, "Logloss"),
        ("hist_gradient_boosting", {"max_iter": 300, "learning_rate": 0.3}, "log_loss"),
        ("lightgbm", {"n_estimators": 300, "learning_rate": 0.3}, "binary_logloss"),
    ],
)
def test_early_stopping_stops_early_on_noise(name, settings, metric):
    X, _ = make_data("binary", n=300)
    y = np.random.default_rng(1).integers(0, 2, size=300)  # pure noise: nothing to learn
    model = make_model(name, "binary", settings=settings, early_stopping_rounds=10)
    model.fit(X.iloc[:200], y[:200], X_val=X.iloc[200:], y_val=y[200:])
    assert model.supports_early_stopping
    assert 1 <= model.best_iteration_ < 300
    assert model.n_iterations_ == model.best_iteration_  # the model keeps the best rounds only
    curve = model.learning_curve_
    assert curve["metric"] == metric
    assert len(curve["train"]) == len(curve["validation"]) > model.best_iteration_
    # Losses, lower is better: training loss falls as the model memorises noise.
    assert curve["train"][-1] < curve["train"][0]
    best = model.best_iteration_
    assert curve["validation"][best - 1] == min(curve["validation"])


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_the_default_catboost_settings_reach_the_estimator(task):
    # docs/model-families.md ("CatBoost's shipped settings"): learning rate 0.05, measured by
    # cross-validation against 0.1 and CatBoost's library defaults on the peer tables.
    settings = Config().model.settings("catboost")
    assert settings["learning_rate"] == 0.05
    X, y = make_data(task)
    model = TabularModel("catboost", task, FEATURES, settings={**settings, "thread_count": 2})
    model.fit(X.iloc[:180], y[:180], X_val=X.iloc[180:], y_val=y[180:])
    fitted = model.estimator_.get_all_params()
    assert fitted["learning_rate"] == pytest.approx(0.05)
    assert (fitted["depth"], fitted["max_ctr_complexity"], fitted["border_count"]) == (6, 2, 254)
    assert 1 <= model.best_iteration_ < 1000  # early stopping, not the upper bound, ends it


@pytest.mark.parametrize(("configured", "used"), [(None, 2), (-1, -1), (1, 1)])
def test_catboost_fits_on_a_fixed_thread_count_unless_told(configured, used):
    # docs/model-families.md ("Threads"): CatBoost's trees depend on its thread count, so the
    # shipped default is a count, not every core; the user's own value is kept.
    X, y = make_data("binary")
    settings = {"iterations": 20} | ({} if configured is None else {"thread_count": configured})
    model = TabularModel("catboost", "binary", FEATURES, settings=settings).fit(X, y)
    assert model.estimator_.get_params().get("thread_count", -1) == used  # -1: its default


@pytest.mark.parametrize(
    ("name", "task", "metric"),
    [
        ("catboost", "regression", "RMSE"),
        ("catboost", "multiclass", "MultiClass"),
        ("hist_gradient_boosting", "regression", "half_squared_error"),
        ("lightgbm", "regression", "rmse"),
        ("lightgbm", "multiclass", "multi_logloss"),
        ("lightgbm", "binary", "binary_logloss"),
    ],
)
def test_boosting_without_validation_records_the_training_curve(name, task, metric):
    X, y = make_data(task)
    model = make_model(name, task).fit(X, y)
    assert model.best_iteration_ is None
    assert model.n_iterations_ == 30
    assert model.learning_curve_["metric"] == metric
    assert len(model.learning_curve_["train"]) == 30
    assert model.learning_curve_["validation"] is None


@pytest.mark.parametrize("name", ["logistic_regression", "random_forest", "extra_trees", "dummy"])
def test_non_boosting_models_ignore_the_validation_part(name):
    X, y = make_data("binary")
    model = make_model(name, "binary").fit(X.iloc[:180], y[:180], X_val=X.iloc[180:], y_val=y[180:])
    assert not model.supports_early_stopping
    assert model.best_iteration_ is None
    assert model.learning_curve_ is None
    with pytest.raises(ValueError, match="no boosting rounds"):
        model.with_iterations(5)


@pytest.mark.parametrize("name", ["catboost", "hist_gradient_boosting", "lightgbm"])
def test_with_iterations_fixes_the_rounds(name):
    X, y = make_data("multiclass")
    # CatBoost's aliases of iterations are replaced, not added to.
    settings = {"n_estimators": 80, "thread_count": 2} if name == "catboost" else {"max_iter": 80}
    model = TabularModel(name, "multiclass", FEATURES, settings=settings).fit(X, y)
    assert model.n_iterations_ == 80
    refit = model.with_iterations(7)
    assert not hasattr(refit, "estimator_")  # an unfitted copy
    assert model.settings == settings  # the original is untouched
    refit.fit(X, y)
    assert refit.n_iterations_ == 7
    assert len(refit.learning_curve_["train"]) == 7
    # Even with a validation part, the fixed rounds cap early stopping.
    capped = model.with_iterations(3).fit(X.iloc[:180], y[:180], X_val=X.iloc[180:], y_val=y[180:])
    assert capped.best_iteration_ <= 3
    with pytest.raises(ValueError, match="at least 1"):
        model.with_iterations(0)


def test_hgb_model_after_early_stopping_matches_a_fixed_round_refit():
    X, y = make_data("binary", n=300, noise=2.0)
    model = make_model(
        "hist_gradient_boosting",
        "binary",
        settings={"max_iter": 200, "learning_rate": 0.3},
        early_stopping_rounds=5,
    )
    model.fit(X.iloc[:200], y[:200], X_val=X.iloc[200:], y_val=y[200:])
    fixed = model.with_iterations(model.best_iteration_).fit(X.iloc[:200], y[:200])
    assert np.array_equal(model.predict_proba(X), fixed.predict_proba(X))


# ----------------------------------------------------------------- scoring raw rows


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_unseen_categories_at_predict_time(name):
    X, y = make_data("binary")
    model = make_model(name, "binary").fit(X, y)
    new = X.head(5).copy()
    new["colour"] = ["purple", "red", None, "orange", "teal"]
    new["city"] = ["atlantis", "city01", "nowhere", None, "elsewhere"]
    proba = model.predict_proba(new)
    assert proba.shape == (5, 2)
    assert np.isfinite(proba).all()


@pytest.mark.parametrize(
    "name",
    ["catboost", "logistic_regression", "hist_gradient_boosting", "lightgbm", "extra_trees"],
)
def test_text_rows_from_a_csv_score_like_typed_rows(name):
    X, y = make_data("binary")
    model = make_model(name, "binary").fit(X, y)
    rows = X.head(20)
    raw = pd.DataFrame(
        {
            "id": [f"row{i}" for i in range(20)],  # extra columns are ignored
            "joined": rows["joined"].dt.strftime("%Y-%m-%d").astype(object),
            "x": [" " if np.isnan(v) else f" {v!r} " for v in rows["x"]],
            "member": rows["member"].map({True: "Yes", False: "no"}).astype(object),
            "city": rows["city"].astype(object),
            "colour": rows["colour"].astype(object),
        }
    )
    assert np.array_equal(model.predict_proba(raw), model.predict_proba(rows))


def test_feature_frame_orders_and_coerces_without_mutating():
    raw = pd.DataFrame(
        {
            "extra": [1, 2, 3],
            "joined": ["2024-01-31", "", "2024-02-01 10:30"],
            "member": [1, 0, np.nan],
            "colour": [" red ", "N/A", 7.0],
            "city": ["a", "b", None],
            "x": ["1,234.5", "-2", "null"],
        },
        index=[10, 11, 12],
    )
    before = raw.copy()
    frame = feature_frame(raw, FEATURES)
    pd.testing.assert_frame_equal(raw, before)
    assert list(frame.columns) == [f["name"] for f in FEATURES]
    assert list(frame.index) == [10, 11, 12]
    assert frame["x"].dtype == "float64"
    assert frame["x"].iloc[0] == 1234.5
    assert np.isnan(frame["x"].iloc[2])
    assert frame["member"].dtype == "boolean"
    assert frame["member"].tolist()[:2] == [True, False]
    assert frame["member"].isna().iloc[2]
    assert pd.api.types.is_datetime64_any_dtype(frame["joined"])
    assert frame["joined"].isna().tolist() == [False, True, False]
    assert frame["colour"].iloc[0] == "red"
    assert pd.isna(frame["colour"].iloc[1])
    assert frame["colour"].iloc[2] == "7"


def test_missing_feature_columns_are_named():
    X, y = make_data("binary")
    with pytest.raises(
        FoldwiseError, match=r"missing feature column\(s\) 'city', 'member' expected"
    ):
        feature_frame(X.drop(columns=["member", "city"]), FEATURES)
    model = make_model("dummy", "binary").fit(X, y)
    with pytest.raises(FoldwiseError, match=r"missing feature column\(s\) 'joined' expected"):
        model.predict(X.drop(columns=["joined"]))


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("x", ["1.5", "abc", "2"], r"column 'x': 1 value\(s\) are not numbers \(e\.g\. 'abc'\)"),
        ("member", ["yes", "maybe", "no"], r"column 'member': 1 value\(s\) are not booleans"),
        ("member", [0, 2, 1], r"column 'member': value 2\.0 is not a boolean"),
        ("joined", ["2024-01-01", "soon", ""], r"column 'joined': 1 value\(s\) are not dates"),
        ("joined", [1.0, 2.0, 3.0], r"column 'joined' has dtype float64"),
    ],
)
def test_values_that_cannot_be_converted_name_the_column(column, values, message):
    X, y = make_data("binary")
    model = make_model("logistic_regression", "binary").fit(X, y)
    bad = X.head(3).copy()
    bad[column] = values
    with pytest.raises(FoldwiseError, match=message):
        model.predict(bad)


# ----------------------------------------------------------------- settings


def test_unknown_catboost_setting_names_the_key():
    X, y = make_data("binary")
    model = make_model("catboost", "binary", settings={"depth": 4, "learning_rat": 0.1})
    with pytest.raises(FoldwiseError, match=r"model\.catboost\.learning_rat .*'learning_rate'"):
        model.fit(X, y)
    with pytest.raises(FoldwiseError, match=r"model\.catboost\.learning_rat"):
        build_model("catboost", task="binary", features=FEATURES, settings={"learning_rat": 1})


def test_classifier_only_catboost_setting_is_rejected_for_regression():
    with pytest.raises(FoldwiseError, match=r"model\.catboost\.auto_class_weights .*Regressor"):
        build_model(
            "catboost",
            task="regression",
            features=FEATURES,
            settings={"auto_class_weights": "Balanced"},
        )


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("random_forest", "n_trees"),
        ("logistic_regression", "alpha"),  # Ridge's, not LogisticRegression's
        ("hist_gradient_boosting", "iterations"),
        ("dummy", "constant_value"),
    ],
)
def test_unknown_sklearn_setting_names_the_key(name, key):
    with pytest.raises(FoldwiseError, match=rf"model\.{name}\.{key} is not a setting of"):
        build_model(name, task="binary", features=FEATURES, settings={key: 1})


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("catboost", "od_wait"),
        ("catboost", "cat_features"),
        ("hist_gradient_boosting", "early_stopping"),
        ("hist_gradient_boosting", "categorical_features"),
    ],
)
def test_settings_foldwise_controls_are_rejected(name, key):
    with pytest.raises(FoldwiseError, match=rf"model\.{name}\.{key} is set by foldwise"):
        build_model(name, task="binary", features=FEATURES, settings={key: 1})


def test_invalid_setting_values_name_the_key():
    X, y = make_data("binary")
    model = make_model("random_forest", "binary", settings={"n_estimators": 0})
    with pytest.raises(FoldwiseError, match=r"model\.random_forest\.n_estimators: .*range"):
        model.fit(X, y)
    catboost = make_model("catboost", "binary", settings={"depth": 99})
    with pytest.raises(FoldwiseError, match=r"CatBoost could not train .*model\.catboost"):
        catboost.fit(X, y)


def test_settings_override_defaults():
    X, y = make_data("binary")
    model = make_model("dummy", "binary", settings={"strategy": "most_frequent"}).fit(X, y)
    proba = model.predict_proba(X.head(3))
    assert set(np.unique(proba)) <= {0.0, 1.0}
    unknown = TabularModel("xgboost", "binary", FEATURES)
    with pytest.raises(FoldwiseError, match=r"model\.name 'xgboost' is not known"):
        unknown.fit(X, y)


def test_low_and_high_cardinality_categoricals_are_encoded_differently():
    X, y = make_data("multiclass")
    model = make_model("logistic_regression", "multiclass").fit(X, y)
    transformers = {
        label: columns
        for label, _, columns in model.estimator_.named_steps["preprocess"].transformers_
    }
    assert transformers["one_hot"] == ["colour"]
    assert transformers["target_encoded"] == ["city"]
    wide = make_model("logistic_regression", "multiclass", max_onehot_categories=50).fit(X, y)
    labels = [label for label, _, _ in wide.estimator_.named_steps["preprocess"].transformers_]
    assert "target_encoded" not in labels


# ----------------------------------------------------------------- classes


def test_class_missing_from_training_rows_gets_a_zero_column():
    X, y = make_data("multiclass")
    keep = y != 1
    model = make_model("logistic_regression", "multiclass", n_classes=3).fit(X[keep], y[keep])
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert np.all(proba[:, 1] == 0.0)
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_single_class_training_rows_are_an_error():
    X, _ = make_data("binary")
    with pytest.raises(FoldwiseError, match="single class"):
        make_model("logistic_regression", "binary").fit(X, np.ones(len(X), dtype="int64"))


# ----------------------------------------------------------------- seeds


@pytest.mark.parametrize(
    "name", ["catboost", "random_forest", "hist_gradient_boosting", "lightgbm", "extra_trees"]
)
def test_seed_makes_fits_reproducible(name):
    X, y = make_data("regression")
    settings = {"max_features": 0.5} if name == "hist_gradient_boosting" else {}
    if name == "catboost":
        settings = {"rsm": 0.5, "subsample": 0.7, "bootstrap_type": "Bernoulli"}
    if name == "lightgbm":
        settings = {"subsample": 0.7, "subsample_freq": 1, "colsample_bytree": 0.5}
    first = make_model(name, "regression", seed=3, settings=settings).fit(X, y)
    again = clone(first).fit(X, y)
    other = make_model(name, "regression", seed=4, settings=settings).fit(X, y)
    assert np.array_equal(first.predict(X), again.predict(X))
    assert not np.array_equal(first.predict(X), other.predict(X))


# ----------------------------------------------------------------- persistence


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_and_load_give_identical_predictions(name, tmp_path):
    X, y = make_data("multiclass")
    model = make_model(name, "multiclass")
    if model.supports_early_stopping:
        model.fit(X.iloc[:180], y[:180], X_val=X.iloc[180:], y_val=y[180:])
    else:
        model.fit(X, y)
    model.save(tmp_path / "model")
    loaded = TabularModel.load(tmp_path / "model")
    assert loaded.get_params() == model.get_params()
    assert loaded.best_iteration_ == model.best_iteration_
    # The learning curve is written with 6 significant digits, like every report.
    assert loaded.learning_curve_ == rounded(model.learning_curve_)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    native = {"catboost": "model.cbm", "lightgbm": "lightgbm_model.txt"}
    expected_file = native.get(name, "pipeline.skops")
    assert (tmp_path / "model" / expected_file).is_file()


def test_loading_a_non_model_directory_is_an_error(tmp_path):
    with pytest.raises(FoldwiseError, match="not a saved foldwise model"):
        TabularModel.load(tmp_path)


def test_a_fresh_process_gives_bit_identical_predictions(tmp_path):
    X, y = make_data("binary")
    X.to_parquet(tmp_path / "rows.parquet")
    expected = {}
    for name in ("catboost", "hist_gradient_boosting", "logistic_regression", "lightgbm"):
        model = make_model(name, "binary").fit(X, y)
        model.save(tmp_path / name)
        expected[name] = model.predict_proba(X)
    script = textwrap.dedent(
        f"""
        import numpy as np, pandas as pd
        from pathlib import Path
        from foldwise.models import TabularModel
        root = Path({str(tmp_path)!r})
        rows = pd.read_parquet(root / "rows.parquet")
        for name in {list(expected)!r}:
            np.save(root / f"{{name}}.npy", TabularModel.load(root / name).predict_proba(rows))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    for name, proba in expected.items():
        assert np.array_equal(np.load(tmp_path / f"{name}.npy"), proba), name


def test_catboost_file_is_byte_identical_across_fits(tmp_path):
    """Same data, params and seed: the same bytes, so DVC sees an unchanged bundle."""
    features = [
        {"name": "a", "kind": "numeric"},
        {"name": "c", "kind": "categorical", "n_categories": 3},
    ]
    X = pd.DataFrame(
        {
            "a": np.random.default_rng(0).random(120),
            "c": pd.Series(list("xyz" * 40), dtype="str"),
        }
    )
    y = (X["a"] > 0.5).astype("int64").to_numpy()
    blobs = []
    for i in range(2):
        model = build_model(
            "catboost",
            task="binary",
            features=features,
            settings={"iterations": 20, "thread_count": 1},
            seed=3,
        ).fit(X, y)
        model.save(tmp_path / str(i))
        blobs.append((tmp_path / str(i) / "model.cbm").read_bytes())
    assert blobs[0] == blobs[1]


# ----------------------------------------------------------------- LightGBM and extra trees


def _categorical_signal(n: int = 1500, seed: int = 0):
    """A binary target driven by a 12-level category (three levels say yes) and a number."""
    rng = np.random.default_rng(seed)
    levels = np.array([f"level{i:02d}" for i in range(12)], dtype=object)
    colour = levels[rng.integers(0, 12, size=n)]
    x = rng.normal(size=n)
    x[rng.random(n) < 0.2] = np.nan
    yes = np.isin(colour, ["level03", "level07", "level10"])
    y = ((yes.astype(float) + 0.3 * np.nan_to_num(x) + rng.normal(0, 0.3, n)) > 0.5).astype(int)
    frame = pd.DataFrame({"x": x, "colour": pd.Series(colour, dtype="str")})
    features = [
        {"name": "x", "kind": "numeric"},
        {"name": "colour", "kind": "categorical", "n_categories": 12},
    ]
    return frame, y.astype("int64"), features


def test_lightgbm_splits_categories_natively_and_learns_missing_values():
    X, y, features = _categorical_signal()
    model = TabularModel("lightgbm", "binary", features, settings={"n_estimators": 40}).fit(X, y)
    trees = model.estimator_.booster.dump_model()["tree_info"]

    def decisions(node):
        if "split_feature" not in node:
            return []
        here = [(node["split_feature"], node["decision_type"], node["missing_type"])]
        return here + decisions(node["left_child"]) + decisions(node["right_child"])

    splits = [d for tree in trees for d in decisions(tree["tree_structure"])]
    # The category is split by level groups ("=="), never by an order of codes.
    assert {kind for feature, kind, _ in splits if feature == 1} == {"=="}
    # Numbers keep their missing values: the splits on x learnt where NaN goes.
    assert any(missing == "NaN" for feature, _, missing in splits if feature == 0)
    proba = model.predict_proba(X)[:, 1]
    yes = X["colour"].isin(["level03", "level07", "level10"]).to_numpy()
    assert proba[yes].mean() > 0.7
    assert proba[~yes].mean() < 0.3


def test_lightgbm_unseen_and_missing_categories_take_the_other_side():
    X, y, features = _categorical_signal()
    X.loc[X.index[::20], "colour"] = None  # missing cells in training: their own level
    model = TabularModel("lightgbm", "binary", features, settings={"n_estimators": 40}).fit(X, y)
    rows = pd.DataFrame({"x": [0.0, 0.0, 0.0], "colour": ["level03", "never-seen", None]})
    proba = model.predict_proba(rows)[:, 1]
    assert proba[0] > 0.7  # a level that says yes
    assert proba[1] < 0.5  # unseen: the "other levels" side
    assert np.isfinite(proba).all()
    codes = model.estimator_.codes.matrix(model.model_input(rows))[:, 1]
    assert np.isnan(codes[1])  # unseen: no code
    assert codes[0] >= 0
    assert codes[2] >= 0  # missing is a level of its own


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("name", ["lightgbm", "extra_trees"])
def test_new_families_save_and_load_bit_identical_for_every_task(name, task, tmp_path):
    X, y = make_data(task)
    model = make_model(name, task)
    if model.supports_early_stopping:
        model.fit(X.iloc[:180], y[:180], X_val=X.iloc[180:], y_val=y[180:])
        assert model.n_iterations_ == model.best_iteration_
    else:
        model.fit(X, y)
    model.save(tmp_path / "model")
    loaded = TabularModel.load(tmp_path / "model")
    assert np.array_equal(scores(loaded, X), scores(model, X))
    assert loaded.n_iterations_ == model.n_iterations_
    files = {p.name for p in (tmp_path / "model").iterdir()}
    expected = {"lightgbm_model.txt", "lightgbm_categories.json"} if name == "lightgbm" else set()
    assert files == {"model.json", *(expected or {"pipeline.skops"})}


def test_lightgbm_file_is_byte_identical_across_fits(tmp_path):
    X, y = make_data("multiclass")
    blobs = []
    for i in range(2):
        model = make_model("lightgbm", "multiclass", seed=5).fit(X, y)
        model.save(tmp_path / str(i))
        blobs.append((tmp_path / str(i) / "lightgbm_model.txt").read_bytes())
    assert blobs[0] == blobs[1]
    state = (tmp_path / "0" / "model.json").read_text()
    assert '"lightgbm": "' in state  # the library version is recorded beside the model


def test_lightgbm_early_stopped_model_matches_a_fixed_round_refit():
    X, y = make_data("binary", n=300, noise=2.0)
    settings = {"n_estimators": 200, "learning_rate": 0.3}
    model = make_model("lightgbm", "binary", settings=settings, early_stopping_rounds=5)
    model.fit(X.iloc[:200], y[:200], X_val=X.iloc[200:], y_val=y[200:])
    assert model.best_iteration_ < 200
    fixed = model.with_iterations(model.best_iteration_).fit(X.iloc[:200], y[:200])
    assert np.array_equal(model.predict_proba(X), fixed.predict_proba(X))


def test_lightgbm_class_missing_from_training_rows_keeps_every_column():
    X, y = make_data("multiclass")
    keep = y != 2
    model = make_model("lightgbm", "multiclass", n_classes=3).fit(X[keep], y[keep])
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert proba[:, 2].max() < 0.05  # never seen, so never likely


def test_extra_trees_use_the_forests_encoding_and_predict_on_one_thread():
    X, y = make_data("multiclass")
    model = make_model("extra_trees", "multiclass").fit(X, y)
    steps = model.estimator_.named_steps
    labels = [label for label, _, _ in steps["preprocess"].transformers_]
    assert labels == ["numeric", "one_hot", "target_encoded"]
    assert type(steps["model"]).__name__ == "ExtraTreesClassifier"
    assert steps["model"].n_jobs == 1
    assert not steps["model"].bootstrap


@pytest.mark.parametrize(
    ("name", "settings", "message"),
    [
        ("lightgbm", {"learning_rat": 0.1}, r"model\.lightgbm\.learning_rat .*'learning_rate'"),
        ("lightgbm", {"num_leave": 8}, r"model\.lightgbm\.num_leave .*'num_leaves'"),
        ("lightgbm", {"early_stopping_round": 5}, r"model\.lightgbm\.early_stopping_round is set"),
        ("lightgbm", {"n_iter_no_change": 5}, r"model\.lightgbm\.n_iter_no_change is set"),
        ("lightgbm", {"categorical_feature": "0"}, r"model\.lightgbm\.categorical_feature is set"),
        ("lightgbm", {"num_class": 3}, r"model\.lightgbm\.num_class is set by foldwise"),
        (
            "lightgbm",
            {"min_data_in_leaf": 5, "min_child_samples": 3},
            r"model\.lightgbm\.min_data_in_leaf and model\.lightgbm\.min_child_samples both",
        ),
        ("extra_trees", {"n_estimator": 5}, r"model\.extra_trees\.n_estimator .*'n_estimators'"),
    ],
)
def test_new_family_settings_errors_name_the_key(name, settings, message):
    with pytest.raises(FoldwiseError, match=message):
        build_model(name, task="binary", features=FEATURES, settings=settings)


@pytest.mark.parametrize(
    ("name", "settings", "message"),
    [
        ("lightgbm", {"num_leaves": 1}, r"model\.lightgbm\.num_leaves: LightGBM refuses"),
        ("lightgbm", {"learning_rate": "fast"}, r"model\.lightgbm\.learning_rate: LightGBM"),
        ("extra_trees", {"n_estimators": 0}, r"model\.extra_trees\.n_estimators: .*range"),
    ],
)
def test_new_family_bad_values_name_the_key(name, settings, message):
    X, y = make_data("binary")
    with pytest.raises(FoldwiseError, match=message):
        make_model(name, "binary", settings=settings).fit(X, y)
    backend = TabularModel(name, "binary", FEATURES).backend
    with pytest.raises(FoldwiseError, match=message):
        backend.check_values("binary", settings)  # what params.yaml validation runs, no fit


def test_the_registry_knows_exactly_the_models_params_yaml_accepts():
    """``model.name`` is validated against the config's ``ModelName``; the registry builds by
    ``MODEL_NAMES``. The two lists are kept apart so that model-only processes need not import
    the config, so this keeps them equal (same names, same order: the docs list them so)."""
    from typing import get_args

    from foldwise.config.model_sections import ModelName
    from foldwise.models import backend_for

    assert list(MODEL_NAMES) == list(get_args(ModelName))
    assert all(backend_for(name).name == name for name in MODEL_NAMES)
