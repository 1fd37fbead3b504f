"""How often the train_test_duplicates rule fails honest splits, and how often it catches copies.

Generated tables of repeated low-cardinality profiles (tests/support/realistic_tables.py) with three
levels of repetition: profiles only (most rows repeat), plus an age column (about one in six),
plus a continuous column (almost none). Each is split at random 80/20 over many seeds; then a
share of the test rows is replaced by copies of training rows. Prints the failure rate of the
rule with the default audit settings for each case.

    python benchmarks/bench_duplicate_rule.py [--seeds 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from foldwise.audit.duplicates import judge_train_test_duplicates, train_test_duplicates
from foldwise.config import AuditConfig
from foldwise.data import coerce_table
from tests.support.realistic_tables import profile_table, split_rows

FEATURES = ["plan", "contract", "region", "senior", "tenure_band", "monthly_fee"]


def table(n: int, kind: str, seed: int) -> pd.DataFrame:
    frame = profile_table(n, seed=seed, continuous=kind == "continuous")
    if kind == "age":
        frame["age"] = np.random.default_rng(seed).integers(18, 80, n)
    return coerce_table(frame, target="target", id_columns=["customer_id"], date_columns=[]).frame


def fails(train: pd.DataFrame, test: pd.DataFrame, config: AuditConfig) -> tuple[bool, dict]:
    columns = [c for c in train.columns if c not in ("customer_id", "target")]
    dup = train_test_duplicates(train, test, columns)
    [finding] = judge_train_test_duplicates(dup, config) or [{"excluded": True}]
    return not finding["excluded"], dup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    config = AuditConfig()
    print("rows   table       copied  fail-rate  observed  expected (means over seeds)")
    for n in (7000, 30000):
        for kind in ("profiles", "age", "continuous"):
            for copied in (0.0, 0.01, 0.02, 0.05):
                failed, observed, expected = 0, [], []
                for seed in range(args.seeds):
                    train, test = split_rows(table(n, kind, seed), test_share=0.2, seed=seed)
                    k = round(copied * len(test))
                    if k:
                        copies = train.sample(k, random_state=seed)
                        test = pd.concat([test.iloc[k:], copies], ignore_index=True)
                    flag, dup = fails(train, test, config)
                    failed += flag
                    observed.append(dup["share_of_test"])
                    expected.append(dup["expected_share"])
                print(
                    f"{n:<6} {kind:<11} {copied:>5.0%}  {failed / args.seeds:>8.0%}  "
                    f"{np.mean(observed):>8.2%}  {np.mean(expected):>8.2%}"
                )


if __name__ == "__main__":
    main()
