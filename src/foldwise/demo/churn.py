"""Deterministic built-in demo data: the synthetic subscription-churn table.

The churn table (:func:`generate_churn`) is made to exercise every check of the audit and
to reward a model that finds non-linear structure. Its quirks, on purpose:

* ``customer_id`` is an id ("C0000001"); ``signup_date`` spans 2022-01-01..2024-12-31 and the
  population drifts over it: newer customers are more often on the premium plan, pay more for
  the same plan (price rises) and churn slightly more.
* ``city`` has hundreds of values with Zipf-like frequencies; a few mid-sized cities churn more.
* ``country`` is near-constant ("US" for ~99.7% of rows).
* ``paperless_billing`` is "yes"/"no" text and ``has_partner`` is "true"/"false" text.
* ``total_charges`` is a number stored as text, like the Telco churn ``TotalCharges``: some
  values carry stray leading/trailing spaces and brand-new customers (tenure 0) have " ".
* Missing at random: ``age`` is blank for ~5% of rows, independent of everything else.
* Missing for a reason: ``satisfaction_score`` is blank for customers who never answered the
  survey (~35%, more often those who rarely log in); non-responders churn more (~20% vs
  ~13%), so the blank itself carries signal and imputing it away loses information.
* Leakage: ``account_closure_fee`` (:data:`LEAKY_COLUMN`) is billed when an account is closed,
  so it is only known *after* the customer churned. It is non-zero for ~95% of churners and
  ~1% of stayers; alone it scores a ROC-AUC of ~0.97 and must never be used as a feature.
* A few exact duplicate rows (~0.2%, identical in every column) are interleaved.
* A weak segment (:data:`WEAK_SEGMENT`): for customers on the basic plan who pay by mailed
  check (~5% of rows) churn is a coin flip (50%) that no column explains, so every model's
  out-of-fold loss there is about twice the overall; the explain stage should find and name
  this slice of two features. It is drawn from its own random stream, so every other column
  is the same as without it (except the closure fee, which follows churn).

Churn (``churned``, "Yes"/"No", ~17% "Yes": ~15% plus the weak segment's coin flips) follows a logistic model with thresholds,
saturation and interactions (contract type x tenure, including renewal-month spikes), so
gradient-boosted trees clearly beat logistic regression, while no legitimate column alone
reaches a ROC-AUC of 0.80.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

LEAKY_COLUMN: str = "account_closure_fee"
NEAR_CONSTANT_COLUMN: str = "country"
HIGH_CARDINALITY_COLUMN: str = "city"
TEXT_NUMBER_COLUMN: str = "total_charges"
CHURN_TARGET: str = "churned"
# The planted weak segment: churn is unpredictable noise on this slice of two columns.
WEAK_SEGMENT: dict[str, str] = {"plan": "basic", "payment_method": "mailed_check"}
_WEAK_SEGMENT_RATE = 0.5

_START = np.datetime64("2022-01-01")
_END = np.datetime64("2024-12-31")
_SNAPSHOT = np.datetime64("2025-01-01")
_POSITIVE_RATE = 0.15
_DUPLICATE_SHARE = 0.002
_MIN_ROWS = 100

_CITY_PREFIXES = (
    "Oak", "Maple", "Cedar", "Pine", "Elm", "Ash", "Birch", "Willow", "Spring", "River",
    "Lake", "Stone", "Fair", "Green", "Red", "Silver", "Gold", "North", "South", "East",
    "West", "Clear", "Bright", "Rock", "Sun",
)  # fmt: skip
_CITY_SUFFIXES = (
    "ville", "ton", "field", "wood", "ford", "port", "dale", "burg", "view", "haven",
    "brook", "ridge", "mont", "side", "crest", "land", " Falls", " Springs", " Heights", " City",
)  # fmt: skip
_CITIES = np.array([p + s for p in _CITY_PREFIXES for s in _CITY_SUFFIXES])

_REGIONS = np.array(["north", "south", "east", "west", "central"])
_PLANS = np.array(["basic", "standard", "premium"])
_PLAN_PRICE = np.array([29.0, 54.0, 89.0])
_CONTRACTS = np.array(["month-to-month", "one_year", "two_year"])
_PAYMENTS = np.array(["credit_card", "bank_transfer", "electronic_check", "mailed_check"])
_COUNTRIES = np.array(["US", "CA", "MX"])


def _str(values: pa.Array) -> pd.Series:
    return pd.Series(values, dtype="str")


def _text(codes: np.ndarray, names: np.ndarray) -> pd.Series:
    """Map integer codes to a ``str`` column without a Python loop."""
    return _str(pa.array(names, pa.string()).take(pa.array(codes)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _calibrate_intercept(logit: np.ndarray, rate: float) -> float:
    """Intercept that makes the mean churn probability equal ``rate`` (bisection)."""
    lo, hi = -15.0, 15.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if _sigmoid(logit + mid).mean() < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True, eq=False)
class ChurnWorld:
    """The part of a churn table's population that is drawn once per table, not per row.

    Which city sits at each popularity rank (so which city names are common) and which ranks
    churn more. A table drawn with another ``(rows, seed)`` has another world; pass a table's
    world to :func:`generate_churn` to draw more customers from the same population.
    """

    city_of_rank: np.ndarray  # city index (into the city names) at each popularity rank
    hot_ranks: np.ndarray  # popularity ranks whose customers churn more


def _when_and_where(
    rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, ChurnWorld]:
    """The first draws of a table: signup day, tenure, region, city rank and the world."""
    span = int((_END - _START).astype(int))
    day = rng.integers(0, span + 1, size=n)
    signup = _START + day.astype("timedelta64[D]")
    days_active = (_SNAPSHOT - signup).astype(int)
    tenure = np.floor(days_active / 30.4375).astype(np.int64)
    tenure = np.maximum(tenure - rng.poisson(0.3, size=n), 0)  # paused months are not billed
    region = rng.choice(len(_REGIONS), size=n, p=[0.22, 0.24, 0.2, 0.19, 0.15])
    city_p = 1.0 / np.arange(1, len(_CITIES) + 1) ** 1.05
    city_p /= city_p.sum()
    city_rank = rng.choice(len(_CITIES), size=n, p=city_p)
    world = ChurnWorld(
        city_of_rank=rng.permutation(len(_CITIES)),
        hot_ranks=rng.choice(np.arange(5, 150), size=20, replace=False),
    )
    return day, tenure, region, city_rank, world


def _distinct_rows(rows: int) -> tuple[int, int]:
    if rows < _MIN_ROWS:
        raise ValueError(f"rows must be at least {_MIN_ROWS}, got {rows}")
    n_dup = max(1, round(rows * _DUPLICATE_SHARE))
    return rows - n_dup, n_dup


def churn_world(rows: int, seed: int) -> ChurnWorld:
    """The world of ``generate_churn(rows, seed)`` (e.g. of the demo table, ``demo.*``)."""
    n, _ = _distinct_rows(rows)
    return _when_and_where(np.random.default_rng(seed), n)[4]


def generate_churn(rows: int, seed: int, world: ChurnWorld | None = None) -> pd.DataFrame:
    """Return a synthetic subscription-churn table of exactly ``rows`` rows.

    The result depends only on ``(rows, seed)`` and ``world``. Dates are ISO ``str``;
    ``total_charges`` is ``str`` on purpose; ``age`` and ``satisfaction_score`` are float with
    NaN for blanks. See the module docstring for the planted quirks (leak, missingness,
    duplicates, drift). ``world`` (from :func:`churn_world`) draws the rows from another
    table's population: the same cities with the same shares and churn; without it the table
    has its own world (the rows drawn are the same either way, so ``generate_churn(r, s,
    churn_world(r, s))`` is ``generate_churn(r, s)``).

    Every phase below draws from the one generator in a fixed order, so the table is the
    same byte for byte whatever the phases are called.
    """
    n, n_dup = _distinct_rows(rows)
    rng = np.random.default_rng(seed)
    # When: uniform signup dates; t in [0, 1] drives the drift. Who and where.
    day, tenure, region, city_rank, own = _when_and_where(rng, n)
    world = own if world is None else world
    t = day / int((_END - _START).astype(int))
    c: dict[str, Any] = {
        "day": day,
        "tenure": tenure,
        "region": region,
        "city": world.city_of_rank[city_rank],
    }
    c["hot_city"] = np.isin(city_rank, world.hot_ranks)
    c |= _people(rng, n)
    c |= _purchases(rng, t)
    c |= _behaviour(rng, c)
    c["churned"] = _churn(rng, seed, t, c)
    c["closure_fee"] = _closure_fee(rng, c["contract"], c["churned"])
    c["total_charges"] = _total_charges(rng, c["monthly"], tenure)
    frame = _churn_frame(c)
    # Exact duplicates of random customers, interleaved at random positions.
    order = np.insert(
        np.arange(n),
        np.sort(rng.integers(0, n + 1, size=n_dup)),
        rng.choice(n, size=n_dup, replace=False),
    )
    return frame.iloc[order].reset_index(drop=True)


def _people(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Country, age (5 % missing completely at random; ``age_known`` keeps all) and partner."""
    country = rng.choice(len(_COUNTRIES), size=n, p=[0.997, 0.002, 0.001])
    age = np.clip(np.round(rng.normal(44.0, 14.0, size=n)), 18, 85)
    age_known = age.copy()
    age[rng.random(n) < 0.05] = np.nan  # missing completely at random
    has_partner = rng.random(n) < 0.45
    return {"country": country, "age": age, "age_known": age_known, "has_partner": has_partner}


