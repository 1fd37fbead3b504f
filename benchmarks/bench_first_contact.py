"""First contact: the pipeline on tables that look like real ones, against CatBoost's defaults.

Each table goes the way of docs/tutorial.md in a fresh git + DVC copy of the pipeline: the file
into ``data/raw/``, ``foldwise init SOURCE --target COLUMN`` (plus ``--positive`` where no rule
applies and ``--test-source`` for the census-like table), then ``dvc repro``, once with the
default settings and once with the quick setting. A table with a column known only after the
outcome first runs to the audit untouched, which must fail naming that column; the one edit
is then ``data.drop_columns``. For each run: wall time of `dvc repro`, the nested estimate
and its 95 % interval (default setting), the test score, and CatBoost with its library
defaults fitted on the same prepared training rows and scored on the same test rows (with
its fit time).

    python benchmarks/bench_first_contact.py                  # every table, both settings
    python benchmarks/bench_first_contact.py --tables churn_like housing_like
    python benchmarks/bench_first_contact.py --settings quick --rows 8000 --json out.json

The generated tables: many repeated low-cardinality profiles, numbers stored as text with
blanks, an id column, and a column only known after the outcome; the census-like one comes
with a separate test table whose labels carry a trailing dot (``>50K.``), as the official
file's do. ``breast_cancer``, ``wine`` and ``diabetes`` are scikit-learn's built-ins.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from _project import copy_pipeline, set_param

# The quick setting of docs/honest-numbers.md ("A quick first look"): no outer loop, trial 0 only.
QUICK = ["tune.nested=false", "tune.n_trials=1"]


def churn_like(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """A telecom-churn-like table: few columns, most of them low-cardinality categories."""
    tenure = rng.integers(0, 73, n)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.21, 0.24])
    internet = rng.choice(["DSL", "Fiber optic", "No"], n, p=[0.34, 0.44, 0.22])
    payment = rng.choice(["Electronic check", "Mailed check", "Bank transfer", "Credit card"], n)
    senior = (rng.random(n) < 0.16).astype(int)
    partner = rng.choice(["Yes", "No"], n)
    paperless = rng.choice(["Yes", "No"], n, p=[0.6, 0.4])
    monthly = np.round(
        20 + 50 * (internet == "Fiber optic") + 25 * (internet == "DSL") + rng.normal(0, 8, n),
        2,
    ).clip(18, 120)
    total = monthly * tenure
    logit = (
        -1.2
        + 1.1 * (contract == "Month-to-month")
        - 1.0 * (contract == "Two year")
        + 0.7 * (internet == "Fiber optic")
        + 0.5 * (payment == "Electronic check")
        - 0.035 * tenure
        + 0.3 * senior
        + 0.2 * (paperless == "Yes")
    )
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    total_text = np.where(tenure == 0, " ", np.char.mod("%.2f", total))
    return pd.DataFrame(
        {
            "customerID": [f"{i:04d}-{rng.integers(10**4, 10**5)}" for i in range(n)],
            "gender": rng.choice(["Female", "Male"], n),
            "SeniorCitizen": senior,
            "Partner": partner,
            "Dependents": rng.choice(["Yes", "No"], n, p=[0.3, 0.7]),
            "tenure": tenure,
            "PhoneService": rng.choice(["Yes", "No"], n, p=[0.9, 0.1]),
            "InternetService": internet,
            "Contract": contract,
            "PaperlessBilling": paperless,
            "PaymentMethod": payment,
            "MonthlyCharges": monthly,
            "TotalCharges": total_text,
            # Only known after the customer left: the audit would flag it as leakage.
            "ExitSurveyScore": np.where(churn, rng.integers(1, 6, n), 0),
            "Churn": np.where(churn, "Yes", "No"),
        }
    )


def census_like(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """A census-income-like table: repeated profiles of categories and rounded numbers."""
    education = rng.choice(
        ["HS-grad", "Some-college", "Bachelors", "Masters", "Assoc", "11th", "Doctorate"],
        n,
        p=[0.32, 0.22, 0.17, 0.06, 0.08, 0.13, 0.02],
    )
    edu_years = pd.Series(education).map(
        {
            "HS-grad": 9,
            "Some-college": 10,
            "Bachelors": 13,
            "Masters": 14,
            "Assoc": 11,
            "11th": 7,
            "Doctorate": 16,
        }
    )
    age = rng.integers(17, 80, n)
    sex = rng.choice(["Male", "Female"], n, p=[0.67, 0.33])
    marital = rng.choice(["Married", "Never-married", "Divorced", "Widowed"], n)
    occupation = rng.choice(["Prof", "Exec", "Craft", "Sales", "Adm", "Service", "Other"], n)
    hours = np.clip(np.round(rng.normal(40, 11, n) / 5) * 5, 5, 90).astype(int)
    gain = np.where(rng.random(n) < 0.08, rng.choice([3103, 5178, 7298, 15024], n), 0)
    logit = (
        -6.0
        + 0.32 * edu_years.to_numpy()
        + 0.035 * np.minimum(age, 60)
        + 1.3 * (marital == "Married")
        + 0.6 * np.isin(occupation, ["Prof", "Exec"])
        + 0.02 * hours
        + 0.0003 * gain
        + 0.3 * (sex == "Male")
    )
    rich = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "id": np.arange(100_000, 100_000 + n),
            "age": age,
            "workclass": rng.choice(
                ["Private", "Self-emp", "Gov", " ?"], n, p=[0.7, 0.1, 0.15, 0.05]
            ),
            "education": education,
            "marital_status": marital,
            "occupation": occupation,
            "sex": sex,
            "capital_gain": gain,
            "hours_per_week": hours,
            "native_country": rng.choice(
                ["United-States", "Mexico", "Other"], n, p=[0.9, 0.03, 0.07]
            ),
            "income": np.where(rich, ">50K", "<=50K"),
        }
    )


def housing_like(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """A house-price-like regression table: quality grades, areas, a neighbourhood."""
    hoods = [f"N{i:02d}" for i in range(25)]
    hood_effect = dict(zip(hoods, rng.normal(0, 0.18, len(hoods)), strict=True))
    neighborhood = rng.choice(hoods, n)
    quality = rng.integers(1, 11, n)
    living = np.round(rng.lognormal(7.3, 0.3, n))
    lot = np.round(rng.lognormal(9.1, 0.4, n))
    year = rng.integers(1880, 2011, n)
    garage = rng.choice([0, 1, 2, 3], n, p=[0.06, 0.26, 0.56, 0.12])
    log_price = (
        10.9
        + 0.11 * quality
        + 0.45 * np.log(living / 1500)
        + 0.08 * np.log(lot / 9000)
        + 0.003 * (year - 1970)
        + 0.05 * garage
        + pd.Series(neighborhood).map(hood_effect).to_numpy()
        + 0.04 * np.sin(living / 300) * quality / 5
        + rng.normal(0, 0.12, n)
    )
    price = np.round(np.exp(log_price), -2)
    basement = np.round(living * rng.uniform(0, 1, n))
    basement_text = np.where(rng.random(n) < 0.05, "", np.char.mod("%.0f", basement))
    return pd.DataFrame(
        {
            "Id": np.arange(1, n + 1),
            "Neighborhood": neighborhood,
            "OverallQual": quality,
            "GrLivArea": living,
            "LotArea": lot,
            "TotalBsmtSF": basement_text,
            "YearBuilt": year,
            "GarageCars": garage,
            "CentralAir": rng.choice(["Y", "N"], n, p=[0.93, 0.07]),
            "SaleCondition": rng.choice(["Normal", "Partial", "Abnorml"], n, p=[0.82, 0.09, 0.09]),
            # The tax assessment after the sale: close to the price, known only afterwards.
            # (A ratio such as price per square foot leaks only beside the living area; the
            # audit scores one column at a time and would not catch it.)
            "AssessedAfterSale": np.round(price * rng.lognormal(0, 0.06, n), -2),
            "SalePrice": price,
        }
    )


@dataclass(frozen=True)
class Table:
    """How a table reaches the pipeline: its file(s), then `foldwise init` and one edit."""

    make: Callable[[int, np.random.Generator], pd.DataFrame] | None
    target: str
    # `foldwise init` options beyond the target (a rule covers 0/1, Yes/No, ...; others ask).
    init_options: tuple[str, ...] = ()
    # The one edit a user makes after the audit names a post-outcome column.
    post_outcome: str | None = None
    # A separate test table, split off the generated rows, with the labels spelled as the
    # official census test file spells them (a trailing dot): init maps them back.
    test_labels: dict[str, str] | None = None


TABLES: dict[str, Table] = {
    "churn_like": Table(churn_like, "Churn", post_outcome="ExitSurveyScore"),
    "census_like": Table(
        census_like,
        "income",
        ("--positive", ">50K"),
        test_labels={">50K": ">50K.", "<=50K": "<=50K."},
    ),
    "housing_like": Table(housing_like, "SalePrice", post_outcome="AssessedAfterSale"),
    "breast_cancer": Table(None, "diagnosis", ("--positive", "malignant")),
    "wine": Table(None, "cultivar"),
    "diabetes": Table(None, "progression"),
}


def write_table(name: str, rows: int, work: Path) -> list[str]:
    """Write the table (and a test table) under data/raw/; return the `foldwise init` call."""
    table = TABLES[name]
    if table.make is None:
        from foldwise.demo import load_sklearn_dataset

        frame = load_sklearn_dataset(name)
    else:
        frame = table.make(rows, np.random.default_rng(7))
    source = f"data/raw/{name}.csv"
    args = [source, "--target", table.target, *table.init_options]
    if table.test_labels is not None:
        cut = len(frame) * 2 // 3
        test = frame.iloc[cut:].copy()
        test[table.target] = test[table.target].map(table.test_labels)
        test.to_csv(work / "data" / "raw" / f"{name}_test.csv", index=False)
        frame = frame.iloc[:cut]
        args += ["--test-source", f"data/raw/{name}_test.csv"]
    frame.to_csv(work / source, index=False)
    return args


def catboost_defaults(work: Path) -> dict:
    """CatBoost with its library defaults on the run's own prepared train and test rows."""
    from catboost import CatBoostClassifier, CatBoostRegressor

    from foldwise.metrics import score
    from foldwise.models.frame import feature_frame, model_frame
    from foldwise.problem import Problem

    schema = json.loads((work / "data" / "prepared" / "schema.json").read_text())
    problem = Problem.from_dict(schema)
    features = schema["features"]
    train = pd.read_parquet(work / "data" / "prepared" / "train.parquet")
    test = pd.read_parquet(work / "data" / "prepared" / "test.parquet")
    X_train = model_frame(feature_frame(train, features), features)
    X_test = model_frame(feature_frame(test, features), features)
    y_train = problem.encode(train[problem.target])
    y_test = problem.encode(test[problem.target])
    cats = [f["name"] for f in features if f["kind"] == "categorical"]
    regression = problem.task == "regression"
    cls = CatBoostRegressor if regression else CatBoostClassifier
    model = cls(random_seed=0, verbose=False, allow_writing_files=False)
    started = time.perf_counter()
    model.fit(X_train, y_train, cat_features=cats)
    seconds = time.perf_counter() - started
    predicted = model.predict(X_test) if regression else model.predict_proba(X_test)
    return {"test": float(score(problem.metric, y_test, np.asarray(predicted))), "seconds": seconds}


