"""foldwise monitor on batch files without a date column, noise-aware drift, the simulator's
population."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from foldwise.cli import main
from foldwise.config import MonitorConfig
from foldwise.demo import churn_world, generate_churn
from foldwise.monitor.collect import FeatureCounts
from foldwise.monitor.drift import (
    compare_counts,
    good_turing_variance,
    psi,
    quality_findings,
    reference_counts,
)
from foldwise.monitor.simulate import Scenario, simulate
from foldwise.profile.reference import feature_profile
from tests.monitor.support import train_bundle
from tests.support.realistic_tables import profile_table


@pytest.fixture(scope="module", params=["binary", "multiclass", "regression"])
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small bundle trained on a table of repeated profiles with numbers stored as text."""
    task = request.param
    root = tmp_path_factory.mktemp(f"nodate-{task}")
    (root / "data" / "raw").mkdir(parents=True)
    table = profile_table(1500, seed=4, task=task, continuous=True, date=True)
    table.to_csv(root / "data" / "raw" / "t.csv", index=False)
    params = {
        "data": {"source": "data/raw/t.csv", "target": "target", "id_columns": ["customer_id"]},
        "cv": {"folds": 3},
        "model": {"catboost": {"iterations": 60, "depth": 3}},
    }
    if task == "binary":
        params["problem"] = {"positive_label": "Yes"}
    return {"task": task, "root": root, "model": train_bundle(root, params)}


def _raw_sample(trained: dict, rows: int, seed: int) -> pd.DataFrame:
    """Raw rows drawn with replacement from the training CSV, every value kept as its text."""
    raw = pd.read_csv(trained["root"] / "data" / "raw" / "t.csv", dtype=str, keep_default_na=False)
    return raw.sample(rows, replace=True, random_state=seed).reset_index(drop=True)


def _monitor(trained: dict, path: Path, capsys: pytest.CaptureFixture, *extra: str) -> tuple:
    """Run the CLI; (exit code, stdout lines, summary)."""
    out = path.parent / f"report-{path.stem}"
    args = ["monitor", str(path), "--model", str(trained["model"]), "--out", str(out), *extra]
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code
    lines = capsys.readouterr().out.splitlines()
    return code, lines, json.loads((out / "summary.json").read_text())