def _purchases(rng: np.random.Generator, t: np.ndarray) -> dict[str, np.ndarray]:
    """What they bought: premium share grows from ~15% to ~35% (drift), and what they pay."""
    n = len(t)
    u = rng.random(n)
    p_premium = 0.15 + 0.20 * t
    p_basic = 0.40 - 0.12 * t
    plan = np.where(u < p_basic, 0, np.where(u < 1 - p_premium, 1, 2))
    contract = rng.choice(len(_CONTRACTS), size=n, p=[0.55, 0.25, 0.20])
    payment = rng.choice(len(_PAYMENTS), size=n, p=[0.3, 0.25, 0.3, 0.15])
    paperless = rng.random(n) < np.where(payment == 3, 0.25, 0.65)
    price_rise = 1.0 + 0.10 * t
    monthly = _PLAN_PRICE[plan] * price_rise + rng.normal(0.0, 6.0, size=n)
    monthly = np.round(np.clip(monthly, 15.0, None), 2).astype("float64")
    return {
        "plan": plan,
        "contract": contract,
        "payment": payment,
        "paperless": paperless,
        "monthly": monthly,
        "overcharge": monthly - _PLAN_PRICE[plan],
    }


def _behaviour(rng: np.random.Generator, c: dict[str, Any]) -> dict[str, np.ndarray]:
    """Support calls, logins and the satisfaction survey (missing for a reason)."""
    n, plan, monthly = len(c["plan"]), c["plan"], c["monthly"]
    support_calls = rng.poisson(np.where(plan == 2, 1.6, 1.1) + 0.4 * (monthly > 80), size=n)
    logins = rng.negative_binomial(2, 2 / (2 + 14.0), size=n)
    answered = rng.random(n) < np.where(logins < 3, 0.45, 0.7)
    sat_latent = 7.0 - 0.7 * np.minimum(support_calls, 4) + rng.normal(0.0, 1.8, size=n)
    satisfaction = np.clip(np.round(sat_latent), 1, 10)
    return {
        "support_calls": support_calls,
        "logins": logins,
        "answered": answered,
        "satisfaction": satisfaction,
        "satisfaction_obs": np.where(answered, satisfaction, np.nan),  # missing for a reason
    }


