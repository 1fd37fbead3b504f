"""Small generated tables that look like real ones: repeated low-cardinality profiles, numbers
as text with blanks, an id column, a signup date."""

import numpy as np
import pandas as pd

DEFAULT_FAIL_ON = ["leakage", "train_test_duplicates", "temporal_overlap"]


def profile_table(
    n: int = 1500,
    seed: int = 0,
    *,
    task: str = "binary",
    labels: tuple = ("No", "Yes"),
    with_id: bool = True,
    continuous: bool = False,
    date: bool = False,
) -> pd.DataFrame:
    """Customers described by a few low-cardinality columns, so many share a profile."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    contract = rng.choice(["monthly", "annual", "two-year"], n, p=[0.55, 0.3, 0.15])
    region = rng.choice(["north", "south", "east", "west"], n)
    senior = rng.random(n) < 0.2
    tenure_band = rng.integers(0, 5, n)
    fee = pd.Series(plan).map({"basic": "20", "plus": "45", "pro": "80"})
    fee = fee.where(rng.random(n) > 0.03, " ")  # numbers as text, with blanks
    frame = pd.DataFrame(
        {
            "plan": plan,
            "contract": contract,
            "region": region,
            "senior": np.where(senior, "Yes", "No"),
            "tenure_band": tenure_band,
            "monthly_fee": fee.to_numpy(),
        }
    )
    if with_id:
        frame.insert(0, "customer_id", [f"C{i:06d}" for i in rng.permutation(n)])
    if continuous:
        frame["usage_gb"] = rng.gamma(2.0, 15.0, n).round(2)
    if date:
        days = rng.integers(0, 3 * 365, n)
        frame["signup_date"] = (pd.Timestamp("2021-01-01") + pd.to_timedelta(days, "D")).strftime(
            "%Y-%m-%d"
        )
    signal = (
        1.2 * (contract == "monthly")
        - 0.8 * (contract == "two-year")
        + 0.5 * (plan == "basic")
        + 0.4 * senior
        - 0.3 * tenure_band
        + rng.normal(0, 1.0, n)
    )
    if task == "binary":
        frame["target"] = np.where(signal > 0.9, labels[1], labels[0])
    elif task == "multiclass":
        frame["target"] = np.select([signal < -0.3, signal < 0.8], ["low", "mid"], default="high")
    else:
        frame["target"] = (50 + 10 * signal).round(2)
    return frame


def split_rows(frame: pd.DataFrame, test_share: float = 0.25, seed: int = 1) -> tuple:
    """Rows shuffled at random into train and test."""
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(len(frame) * (1 - test_share))
    train = frame.iloc[order[:cut]].reset_index(drop=True)
    return train, frame.iloc[order[cut:]].reset_index(drop=True)
