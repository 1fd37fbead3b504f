"""A bundle whose model is an ensemble: one folder, hashed member files, no pickle, scoring."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from foldwise.bundle import MANIFEST, MODEL_DIR, Bundle
from foldwise.errors import FoldwiseError
from foldwise.models import feature_frame
from foldwise.models.ensemble import ENSEMBLE_FILE, EnsembleModel
from tests.support.ensemble import WEIGHTS, train_ensemble_bundle
from tests.support.serve import FEATURES


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """One saved ensemble bundle per task (fitted once for the module)."""
    out = {}
    for task in ("binary", "multiclass", "regression"):
        folder = tmp_path_factory.mktemp(task) / "bundle"
        out[task] = (*train_ensemble_bundle(task, folder), folder)
    return out


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_ensemble_bundle_round_trips_and_scores_raw_rows(task, bundles):
    bundle, table, _ = bundles[task]
    assert isinstance(bundle.model, EnsembleModel)
    assert [m.name for m in bundle.model.members] == [
        "catboost",
        "random_forest",
        "logistic_regression",
    ]
    assert [m.weight for m in bundle.model.members] == list(WEIGHTS)
    X = feature_frame(table, FEATURES)
    typed = bundle.model.predict(X) if task == "regression" else bundle.model.predict_proba(X)
    raw = table.drop(columns=["label"])
    # Raw rows (text numbers, yes/no) through the bundle equal the typed frame through the model.
    np.testing.assert_allclose(bundle.predict_scores(raw), typed, rtol=0, atol=1e-12)
    records = raw.head(5).to_dict(orient="records")
    np.testing.assert_allclose(bundle.predict_scores(records), typed[:5], rtol=0, atol=1e-12)
    frame = bundle.predict(raw.head(5))
    assert list(frame["prediction"]) == [r["prediction"] for r in bundle.predict_records(records)]
    if task != "regression":
        assert [c for c in frame.columns if c.startswith("proba_")] == [
            f"proba_{c}" for c in bundle.problem.classes
        ]
        np.testing.assert_allclose(frame.filter(like="proba_").sum(axis=1), 1.0, atol=1e-9)


def test_every_member_file_is_hashed_and_nothing_is_pickled(bundles):
    bundle, _, folder = bundles["binary"]
    files = json.loads((folder / MANIFEST).read_text())["files"]
    assert f"{MODEL_DIR}/{ENSEMBLE_FILE}" in files
    assert f"{MODEL_DIR}/members/00_catboost/model.cbm" in files
    assert f"{MODEL_DIR}/members/01_random_forest/pipeline.skops" in files
    assert f"{MODEL_DIR}/members/02_logistic_regression/pipeline.skops" in files
    suffixes = {p.suffix for p in folder.rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".cbm", ".skops"}
    assert bundle.name().startswith("sha256:")
    assert bundle.name("model@v1.0.0").startswith("model@v1.0.0 (sha256:")
    assert Bundle.load(folder).sha256 == bundle.sha256


@pytest.mark.parametrize(
    "target", ["model/ensemble.json", "model/members/01_random_forest/pipeline.skops"]
)
def test_a_changed_member_file_is_refused_before_loading(bundles, tmp_path, target):
    shutil.copytree(bundles["binary"][2], tmp_path / "bundle")
    path = tmp_path / "bundle" / target
    path.write_bytes(path.read_bytes() + b" ")
    with pytest.raises(
        FoldwiseError, match=rf"{re.escape(target)}: changed after the bundle was written"
    ):
        Bundle.load(tmp_path / "bundle")


def test_a_pickle_added_to_a_member_is_refused(bundles, tmp_path):
    shutil.copytree(bundles["regression"][2], tmp_path / "bundle")
    extra = tmp_path / "bundle" / "model" / "members" / "00_catboost" / "pipeline.joblib"
    extra.write_bytes(b"not loaded")
    with pytest.raises(FoldwiseError, match=r"pipeline\.joblib: not listed in bundle\.json"):
        Bundle.load(tmp_path / "bundle")


def test_bad_raw_rows_name_the_column_as_for_one_model(bundles):
    bundle, table, _ = bundles["binary"]
    rows = table.drop(columns=["label"]).head(3).astype({"x2": object})
    rows.loc[1, "x2"] = "abc"
    with pytest.raises(FoldwiseError, match=r"column 'x2'.*not numbers"):
        bundle.predict(rows)
    with pytest.raises(FoldwiseError, match=r"missing feature column.*'day'"):
        bundle.predict(rows.drop(columns=["day"]))


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_foldwise_predict_scores_a_file_with_an_ensemble_bundle(bundles, tmp_path, task):
    from foldwise.data import read_table
    from tests.production.test_predict import assert_same, expected, run_cli

    _, table, folder = bundles[task]
    source = tmp_path / "rows.csv"
    table.to_csv(source, index=False)
    out = tmp_path / "out.parquet"
    assert run_cli("predict", source, "-o", out, "--model", folder, "--chunk-rows", 70) == 0
    assert_same(out, expected(folder, read_table(source)))


def test_a_missing_member_file_is_named_by_predict_and_evaluate(bundles, tmp_path, capsys):
    from foldwise.bundle import load_bundle_checked
    from tests.production.test_predict import run_cli

    _, table, folder = bundles["multiclass"]
    shutil.copytree(folder, tmp_path / "bundle")
    member = tmp_path / "bundle" / "model" / "members" / "02_logistic_regression"
    (member / "pipeline.skops").unlink()
    with pytest.raises(FoldwiseError, match=r"02_logistic_regression/pipeline\.skops"):
        load_bundle_checked(tmp_path / "bundle")
    table.to_csv(tmp_path / "rows.csv", index=False)
    code = run_cli("predict", tmp_path / "rows.csv", "-o", tmp_path / "out.csv", "--model",
                   tmp_path / "bundle")  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "02_logistic_regression/pipeline.skops" in err
    assert "\n" not in err
