"""Time `prepare` and `audit` on the demo churn table at several sizes, with peak memory.

Each size runs in its own process so peak RSS is that size's alone:

    python benchmarks/bench_prepare_audit.py                 # 20k, 200k, 1M rows
    python benchmarks/bench_prepare_audit.py --rows 20000    # one size
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (20_000, 200_000, 1_000_000)


def run_one(rows: int) -> dict:
    from foldwise.audit import build_audit
    from foldwise.config import parse_config
    from foldwise.demo import write_builtin_datasets
    from foldwise.model_settings import load_config
    from foldwise.prepare import label_free_split_checks, prepare_tables

    root = Path(__file__).resolve().parents[1]
    base = load_config(root / "params.yaml").model_dump()
    config = parse_config({**base, "demo": {**base["demo"], "rows": rows}})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        write_builtin_datasets(work / "data" / "builtin", rows, config.demo.seed)
        generated = time.perf_counter()
        prepared = prepare_tables(config, work)
        checks = label_free_split_checks(prepared, config)
        prepare_path = work / "train.parquet"
        prepared.train.to_parquet(prepare_path, index=False)
        prepared.test.to_parquet(work / "test.parquet", index=False)
        prepared_at = time.perf_counter()
        import pandas as pd

        train = pd.read_parquet(prepare_path)
        audit = build_audit(train, prepared.schema, checks, config.audit, config.seed)
        audited = time.perf_counter()
    return {
        "rows": rows,
        "generate_s": round(generated - started, 2),
        "prepare_s": round(prepared_at - generated, 2),
        "audit_s": round(audited - prepared_at, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "findings": len(audit["findings"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="table size (repeatable)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    print(f"{'rows':>10} {'generate s':>11} {'prepare s':>10} {'audit s':>8} {'peak MiB':>9}")
    for rows in args.rows or SIZES:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(rows)], capture_output=True, text=True
        )
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            sys.exit(out.returncode)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['rows']:>10,} {r['generate_s']:>11} {r['prepare_s']:>10} "
            f"{r['audit_s']:>8} {r['peak_rss_mib']:>9}"
        )


if __name__ == "__main__":
    main()
