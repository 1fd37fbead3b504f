"""The production gate: input contract, edge cases, budgets, integrity, ONNX parity."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from foldwise.bundle import Bundle
from foldwise.errors import FoldwiseError
from foldwise.models import TabularModel
from foldwise.problem import Problem
from foldwise.production.edge_cases import run_edge_cases
from foldwise.production.export import export_onnx
from foldwise.production.measure import check_budgets, measure_in_fresh_process
from foldwise.profile.contract import input_schema, unusual_inputs

FEATURES = [
    {"name": "a", "kind": "numeric"},
    {"name": "b", "kind": "numeric"},
    {"name": "flag", "kind": "boolean"},
    {"name": "day", "kind": "datetime"},
    {"name": "c", "kind": "categorical", "n_categories": 3},
]
SETTINGS = {
    "catboost": {"iterations": 40, "thread_count": 1},
    "logistic_regression": {},
    "random_forest": {"n_estimators": 20},
}


@pytest.fixture(autouse=True)
def one_thread():
    with threadpool_limits(1):
        yield


def make_rows(n: int = 600, seed: int = 0, missing: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame(
        {
            "id": [f"R{i}" for i in range(n)],
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "flag": rng.random(n) < 0.5,
            "day": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
            "c": pd.Series(rng.choice(["x", "y", "z"], n), dtype="str"),
        }
    )
    if missing:
        rows.loc[::11, "a"] = np.nan
    signal = rows["a"].fillna(0) + rows["b"] + (rows["c"] == "x") + rng.normal(0, 0.5, n)
    return rows, (signal > 0.5).astype("int64").to_numpy()


def make_bundle(
    tmp: Path,
    name: str = "catboost",
    features: list[dict] | None = None,
    n: int = 600,
    missing: bool = True,
) -> Path:
    features = features or FEATURES
    rows, y = make_rows(n, missing=missing)
    model = TabularModel(name, "binary", features, settings=SETTINGS[name], seed=0).fit(rows, y)
    problem = Problem.from_dict(
        {
            "task": "binary",
            "target": "label",
            "classes": ["no", "yes"],
            "positive_label": "yes",
            "metric": {"name": "roc_auc"},
        }
    )
    bundle = Bundle(
        model=model,
        problem=problem,
        features=features,
        threshold=0.5,
        input_schema=input_schema(rows, features, "test row"),
    )
    bundle.save(tmp / "bundle")
    return tmp / "bundle"


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("bundle"))


# ----------------------------------------------------------------- contract and edge cases


def test_input_schema_is_json_schema_with_training_facts(bundle_dir):
    schema = json.loads((bundle_dir / "input_schema.json").read_text())
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["required"] == ["a", "b", "flag", "day", "c"]
    assert sorted(schema["properties"]["c"]["x-foldwise-categories"]) == ["x", "y", "z"]
    assert schema["properties"]["a"]["x-foldwise-missing-in-training"] is True
    assert schema["properties"]["b"]["x-foldwise-missing-in-training"] is False
    low, high = schema["properties"]["b"]["x-foldwise-range"]
    assert low < 0 < high
    jsonschema = pytest.importorskip("jsonschema")
    record = {"a": 1.0, "b": None, "flag": True, "day": "2023-02-01", "c": "x"}
    jsonschema.validate(record, schema)


def test_unusual_inputs_name_what_was_unusual(bundle_dir):
    bundle = Bundle.load(bundle_dir)
    rows, _ = make_rows(5)
    assert unusual_inputs(bundle.input_schema, rows.drop(columns=["id"]), bundle.features) == []
    rows = rows.astype({"c": object, "b": object})
    rows.loc[0, "c"] = "purple"
    rows.loc[1, "b"] = 1e9
    rows.loc[2, "b"] = None
    notes = unusual_inputs(bundle.input_schema, rows, bundle.features)
    text = "\n".join(notes)
    assert "extra column(s) ignored: 'id'" in text
    assert "c: 1 value(s) of categories unseen in training (e.g. 'purple')" in text
    assert "b: 1 value(s) outside the training range" in text
    assert "b: 1 missing value(s); training had none" in text


def test_every_edge_case_holds_its_documented_behaviour(bundle_dir):
    bundle = Bundle.load(bundle_dir)
    rows, _ = make_rows(200, seed=1)
    cases = {case["name"]: case for case in run_edge_cases(bundle, rows, large_rows=5000)}
    assert set(cases) == {
        "missing column",
        "extra column",
        "unseen category",
        "all features missing",
        "far out of range",
        "text in a numeric column",
        "empty batch",
        "one row",
        "large batch",
    }
    for case in cases.values():
        assert case["passed"], case
    assert cases["missing column"]["expected"] == "refuse"
    assert "'a'" in cases["missing column"]["detail"]
    assert "column 'a'" in cases["text in a numeric column"]["detail"]
    assert "c: 1 value(s) of categories unseen" in cases["unseen category"]["detail"]


# ----------------------------------------------------------------- budgets


def test_budgets_fail_naming_the_budget_and_the_measured_figure(bundle_dir, tmp_path):
    rows, _ = make_rows(300, seed=2)
    rows.to_parquet(tmp_path / "rows.parquet")
    figures = measure_in_fresh_process(bundle_dir, tmp_path / "rows.parquet", calls=30)
    assert figures["latency_p99_ms"] > 0
    assert figures["rows_per_s"] > 0
    assert figures["peak_memory_mb"] > 10
    assert figures["model_mb"] > 0
    generous = {
        "max_latency_ms": 10_000.0,
        "min_rows_per_s": 1.0,
        "max_model_mb": 1000.0,
        "max_memory_mb": 100_000.0,
    }
    assert all(check["met"] for check in check_budgets(figures, generous))
    strict = {**generous, "max_latency_ms": 0.001}
    failed = [check for check in check_budgets(figures, strict) if not check["met"]]
    assert [check["budget"] for check in failed] == ["production.max_latency_ms"]
    assert failed[0]["message"].startswith(
        f"production.max_latency_ms: measured {figures['latency_p99_ms']:.4g} ms"
    )
    assert failed[0]["message"].endswith("budget at most 0.001")


# ----------------------------------------------------------------- integrity


def copy_bundle(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


@pytest.mark.parametrize(
    ("name", "edit"),
    [
        ("model/model.cbm", lambda p: p.write_bytes(p.read_bytes()[:-100])),
        (
            "model/model.cbm",
            lambda p: p.write_bytes(p.read_bytes()[:50] + b"X" + p.read_bytes()[51:]),
        ),
        ("model/model.json", lambda p: p.write_text(p.read_text().replace("42", "43") + " ")),
        ("input_schema.json", lambda p: p.write_text(p.read_text() + "\n")),
    ],
)
def test_a_changed_bundle_file_is_refused_naming_it(bundle_dir, tmp_path, name, edit):
    bundle = copy_bundle(bundle_dir, tmp_path / "b")
    edit(bundle / name)
    with pytest.raises(FoldwiseError, match=rf"{name}: changed after the bundle was written"):
        Bundle.load(bundle)


def test_an_edited_or_truncated_manifest_is_refused(bundle_dir, tmp_path):
    bundle = copy_bundle(bundle_dir, tmp_path / "b")
    manifest = bundle / "bundle.json"
    payload = json.loads(manifest.read_text())
    payload["threshold"] = 0.01
    manifest.write_text(json.dumps(payload))
    with pytest.raises(FoldwiseError, match=r"bundle.json: content changed"):
        Bundle.load(bundle)
    manifest.write_text(manifest.read_text()[:40])
    with pytest.raises(FoldwiseError, match=r"bundle.json: not valid JSON"):
        Bundle.load(bundle)


def test_added_and_removed_files_are_refused_and_unknown_listed_files_kept(bundle_dir, tmp_path):
    bundle = copy_bundle(bundle_dir, tmp_path / "b")
    (bundle / "model" / "extra.bin").write_bytes(b"planted")
    with pytest.raises(FoldwiseError, match=r"model/extra.bin: not listed in bundle.json"):
        Bundle.load(bundle)
    (bundle / "model" / "extra.bin").unlink()
    (bundle / "input_schema.json").unlink()
    with pytest.raises(
        FoldwiseError, match=r"input_schema.json: listed in bundle.json but missing"
    ):
        Bundle.load(bundle)


class Planted:
    """A pickle payload that writes a marker file when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_a_planted_pickle_never_runs(tmp_path):
    bundle = make_bundle(tmp_path, name="logistic_regression")
    assert (bundle / "model" / "pipeline.skops").is_file()
    assert not list(bundle.rglob("*.joblib"))
    assert not list(bundle.rglob("*.pkl"))
    marker = tmp_path / "marker"
    payload = pickle.dumps(Planted(marker))
    # 1. the skops file replaced by a pickle: refused by its hash, before any reading
    (bundle / "model" / "pipeline.skops").write_bytes(payload)
    with pytest.raises(FoldwiseError, match=r"pipeline.skops: changed after"):
        Bundle.load(bundle)
    # 2. the manifest re-sealed to match: skops refuses a file that is not its format
    from foldwise.integrity import folder_hashes, seal_manifest

    manifest = json.loads((bundle / "bundle.json").read_text())
    manifest["files"] = folder_hashes(bundle, "bundle.json")
    (bundle / "bundle.json").write_text(json.dumps(seal_manifest(manifest)))
    with pytest.raises(FoldwiseError, match=r"pipeline.skops: not a skops model file"):
        Bundle.load(bundle)
    # 3. an old-style joblib file next to model.json: never loaded
    (bundle / "model" / "pipeline.skops").unlink()
    (bundle / "model" / "pipeline.joblib").write_bytes(payload)
    with pytest.raises(FoldwiseError, match=r"pipeline.joblib: pickled models are never loaded"):
        TabularModel.load(bundle / "model")
    assert not marker.exists()
    pickle.loads(payload)  # the payload is real: unpickling it does write the marker
    assert marker.read_text() == "pwned"