def run_pipeline(name: str, rows: int, extra: list[str], keep: Path | None = None) -> dict:
    """One fresh project: `foldwise init`, `dvc repro`; its figures and CatBoost's beside them.

    A table with a post-outcome column first runs up to the audit as init left it, which must
    fail naming that column; then ``data.drop_columns`` gets it, the one edit a user makes.
    ``keep``: a folder that receives a copy of ``data/prepared/`` (the rows the peers get).
    """
    with tempfile.TemporaryDirectory(prefix=f"fw-{name}-") as tmp:
        work = Path(tmp)
        copy_pipeline(work)

        def run(*cmd: str) -> subprocess.CompletedProcess:
            return subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)

        def commit() -> None:
            run("git", "add", "-A")
            run("git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "b")

        run("git", "init", "-q")
        run(sys.executable, "-m", "dvc", "init", "-q")
        commit()
        started = time.perf_counter()
        init = run(sys.executable, "-m", "foldwise.cli", "init", *write_table(name, rows, work))
        if init.returncode != 0:
            return {"table": name, "error": f"init: {init.stderr.strip()}", "wall": 0.0}
        chosen = [
            line for line in init.stdout.splitlines() if line.startswith(("task", "positive"))
        ]
        leak = None
        post_outcome = TABLES[name].post_outcome
        if post_outcome is not None:
            audit = run(sys.executable, "-m", "dvc", "repro", "audit")
            message = (audit.stderr + audit.stdout).strip().splitlines()
            named = [line for line in message if post_outcome in line and "drop_columns" in line]
            leak = named[0].strip() if audit.returncode != 0 and named else None
            if leak is None:
                error = f"the audit let the post-outcome column {post_outcome!r} through"
                return {"table": name, "error": error, "wall": 0.0}
        params = yaml.safe_load((work / "params.yaml").read_text())
        if post_outcome is not None:
            set_param(params, f"data.drop_columns=[{post_outcome}]")
        for assignment in extra:
            set_param(params, assignment)
        (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        commit()
        setup = time.perf_counter() - started
        started = time.perf_counter()
        repro = run(sys.executable, "-m", "dvc", "repro")
        wall = time.perf_counter() - started
        if repro.returncode != 0:
            tail = (repro.stderr or repro.stdout).strip().splitlines()[-3:]
            return {"table": name, "error": " | ".join(tail), "wall": wall}
        if keep is not None:
            shutil.copytree(work / "data" / "prepared", keep, dirs_exist_ok=True)
        nested = json.loads((work / "reports" / "tune" / "nested_cv.json").read_text())
        evaluate = json.loads((work / "reports" / "evaluate" / "metrics.json").read_text())
        lines = repro.stdout.splitlines()
        # The last stage's summary is the whole run's (see foldwise.timings).
        last = max((i for i, line in enumerate(lines) if line.startswith("timing:")), default=0)
        timing = [line for line in lines[last:] if line.startswith(("timing:", "  "))]
        return {
            "table": name,
            "rows": int(evaluate["rows"]),
            "metric": evaluate["primary_metric"]["name"],
            "init": chosen,
            "leak": leak,
            "setup": setup,
            "wall": wall,
            "nested": nested.get("mean") if nested.get("nested") else None,
            "nested_ci": [nested["ci95_low"], nested["ci95_high"]]
            if nested.get("nested")
            else None,
            "test": evaluate["primary_metric"]["value"],
            "test_ci": [
                evaluate["primary_metric"]["ci95_low"],
                evaluate["primary_metric"]["ci95_high"],
            ],
            "catboost_defaults": catboost_defaults(work),
            "timing": timing,
        }


def fmt(result: dict, setting: str) -> str:
    if "error" in result:
        return f"{result['table']:<14} {setting:<8} FAILED after {result['wall']:.0f} s: {result['error']}"
    nested = (
        f"{result['nested']:.4f} [{result['nested_ci'][0]:.4f}, {result['nested_ci'][1]:.4f}]"
        if result["nested"] is not None
        else "-"
    )
    cb = result["catboost_defaults"]
    return (
        f"{result['table']:<14} {setting:<8} {result['metric']:<9} {result['wall']:>7.1f} "
        f"{nested:>27} {result['test']:>10.4f} {cb['test']:>10.4f} {cb['seconds']:>7.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tables",
        nargs="+",
        default=list(TABLES),
        choices=list(TABLES),
    )
    parser.add_argument("--rows", type=int, default=8000, help="rows of each generated table")
    parser.add_argument(
        "--settings", nargs="+", default=["default", "quick"], choices=["default", "quick"]
    )
    parser.add_argument("--json", type=Path, help="also write every result to this file")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cpus"
    )
    print(
        f"{'table':<14} {'setting':<8} {'metric':<9} {'wall s':>7} {'nested [95% CI]':>27} "
        f"{'test':>10} {'CB dflt':>10} {'CB s':>7}"
    )
    results = []
    for name in args.tables:
        for setting in args.settings:
            result = run_pipeline(name, args.rows, QUICK if setting == "quick" else [])
            result["setting"] = setting
            result["load"] = os.getloadavg()[0]
            results.append(result)
            print(fmt(result, setting), flush=True)
            for line in [*result.get("init", []), result.get("leak") or ""]:
                if line and setting == args.settings[0]:
                    print(f"{'':<24}{line}", flush=True)
            if args.json:
                args.json.write_text(json.dumps(results, indent=2, default=str))
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
