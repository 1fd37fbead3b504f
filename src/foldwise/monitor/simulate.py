"""A training table and months of production batches after it, with planted changes.

Every row is drawn by the demo generator (:func:`foldwise.demo.generate_churn`) from the
population of the demo table: the world (which cities are common, which churn more) of
``generate_churn(demo_rows, demo_seed)``, the table the ``generate`` stage writes with
``demo.rows`` and ``demo.seed`` (20,000 and 0 by default). So stable months look like the
demo table, same columns, encodings, cities and shares, and the shipped model
(``models/model``, trained on the demo table) sees nothing but sampling noise before the
planted changes. One call draws all rows (seed derived from ``seed``): the first
``train_rows`` are ``train.csv`` (in the demo's form, for a model trained on the simulation),
later rows are scored month by month. Ids continue after the demo table's
(``C0020001``...), so simulated rows never collide with demo rows (``foldwise retrain``
appends by id). The changes:

* **Covariate shift** in ``age`` from ``shift_month`` on: rows are resampled with weight
  ``exp(0.06 * (age - 44))`` (older customers, mean age up by about ten years). Resampling
  keeps the relationship between features and churn exactly as it was: only P(x) moves.
  Rows with a missing age are kept at the average rate, so the missing share stays the same.
* **Concept change** in ``contract_type`` from ``concept_month`` on: customers on a two-year
  contract, who rarely churned, now churn with an extra probability of 0.35 (a competitor's
  offer). The inputs are unchanged: only P(churn | x) moves, which label-free estimation
  cannot see.

Labels arrive ``label_delay`` months late: ``labels/YYYY-MM.csv`` holds the churn outcome of the
rows scored ``label_delay`` months before YYYY-MM. Month 1 is January 2025, the month after
the demo's snapshot date. Batches carry ``customer_id`` (the demo's id column) and ``ts``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foldwise.demo import (
    CHURN_TARGET,
    LEAKY_COLUMN,
    as_written,
    churn_world,
    generate_churn,
)
from foldwise.errors import FoldwiseError
from foldwise.stage import write_text_atomic

SHIFT_FEATURE = "age"
CONCEPT_FEATURE = "contract_type"
_SHIFT_TILT = 0.06
_CONCEPT_SEGMENT = "two_year"
_CONCEPT_EXTRA = 0.35
_FIRST_MONTH = np.datetime64("2025-01", "M")
_SHIFT_POOL = 12  # rows drawn per row kept when resampling for the covariate shift


@dataclass(frozen=True)
class Scenario:
    """What to simulate; months count from 1 (January 2025)."""

    months: int = 12
    rows_per_month: int = 2000
    train_rows: int = 20000
    shift_month: int | None = 5
    concept_month: int | None = 9
    label_delay: int = 1
    seed: int = 0
    demo_rows: int = 20000  # the demo table whose population is drawn: demo.rows, demo.seed
    demo_seed: int = 0

    def check(self) -> None:
        """Refuse impossible scenarios with one line naming the option."""
        if self.months < 1 or self.rows_per_month < 100 or self.train_rows < 500:
            raise FoldwiseError(
                "simulate: --months must be >= 1, --rows >= 100 and --train-rows >= 500"
            )
        for name in ("shift_month", "concept_month"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= self.months:
                raise FoldwiseError(
                    f"simulate: --{name.replace('_', '-')} {value} is not in 1..{self.months}"
                )
        if self.label_delay < 0:
            raise FoldwiseError("simulate: --label-delay must be >= 0")
        if self.demo_rows < 500 or self.demo_seed < 0 or self.seed < 0:
            raise FoldwiseError("simulate: demo.rows must be >= 500, demo.seed and --seed >= 0")


def month_label(month: int) -> str:
    """'2025-01' for month 1."""
    return str(_FIRST_MONTH + (month - 1))


def _shifted(pool: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    age = pool[SHIFT_FEATURE].to_numpy(dtype="float64")
    weight = np.exp(_SHIFT_TILT * (age - 44.0))
    known = ~np.isnan(age)
    weight[~known] = weight[known].mean()
    accept = rng.random(len(pool)) < weight / weight.max()
    chosen = pool[accept]
    if len(chosen) < rows:
        raise FoldwiseError("simulate: the resampling pool was too small; use fewer rows")
    return chosen.iloc[:rows]


def _pool_rows(scenario: Scenario, month: int) -> int:
    shifted = scenario.shift_month is not None and month >= scenario.shift_month
    return scenario.rows_per_month * (_SHIFT_POOL if shifted else 1)


def simulate(scenario: Scenario) -> tuple[pd.DataFrame, list[tuple[pd.DataFrame, pd.DataFrame]]]:
    """The training table and, per month, (rows to score, their labels)."""
    scenario.check()
    pools = [_pool_rows(scenario, m) for m in range(1, scenario.months + 1)]
    world = churn_world(scenario.demo_rows, scenario.demo_seed)
    # Its own stream: the simulation shares the demo table's world, not its rows.
    seed = int(np.random.SeedSequence([scenario.seed, 2025]).generate_state(1)[0])
    table = generate_churn(scenario.train_rows + sum(pools), seed, world)
    number = table["customer_id"].str.slice(1).astype("int64") + scenario.demo_rows
    table["customer_id"] = "C" + number.astype("str").str.zfill(7)
    train = table.iloc[: scenario.train_rows].reset_index(drop=True)
    rng = np.random.default_rng([scenario.seed, 1])
    months = []
    start = scenario.train_rows
    for month, size in enumerate(pools, start=1):
        pool = table.iloc[start : start + size].drop(columns=[LEAKY_COLUMN])
        start += size
        months.append(_month(scenario, month, pool, rng))
    return train, months


def _month(
    scenario: Scenario, month: int, pool: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    shift = scenario.shift_month is not None and month >= scenario.shift_month
    rows = _shifted(pool, scenario.rows_per_month, rng) if shift else pool
    rows = rows.reset_index(drop=True)
    churned = rows.pop(CHURN_TARGET).to_numpy() == "Yes"
    if scenario.concept_month is not None and month >= scenario.concept_month:
        segment = rows[CONCEPT_FEATURE].to_numpy() == _CONCEPT_SEGMENT
        churned |= segment & (rng.random(len(rows)) < _CONCEPT_EXTRA)
    label = month_label(month)
    start = np.datetime64(label, "M").astype("datetime64[s]")
    seconds = int(((np.datetime64(label, "M") + 1).astype("datetime64[s]") - start).astype(int))
    ts = start + np.sort(rng.integers(0, seconds, size=len(rows))).astype("timedelta64[s]")
    rows.insert(1, "ts", pd.to_datetime(ts).tz_localize("UTC"))
    ids = rows["customer_id"].astype("str")
    labels = pd.DataFrame({"id": ids, CHURN_TARGET: np.where(churned, "Yes", "No")})
    return rows, labels.drop_duplicates("id", keep="last")


def write_simulation(scenario: Scenario, out: Path) -> dict[str, Any]:
    """Write ``train.csv``, ``batches/YYYY-MM.csv``, ``labels/YYYY-MM.csv`` (delayed) and
    ``scenario.json``."""
    train, months = simulate(scenario)
    (out / "batches").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "train.csv", as_written(train).to_csv(index=False))
    written: dict[str, Any] = {"train": str(out / "train.csv"), "batches": [], "labels": []}
    for month, (rows, labels) in enumerate(months, start=1):
        batch = out / "batches" / f"{month_label(month)}.csv"
        write_text_atomic(batch, as_written(rows).to_csv(index=False))
        written["batches"].append(str(batch))
        arrival = month + scenario.label_delay
        if arrival <= scenario.months:
            path = out / "labels" / f"{month_label(arrival)}.csv"
            write_text_atomic(path, labels.to_csv(index=False))
            written["labels"].append(str(path))
    manifest = {
        "scenario": asdict(scenario),
        "first_month": month_label(1),
        "shift": None
        if scenario.shift_month is None
        else {"feature": SHIFT_FEATURE, "from": month_label(scenario.shift_month)},
        "concept": None
        if scenario.concept_month is None
        else {
            "feature": CONCEPT_FEATURE,
            "segment": _CONCEPT_SEGMENT,
            "from": month_label(scenario.concept_month),
        },
        **written,
    }
    write_text_atomic(out / "scenario.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def write_log(manifest: dict[str, Any], model_dir: Path, log_root: Path) -> None:
    """Score the simulated batches with a bundle into a prediction log (CONTRACTS.md format)."""
    from foldwise.bundle import Bundle
    from foldwise.monitor.logfile import append_log, log_table

    bundle = Bundle.load(model_dir)
    version = bundle.name()  # as `foldwise serve --model` names an unregistered bundle
    for batch in manifest["batches"]:
        rows = pd.read_csv(batch, dtype={"customer_id": "str"})
        ts = pd.to_datetime(rows["ts"], utc=True).dt.tz_localize(None).to_numpy("datetime64[us]")
        scores = bundle.predict_scores(rows)
        ids = rows["customer_id"].to_numpy()
        append_log(log_root, log_table(rows, ids, ts, bundle, scores, version))
