"""``foldwise serve`` with an ensemble bundle: a real uvicorn server on a loopback port."""

from __future__ import annotations

import numpy as np
import pytest

from tests.serve.test_serve import read_log, rows_of, serve  # noqa: F401 (the server fixture)
from tests.support.ensemble import train_ensemble_bundle
from tests.support.serve import train_bundle


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundles")
    out = {
        task: train_ensemble_bundle(task, root / task)
        for task in ("binary", "multiclass", "regression")
    }
    out["single"] = train_bundle("binary", root / "single")
    return root, out


@pytest.mark.slow
# The HTTP layer differs by output shape only (probabilities or a value); every task's scores
# equal EnsembleModel's in process in tests/core/test_bundle_ensemble.py.
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_predict_with_an_ensemble_bundle_equals_in_process(bundles, serve, tmp_path, task):  # noqa: F811
    root, made = bundles
    bundle, table = made[task]
    server = serve("--model", str(root / task), "--log-dir", str(tmp_path / "log"))
    answer = server.client.post("/predict", json={"rows": rows_of(table, 25)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = bundle.predict(table.head(25))
    got = body["predictions"]
    assert body["model_version"] == bundle.name()  # named by content hash, as one model is
    assert server.client.get("/health").json()["model_version"] == bundle.name()
    if task == "regression":
        np.testing.assert_array_equal([p["prediction"] for p in got], expected["prediction"])
    else:
        assert [p["prediction"] for p in got] == expected["prediction"].tolist()
        classes = bundle.problem.classes
        proba = np.array([[p["probabilities"][str(c)] for c in classes] for p in got])
        np.testing.assert_array_equal(proba, expected[[f"proba_{c}" for c in classes]])
    bad = rows_of(table, 2)
    bad[1]["x1"] = "twelve"
    refused = server.client.post("/predict", json={"rows": bad})
    assert refused.status_code == 422
    assert "x1" in refused.text
    server.stop()
    logged = read_log(tmp_path / "log").sort_values("row")
    assert (logged["model_version"] == bundle.name()).all()
    assert logged["id"].tolist() == table["row_id"].head(25).tolist()


@pytest.mark.slow
def test_an_ensemble_shadows_a_single_model(bundles, serve, tmp_path):  # noqa: F811
    root, made = bundles
    primary, table = made["single"]
    shadow, _ = made["binary"]
    log = tmp_path / "log"
    server = serve(
        "--model", str(root / "single"), "--shadow", str(root / "binary"), "--log-dir", str(log)
    )
    answer = server.client.post("/predict", json={"rows": rows_of(table, 30)})
    assert answer.status_code == 200
    server.stop()
    logged = read_log(log).set_index("id").loc[table["row_id"].head(30)]
    assert (logged["model_version"] == primary.name()).all()
    assert (logged["shadow_model_version"] == shadow.name()).all()
    np.testing.assert_array_equal(
        logged["shadow_value"], shadow.predict(table.head(30))["proba_Yes"]
    )