def _churn(rng: np.random.Generator, seed: int, t: np.ndarray, c: dict[str, Any]) -> np.ndarray:
    """Churn: log-odds with thresholds, saturation and interactions; plus the weak segment."""
    n, tenure, contract = len(t), c["tenure"], c["contract"]
    plan, payment, satisfaction = c["plan"], c["payment"], c["satisfaction"]
    m2m, one_year, two_year = contract == 0, contract == 1, contract == 2
    logit = 0.35 * t + rng.normal(0.0, 0.3, size=n)
    logit += np.select([m2m, one_year], [0.0, -0.8], -1.6)
    logit += np.where(m2m, 3.2 * np.exp(-tenure / 4.0), 0.0)
    renewal_1y = one_year & (tenure >= 11) & np.isin(tenure % 12, [11, 0])
    renewal_2y = two_year & np.isin(tenure, [23, 24])
    logit += 3.0 * renewal_1y + 3.4 * renewal_2y
    logit += 1.7 * (1.0 - np.exp(-c["support_calls"] / 1.0)) * np.where(plan == 2, 1.5, 0.6)
    logit += np.where(c["logins"] < 3, 1.6, 0.0)
    logit += 1.5 * (c["age_known"] < 26) + 1.2 * (c["age_known"] > 68)
    logit += 1.0 * (c["overcharge"] > 9.0) + 0.004 * (c["monthly"] - 60.0)
    logit += 0.35 * (payment == 2) + 0.15 * c["paperless"] - 0.3 * c["has_partner"]
    unhappy = np.select([satisfaction <= 3, satisfaction <= 5], [1.5, 0.5])
    logit += np.where(c["answered"], unhappy, 1.0)
    logit += 0.8 * c["hot_city"] + 0.15 * (c["region"] == 1)
    logit += _calibrate_intercept(logit, _POSITIVE_RATE)
    churned = rng.random(n) < _sigmoid(logit)
    # The weak segment: a coin flip that no column explains, from a separate stream so the
    # draws of every other column are unchanged.
    weak = (plan == 0) & (payment == 3)
    noise = np.random.default_rng([seed, 11]).random(n)
    return np.where(weak, noise < _WEAK_SEGMENT_RATE, churned)


