"""foldwise monitor with an ensemble bundle: drift weighted by the ensemble's importances."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from foldwise.bundle import Bundle
from foldwise.cli import main
from foldwise.config import parse_config
from foldwise.evaluation import cv_summary
from foldwise.metrics import score
from foldwise.models.ensemble import EnsembleModel
from foldwise.monitor.run import monitor
from foldwise.monitor.simulate import Scenario, write_simulation
from foldwise.prepare import prepare_tables
from foldwise.profile.reference import build_reference, importances_of
from foldwise.training.crossval import predict_scores
from foldwise.training.data import folds_for, training_data
from tests.monitor.support import PARAMS
from tests.support.ensemble import fit_ensemble

SCENARIO = Scenario(
    months=4, rows_per_month=1200, train_rows=3000, shift_month=3, concept_month=None, seed=3
)


def train_ensemble_churn_bundle(root: Path, table: Path) -> Path:
    """The churn bundle of ``monitor_support``, with an ensemble as the model."""
    (root / "data" / "raw").mkdir(parents=True, exist_ok=True)
    shutil.copy(table, root / "data" / "raw" / "churn.csv")
    config = parse_config(PARAMS)
    prepared = prepare_tables(config, root)
    data = training_data(prepared.train, prepared.schema)
    problem, task = data.problem, data.problem.task
    oof = np.full((len(data.y), 2), np.nan)
    fold_scores = []
    for train, held in folds_for(data, config):
        model = fit_ensemble(task, data.X.iloc[train], data.y[train], data.features)
        oof[held] = predict_scores(model, data.X.iloc[held], task)
        fold_scores.append({problem.metric: score(problem.metric, data.y[held], oof[held])})
    final = fit_ensemble(task, data.X, data.y, data.features)
    bundle = Bundle(
        model=final,
        problem=problem,
        features=data.features,
        threshold=0.3,
        metadata={"model_name": "ensemble", "train_sha256": prepared.schema["train_sha256"]},
        reference=build_reference(
            data.X,
            data.features,
            task=task,
            classes=list(problem.classes or ()),
            oof=oof,
            y=data.y,
            cv=cv_summary(fold_scores),
            primary_metric=problem.metric,
            id_columns=list(config.data.id_columns),
            importances=importances_of(final, data.X),
            final=predict_scores(final, data.X, task),
        ),
    )
    bundle.save(root / "model")
    return root / "model"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("sim")
    manifest = write_simulation(SCENARIO, root / "sim")
    with threadpool_limits(1):
        model = train_ensemble_churn_bundle(root / "proj", Path(manifest["train"]))
    return {"root": root, "manifest": manifest, "model": model}


def test_the_reference_weights_drift_by_the_ensembles_importances(sim):
    bundle = Bundle.load(sim["model"])
    assert isinstance(bundle.model, EnsembleModel)
    importance = bundle.reference["importance"]
    names = [str(f["name"]) for f in bundle.features]
    assert set(importance) == set(names)
    assert sum(importance.values()) == pytest.approx(1.0, abs=1e-3)
    assert importance["age"] > 0.02  # the shifted feature is one the ensemble relies on
    assert importance["country"] < importance["age"]  # the near-constant column


def test_importances_of_an_ensemble_are_its_members_shares_weighted():
    from tests.models.test_models import FEATURES, make_data

    X, y = make_data("binary", n=200)
    members = ("catboost", "random_forest", "logistic_regression")
    ensemble = fit_ensemble("binary", X, y, FEATURES, members=members, weights=(0.5, 0.3, 0.2))
    only = [importances_of(EnsembleModel([m.model], [1.0]), X) for m in ensemble.members]
    both = importances_of(ensemble, X)
    assert both is not None
    assert sum(both.values()) == pytest.approx(1.0)
    for name in both:
        expected = sum(w * part[name] for w, part in zip((0.5, 0.3, 0.2), only, strict=True))
        assert both[name] == pytest.approx(expected)
    # CatBoost's own importance, as for a single CatBoost model
    assert only[0] == pytest.approx(importances_of(ensemble.members[0].model))
    # a forest's impurity decrease, summed over each input column's encoded columns
    assert sum(only[1].values()) == pytest.approx(1.0)
    assert max(only[1], key=only[1].get) == "x"  # the driver of the target
    # the linear member has no native importance: without training rows, no shares at all
    assert importances_of(ensemble) is None
    assert importances_of(EnsembleModel([m.model for m in ensemble.members[:2]], [0.5, 0.5]))


def test_monitor_flags_the_shift_with_an_ensemble_bundle(sim, tmp_path, capsys, monkeypatch):
    manifest = sim["manifest"]
    reference = Bundle.load(sim["model"]).reference["importance"]
    threshold = 0.02
    summary = monitor(
        [Path(p) for p in manifest["batches"]],
        model_dir=sim["model"],
        labels_paths=[Path(p) for p in manifest["labels"]],
        period="month",
        out=sim["root"] / "report",
        config=parse_config({"monitor": {"drift_min_importance": threshold}}),
    )
    assert summary["model"] == "ensemble"
    assert summary["bundle"].startswith("sha256:")
    periods = {p["period"]: p for p in summary["periods"]}
    shifted = periods["2025-03"]
    assert shifted["drift"][0]["feature"] == "age"
    assert shifted["drift"][0]["drifted"]
    for drift in shifted["drift"]:  # weighted by the ensemble's own importance shares
        assert drift["importance"] == pytest.approx(reference[drift["feature"]], abs=1e-6)
        assert drift["relied_on"] == (drift["importance"] >= threshold)
    assert periods["2025-01"]["verdict"]["status"] == "ok"
    assert summary["first_retrain_period"] == "2025-03"
    # The command, with the monitor settings of a params file, exits 1 on the shifted month.
    (tmp_path / "params.yaml").write_text(f"monitor:\n  drift_min_importance: {threshold}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["monitor", manifest["batches"][2], "--model", str(sim["model"]), "--out", "cli"])
    assert exc.value.code == 1
    march = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("2025"))
    assert march.startswith("2025-03: retrain (")
    assert "drift in age" in march