def test_skops_refuses_untrusted_types(tmp_path):
    import skops.io as sio

    from foldwise.production.safe_io import load_pipeline

    path = tmp_path / "evil.skops"
    path.write_bytes(sio.dumps({"f": Planted}))
    with pytest.raises(FoldwiseError, match="untrusted type"):
        load_pipeline(path)


# ----------------------------------------------------------------- ONNX


NUMERIC_FEATURES = [f for f in FEATURES if f["kind"] != "categorical"]


@pytest.mark.parametrize(
    ("name", "features", "missing"),
    [("catboost", NUMERIC_FEATURES, True), ("logistic_regression", FEATURES, False)],
)
def test_onnx_export_matches_the_bundle_on_raw_rows(tmp_path, name, features, missing):
    """skl2onnx cannot convert the missing-value indicators a column with gaps gets, so the
    scikit-learn case trains on complete columns; CatBoost handles gaps itself."""
    pytest.importorskip("onnxruntime")
    bundle = Bundle.load(make_bundle(tmp_path, name=name, features=features, missing=missing))
    rows, _ = make_rows(3000, seed=5, missing=missing)
    result = export_onnx(bundle, rows, tmp_path / "model.onnx")
    assert result["exported"], result
    assert result["parity_rows"] == 3000
    assert result["max_abs_diff"] <= 1e-5
    assert (tmp_path / "model.onnx").is_file()