def _closure_fee(rng: np.random.Generator, contract: np.ndarray, churned: np.ndarray) -> np.ndarray:
    """The leak: a fee billed when the account is closed, i.e. after churn."""
    n = len(contract)
    fee_base = np.select([contract == 0, contract == 1], [19.0, 95.0], 190.0)
    fee = np.round(fee_base * rng.uniform(0.8, 1.2, size=n), 2)
    billed = np.where(churned, rng.random(n) < 0.95, rng.random(n) < 0.01)
    return np.where(billed, fee, 0.0)


def _total_charges(rng: np.random.Generator, monthly: np.ndarray, tenure: np.ndarray) -> pd.Series:
    """total_charges as messy text: stray spaces, " " for brand-new customers."""
    n = len(monthly)
    total = np.round(monthly * tenure * rng.uniform(0.97, 1.03, size=n), 2)
    total_text = _str(pc.cast(pa.array(total), pa.string()))  # shortest repr: "1889.5"
    spaces = rng.random(n)
    total_text = total_text.where(spaces >= 0.03, " " + total_text)
    total_text = total_text.where((spaces < 0.03) | (spaces >= 0.045), total_text + " ")
    return total_text.where(tenure > 0, " ")


def _churn_frame(c: dict[str, Any]) -> pd.DataFrame:
    """The columns as the table stores them: codes as text, ids, ISO dates."""
    n = len(c["day"])
    span = int((_END - _START).astype(int))
    return pd.DataFrame(
        {
            "customer_id": "C"
            + _str(pc.cast(pa.array(np.arange(1, n + 1)), pa.string())).str.zfill(7),
            "signup_date": _text(
                c["day"], np.datetime_as_string(_START + np.arange(span + 1), unit="D")
            ),
            "country": _text(c["country"], _COUNTRIES),
            "region": _text(c["region"], _REGIONS),
            "city": _text(c["city"], _CITIES),
            "age": c["age"],
            "has_partner": _text(c["has_partner"].astype(np.int8), np.array(["false", "true"])),
            "plan": _text(c["plan"], _PLANS),
            "contract_type": _text(c["contract"], _CONTRACTS),
            "payment_method": _text(c["payment"], _PAYMENTS),
            "paperless_billing": _text(c["paperless"].astype(np.int8), np.array(["no", "yes"])),
            "tenure_months": c["tenure"],
            "monthly_charges": c["monthly"],
            "total_charges": c["total_charges"],
            "support_calls": c["support_calls"].astype(np.int64),
            "logins_last_30d": c["logins"].astype(np.int64),
            "satisfaction_score": c["satisfaction_obs"],
            LEAKY_COLUMN: c["closure_fee"],
            CHURN_TARGET: _text(c["churned"].astype(np.int8), np.array(["No", "Yes"])),
        }
    )


def as_written(churn: pd.DataFrame) -> pd.DataFrame:
    """The churn table as ``churn.csv`` holds it: whole-number float columns as integers."""
    out = churn.copy()
    for col in ("age", "satisfaction_score"):
        if col in out.columns:
            out[col] = out[col].astype("Int64")
    return out