def test_rows_from_the_training_table_are_one_quiet_period(trained, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no params.yaml here: the monitor: defaults
    sample = _raw_sample(trained, 800, seed=1)
    assert sample.duplicated().any()  # repeated profiles, as in real traffic
    sample.drop(columns="target").to_csv(tmp_path / "same.csv", index=False)
    sample[["customer_id", "target"]].rename(columns={"customer_id": "id"}).to_csv(
        tmp_path / "labels.csv", index=False
    )
    code, lines, summary = _monitor(
        trained, tmp_path / "same.csv", capsys, "--labels", "labels.csv"
    )
    assert code == 0
    assert lines[0] == "same: ok"
    (period,) = summary["periods"]
    assert period["period"] == "same"
    assert period["rows"] == 800
    assert period["verdict"] == {"status": "ok", "reasons": [], "triggers": []}
    assert not period["quality"]
    assert not any(d["drifted"] for d in period["drift"])
    assert not (period["prediction_drift"] or {}).get("drifted")
    assert summary["schema_findings"] == []
    assert period["performance"]["labelled_rows"] > 0  # labels join on the file's period too


def _scaled(sample: pd.DataFrame, column: str, factor: float) -> pd.DataFrame:
    """``column`` (text, with blanks) times ``factor``, written back as text."""
    numbers = pd.to_numeric(sample[column].str.strip(), errors="coerce")
    text = (numbers * factor).round(2).astype("str")
    return sample.assign(**{column: text.where(numbers.notna(), sample[column])})


@pytest.mark.parametrize("column", ["usage_gb", "monthly_fee"])
def test_one_column_scaled_is_named(trained, column, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    sample = _scaled(_raw_sample(trained, 800, seed=2), column, 1.8)
    sample.drop(columns="target").to_csv(tmp_path / "scaled.csv", index=False)
    code, lines, summary = _monitor(trained, tmp_path / "scaled.csv", capsys)
    (period,) = summary["periods"]
    drifted = [d["feature"] for d in period["drift"] if d["drifted"]]
    assert drifted == [column]
    assert period["verdict"]["status"] in ("warn", "retrain")
    assert code == (1 if period["verdict"]["status"] == "retrain" else 0)
    assert lines[0].startswith("scaled: ")
    assert f"drift in {column}" in lines[0]


# --- drift against sampling noise ----------------------------------------------------------


def _long_tail(rng: np.random.Generator, n: int, shares: np.ndarray) -> pa.Array:
    names = np.array([f"city{i:03d}" for i in range(len(shares))])
    return pa.array(names[rng.choice(len(shares), size=n, p=shares)], pa.string())


def _counts(profile: dict, values: pa.Array) -> FeatureCounts:
    from foldwise.monitor.collect import Collector

    reference = {"features": {"c": profile}, "prediction": {}, "task": "regression"}
    collector = Collector(reference, "month", None)
    collector.add("batch", {"c": values}, None, None, None)
    return collector.periods()[0].features["c"]


def test_long_tail_category_does_not_alarm_on_noise_but_catches_a_real_change():
    rng = np.random.default_rng(0)
    shares = 1.0 / np.arange(1, 501) ** 1.05
    shares /= shares.sum()
    profile = feature_profile(_long_tail(rng, 16000, shares), "categorical", 10)
    config = MonitorConfig()
    results = [
        compare_counts(profile, _counts(profile, _long_tail(rng, 2000, shares)), 17, config)
        for _ in range(200)
    ]
    assert not any(r["drifted"] for r in results)
    assert all(r["bins"] <= 22 for r in results)  # missing, top 20 at most, other
    # Over all 500 categories, the same noise gives a PSI near the 0.2 threshold.
    full = [
        psi(reference_counts(profile), _counts(profile, _long_tail(rng, 2000, shares)).counts)
        for _ in range(20)
    ]
    assert np.mean(full) > 0.15
    # A rare city that becomes a tenth of the traffic is drift.
    moved = shares * 0.9
    moved[300] += 0.1
    changed = compare_counts(profile, _counts(profile, _long_tail(rng, 2000, moved)), 17, config)
    assert changed["drifted"], changed


def test_unseen_categories_of_a_long_tail_stay_within_noise_but_a_flood_is_flagged():
    # A small reference (4,800 rows) of 500 Zipf categories misses ~2 % of the traffic's
    # categories; Good-Turing predicts that share, with Esty's variance of the estimate.
    rng = np.random.default_rng(5)
    shares = 1.0 / np.arange(1, 501) ** 1.05
    shares /= shares.sum()
    config = MonitorConfig()
    flagged = 0
    for _ in range(30):
        profile = feature_profile(_long_tail(rng, 4800, shares), "categorical", 10)
        assert good_turing_variance(profile) > profile["unseen_expected"] / 4800
        for _ in range(10):
            batch = _counts(profile, _long_tail(rng, 2000, shares))
            flagged += bool(quality_findings("city", profile, batch, config, 17))
    assert flagged <= 3  # of 300 months
    names = np.array([f"new{i}" for i in range(40)])
    flood = pa.concat_arrays(
        [_long_tail(rng, 1800, shares), pa.array(names[rng.integers(0, 40, 200)], pa.string())]
    )
    (finding,) = quality_findings("city", profile, _counts(profile, flood), config, 17)
    assert finding["check"] == "new_categories"


def test_numeric_psi_threshold_grows_with_the_noise_of_small_batches():
    rng = np.random.default_rng(1)
    profile = feature_profile(rng.gamma(2.0, 15.0, 5000), "numeric", 10)
    config = MonitorConfig()
    small = compare_counts(profile, _counts(profile, rng.gamma(2.0, 15.0, 200)), 1, config)
    large = compare_counts(profile, _counts(profile, rng.gamma(2.0, 15.0, 20000)), 1, config)
    # 10 value bins (no missing values on either side): 9 degrees of freedom.
    assert small["psi_noise"] == pytest.approx(9 * (1 / 200 + 1 / 5000))
    assert large["psi_threshold"] < small["psi_threshold"]
    assert not small["drifted"]
    assert not large["drifted"]


# --- the simulator draws the demo table's population -----------------------------------------


def test_simulation_draws_the_demo_population():
    demo = generate_churn(3000, 2)
    pd.testing.assert_frame_equal(generate_churn(3000, 2, churn_world(3000, 2)), demo)
    train, months = simulate(
        Scenario(months=2, rows_per_month=1500, train_rows=3000, shift_month=None,
                 concept_month=None, seed=9, demo_rows=3000, demo_seed=2)
    )  # fmt: skip
    assert list(train.columns) == list(demo.columns)
    top = demo["city"].value_counts().index[:5].tolist()
    assert train["city"].value_counts().index[:5].tolist() == top
    batch = pd.concat([rows for rows, _ in months])
    assert set(batch["city"].value_counts().index[:3]) <= set(top)
    # Its own rows, with ids after the demo table's.
    assert train["customer_id"].min() > demo["customer_id"].max()
    assert not train["age"].equals(demo["age"])
    other = simulate(Scenario(months=1, rows_per_month=500, train_rows=3000, seed=9,
                              shift_month=None, concept_month=None, demo_rows=3000, demo_seed=3))  # fmt: skip
    assert other[0]["city"].value_counts().index[:5].tolist() != top
