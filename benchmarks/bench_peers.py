"""foldwise against the AutoML tools a user would pick instead, on the same rows, scored once.

For each table: a fresh project goes the README's way (``foldwise init``, ``dvc repro``) with
the default setting and with the quick one (``tune.nested=false``, ``tune.n_trials=1``); the
rows its ``prepare`` stage wrote (features and target; no ids, no dropped columns; the sealed
test rows) then go, unchanged, to CatBoost with its library defaults, to FLAML with a time
budget and to AutoGluon with ``medium_quality``. Every test score is computed here by foldwise's
own metric with a 1,000-resample bootstrap interval on the same test rows; wall time is the
whole ``dvc repro`` for foldwise and fit + predict for the others.

The peers live in their own virtualenv inside the working folder (they pin their own pandas
and scikit-learn); it is created on the first run (``pip install`` from the package registry,
a few minutes) and reused after:

    python benchmarks/bench_peers.py                              # every table, 10,000 rows
    python benchmarks/bench_peers.py --tables churn_like plans_like --rows 5000
    python benchmarks/bench_peers.py --foldwise-set model.name=ensemble --json peers.json

Tables (from ``bench_first_contact`` plus two): generated to look real — repeated profiles,
numbers stored as text with blanks, id columns, a column known only after the outcome,
high-cardinality categories — and the built-in demo table itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_first_contact import QUICK, TABLES, Table, run_pipeline

ROOT = Path(__file__).resolve().parents[1]
PEERS = (
    "autogluon.tabular[lightgbm,catboost,xgboost]>=1.4,<2",
    "flaml[automl]>=2.3,<3",
)


def plans_like(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Multiclass: which of four plans a customer is on, from usage; 300 cities, text numbers."""
    cities = [f"city_{i:03d}" for i in range(300)]
    weights = 1 / np.arange(1, 301) ** 0.8
    city = rng.choice(cities, n, p=weights / weights.sum())
    city_effect = dict(zip(cities, rng.normal(0, 0.4, len(cities)), strict=True))
    devices = rng.integers(1, 9, n)
    data_gb = np.round(rng.lognormal(2.5, 0.8, n), 1)
    business = rng.random(n) < 0.18
    tenure = rng.integers(0, 120, n)
    utility = (
        0.9 * np.log1p(data_gb)
        + 0.35 * devices
        + 1.4 * business
        + 0.006 * tenure
        + pd.Series(city).map(city_effect).to_numpy()
        + rng.normal(0, 0.6, n)
    )
    plan = np.digitize(utility, np.quantile(utility, [0.4, 0.7, 0.9]))
    names = np.array(["basic", "plus", "pro", "enterprise"])[plan]
    spend = np.round(np.array([15, 30, 55, 120])[plan] * rng.lognormal(0, 0.15, n), 2)
    data_text = np.where(rng.random(n) < 0.04, "", np.char.mod("%.1f", data_gb))
    return pd.DataFrame(
        {
            "account": [f"A-{i:07d}" for i in rng.permutation(n)],
            "city": city,
            "devices": devices,
            "monthly_data_gb": data_text,
            "segment": np.where(business, "business", "consumer"),
            "tenure_months": tenure,
            "support_calls": rng.poisson(1.2, n),
            # The invoice of the plan the customer is on: known only with the outcome.
            "last_invoice": spend,
            "plan": names,
        }
    )