def test_catboost_with_categories_says_why_it_is_not_exported(bundle_dir, tmp_path):
    result = export_onnx(Bundle.load(bundle_dir), make_rows(50)[0], tmp_path / "model.onnx")
    assert not result["exported"]
    assert "categorical features (c)" in result["reason"]
    assert "model.cbm stays the deployable artifact" in result["reason"]
    assert not (tmp_path / "model.onnx").exists()


def test_a_scikit_learn_model_onnx_cannot_express_says_why(tmp_path):
    pytest.importorskip("onnxruntime")
    bundle = Bundle.load(make_bundle(tmp_path, name="logistic_regression"))
    result = export_onnx(bundle, make_rows(100)[0], tmp_path / "model.onnx")
    assert not result["exported"]
    assert result["reason"].startswith("logistic_regression cannot be converted")


# ----------------------------------------------------------------- model card


def test_the_card_says_what_is_missing_and_reads_what_is_there(bundle_dir, tmp_path):
    from foldwise.paths import ProjectPaths
    from foldwise.production.card import render_card

    paths = ProjectPaths(tmp_path)
    bundle = Bundle.load(bundle_dir)
    card = render_card(paths, bundle)
    assert f"- bundle: `sha256:{bundle.sha256[:12]}`, its name in the prediction log" in card
    assert "Sealed test set: not scored yet" in card
    assert "Not available (no `reports/explain/importance.json`)" in card
    assert "Not validated (the validate stage has not run)" in card
    explain = paths.report_dir("explain")
    explain.mkdir(parents=True)
    (explain / "importance.json").write_text(
        json.dumps({"top_features": [{"feature": "b", "importance": 0.5}]})
    )
    evaluate = paths.report_dir("evaluate")
    evaluate.mkdir(parents=True)
    (evaluate / "metrics.json").write_text(
        json.dumps(
            {
                "rows": 120,
                "primary_metric": {
                    "name": "roc_auc",
                    "value": 0.81,
                    "ci95_low": 0.75,
                    "ci95_high": 0.86,
                },
            }
        )
    )
    card = render_card(paths, bundle)
    assert "- `b`: 0.5" in card
    assert "**Sealed test set** (one look, 120 rows): roc_auc 0.8100" in card
    assert "a row is predicted positive when its probability is at least 0.500" in card