def demo_churn(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """foldwise's own demo table (generate stage), at ``n`` rows."""
    from foldwise.demo import generate_churn

    return generate_churn(n, int(rng.integers(0, 1000)))


BENCH_TABLES: dict[str, Table] = {
    **{k: v for k, v in TABLES.items() if v.make is not None},
    "plans_like": Table(plans_like, "plan", post_outcome="last_invoice"),
    "demo_churn": Table(demo_churn, "churned", post_outcome="account_closure_fee"),
}
TABLES.update(BENCH_TABLES)  # run_pipeline looks tables up by name


def peers_python(work: Path) -> Path:
    """The peers' virtualenv python under ``work``, created on first use."""
    venv = work / "peers-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} (AutoGluon, FLAML; a few minutes) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS], check=True)
    return python


def prepared(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The prepared train and test rows, restricted to the features and the target."""
    schema = json.loads((folder / "schema.json").read_text(encoding="utf-8"))
    columns = [f["name"] for f in schema["features"]] + [schema["target"]]
    train = pd.read_parquet(folder / "train.parquet")[columns]
    test = pd.read_parquet(folder / "test.parquet")[columns]
    return train, test, schema


def scored(schema: dict, test: pd.DataFrame, predictions: np.ndarray) -> dict:
    """foldwise's primary metric on the test rows with its bootstrap interval."""
    from foldwise.evaluation.bootstrap import bootstrap_interval
    from foldwise.problem import Problem

    problem = Problem.from_dict(schema)
    y = problem.encode(test[problem.target])
    interval = bootstrap_interval(problem.metric, y, predictions, seed=0)
    return {"test": interval["estimate"], "test_ci": [interval["low"], interval["high"]]}


def catboost_defaults(folder: Path) -> dict:
    """CatBoost with its library defaults on the prepared rows (typed as foldwise types them)."""
    from catboost import CatBoostClassifier, CatBoostRegressor

    from foldwise.models.frame import feature_frame, model_frame
    from foldwise.problem import Problem

    train, test, schema = prepared(folder)
    problem, features = Problem.from_dict(schema), schema["features"]
    cats = [f["name"] for f in features if f["kind"] == "categorical"]
    regression = problem.task == "regression"
    model = (CatBoostRegressor if regression else CatBoostClassifier)(
        random_seed=0, verbose=False, allow_writing_files=False
    )
    started = time.perf_counter()
    model.fit(
        model_frame(feature_frame(train, features), features),
        problem.encode(train[problem.target]),
        cat_features=cats,
    )
    X_test = model_frame(feature_frame(test, features), features)
    predictions = model.predict(X_test) if regression else model.predict_proba(X_test)
    seconds = time.perf_counter() - started
    return {**scored(schema, test, np.asarray(predictions)), "wall": seconds}


def run_peer(tool: str, folder: Path, python: Path, budget: float) -> dict:
    """One peer in its own virtualenv on the prepared rows; scored here."""
    train, test, schema = prepared(folder)
    peer_dir = folder / tool
    peer_dir.mkdir(exist_ok=True)
    train.to_parquet(peer_dir / "train.parquet")
    test.to_parquet(peer_dir / "test.parquet")
    command = [
        str(python),
        str(ROOT / "benchmarks" / "peer_runner.py"),
        tool,
        *("--train", str(peer_dir / "train.parquet"), "--test", str(peer_dir / "test.parquet")),
        *("--target", schema["target"], "--task", schema["task"]),
        *("--metric", schema["metric"]["name"], "--budget", str(budget)),
        *("--classes", json.dumps(schema.get("classes")), "--out", str(peer_dir / "out")),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        return {"error": f"{tool} exited {done.returncode}: {tail}", "wall": wall}
    predictions = np.load(peer_dir / "out.npy")
    return {**scored(schema, test, predictions), "wall": wall}


def run_table(name: str, args: argparse.Namespace, python: Path | None) -> dict:
    """Every contender on one table; foldwise first, as its prepare stage makes the rows."""
    folder = args.work / name
    result: dict = {"table": name}
    default = run_pipeline(name, args.rows, list(args.foldwise_set), keep=folder / "prepared")
    result["foldwise"] = default
    if "error" in default:
        return result
    result["quick"] = run_pipeline(name, args.rows, [*args.foldwise_set, *QUICK])
    result["catboost_defaults"] = catboost_defaults(folder / "prepared")
    for tool in ("flaml", "autogluon"):
        if python is not None and tool not in args.skip:
            result[tool] = run_peer(tool, folder / "prepared", python, args.flaml_budget)
    return result


def cell(entry: dict | None) -> str:
    if entry is None:
        return f"{'skipped':>33}"
    if "error" in entry:
        return f"{'FAILED (see json)':>25} {entry['wall']:>6.0f}s"
    low, high = entry["test_ci"]
    return f"{entry['test']:>8.4f} [{low:.4f}, {high:.4f}] {entry['wall']:>6.0f}s"


def stage_seconds(entry: dict, stages: tuple[str, ...] = ("tune", "train")) -> float | None:
    """Seconds of the named stages, read from the run's timing lines (None if absent)."""
    found = {}
    for line in entry.get("timing", []):
        match = re.match(r"\s*[\d.]+%\s+(\w+) (?:(\d+)m)?([\d.]+)s", line)
        if match and match.group(1) in stages:
            found[match.group(1)] = int(match.group(2) or 0) * 60 + float(match.group(3))
    return sum(found.values()) if len(found) == len(stages) else None


def wall_ratio(entry: dict, peer: dict, goal: float) -> str:
    """The whole run's wall time and its tune + train stages, each against a peer's fit."""
    text = f"{entry['wall'] / peer['wall']:.1f}x (goal <= {goal:g})"
    building = stage_seconds(entry)
    if building is not None:
        text += f"; tune + train alone {building / peer['wall']:.1f}x"
    return text


def verdicts(result: dict, greater: bool) -> list[str]:
    """The issue's goals, checked on one table."""
    fw, quick, ag, cb = (
        result.get(k) for k in ("foldwise", "quick", "autogluon", "catboost_defaults")
    )
    peers = [result[k] for k in ("flaml", "autogluon") if k in result and "error" not in result[k]]
    lines = []
    better = (lambda a, b: a >= b) if greater else (lambda a, b: a <= b)
    if fw and "error" not in fw and peers:
        best = max(peers, key=lambda p: p["test"] if greater else -p["test"])
        inside = fw["test_ci"][0] <= best["test"] <= fw["test_ci"][1]
        ok = better(fw["test"], best["test"]) or inside
        lines.append(f"default vs best peer {best['test']:.4f}: {'ok' if ok else 'BEHIND'}")
        if fw.get("nested_ci"):
            lo, hi = fw["nested_ci"]
            covers = lo <= fw["test_ci"][1] and fw["test_ci"][0] <= hi
            lines.append(f"nested interval meets the test interval: {'yes' if covers else 'NO'}")
    if ag and "error" not in ag and fw and "error" not in fw:
        lines.append(f"default wall / AutoGluon wall: {wall_ratio(fw, ag, 3)}")
    if quick and "error" not in quick and cb:
        ok = better(quick["test"], cb["test"])
        lines.append(f"quick vs CatBoost defaults: {'ok' if ok else 'WORSE'}")
        if ag and "error" not in ag:
            lines.append(f"quick wall / AutoGluon wall: {wall_ratio(quick, ag, 1)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=list(BENCH_TABLES), choices=BENCH_TABLES)
    parser.add_argument("--rows", type=int, default=10_000, help="rows of each generated table")
    parser.add_argument("--work", type=Path, default=Path("/tmp/foldwise-peers"))
    parser.add_argument(
        "--foldwise-set", nargs="*", default=[], help="params, e.g. model.name=ensemble"
    )
    parser.add_argument("--flaml-budget", type=float, default=120.0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["flaml", "autogluon"])
    parser.add_argument("--json", type=Path, help="also write every result to this file")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    python = None if {"flaml", "autogluon"} <= set(args.skip) else peers_python(args.work)
    load = os.getloadavg()
    print(
        f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cpus"
    )
    contenders = ["foldwise", "quick", "catboost_defaults", "flaml", "autogluon"]
    results = []
    for name in args.tables:
        result = run_table(name, args, python)
        result["load"] = os.getloadavg()[0]
        results.append(result)
        fw = result["foldwise"]
        metric = fw.get("metric", "?")
        print(f"\n{name}: {fw.get('rows', '?')} test rows, {metric}, load {result['load']:.1f}")
        for key in contenders:
            print(f"  {key:<18} {cell(result.get(key))}")
        if "error" in fw:
            print(f"  foldwise failed: {fw['error']}")
            continue
        from foldwise.metrics import METRICS

        for line in verdicts(result, METRICS[metric].greater_is_better):
            print(f"  -> {line}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, default=str))
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
