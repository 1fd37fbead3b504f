"""False alarm rate of `foldwise monitor` on stable months, over many seeds.

For each seed: simulate a training table and N months with no planted change, train a bundle
on the table (in-process, as the tests do), monitor the months with their labels and count
the periods where a check fires: any feature or the predictions drifted, a data-quality
finding, an estimated or realized drop, a significant residual, a retrain verdict.

python benchmarks/false_alarms.py --seeds 10 --months 12 --rows 2000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from foldwise.config import parse_config
    from foldwise.monitor.run import monitor
    from foldwise.monitor.simulate import Scenario, write_simulation
    from tests.monitor_support import train_churn_bundle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--rows", type=int, default=2000, help="rows per month")
    parser.add_argument("--train-rows", type=int, default=6000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    checks = ("drift", "prediction_drift", "quality", "estimated_drop", "realized_drop")
    counts = dict.fromkeys((*checks, "residual", "retrain", "periods", "judged_labels"), 0)
    per_feature: dict[str, int] = {}  # drifted features and quality findings by column
    psi_max = 0.0
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            scenario = Scenario(
                months=args.months, rows_per_month=args.rows, train_rows=args.train_rows,
                shift_month=None, concept_month=None, label_delay=0, seed=100 + seed,
            )  # fmt: skip
            manifest = write_simulation(scenario, work / "sim")
            model = train_churn_bundle(work / "proj", Path(manifest["train"]))
            summary = monitor(
                [Path(p) for p in manifest["batches"]],
                model_dir=model,
                labels_paths=[Path(p) for p in manifest["labels"]],
                period="month",
                out=work / "report",
                config=parse_config({}),
                seed=seed,
            )
        for p in summary["periods"]:
            counts["periods"] += 1
            drifted = [d["feature"] for d in p["drift"] if d["drifted"]]
            for f in drifted:
                per_feature[f] = per_feature.get(f, 0) + 1
            counts["drift"] += bool(drifted)
            prediction = p["prediction_drift"] or {}
            counts["prediction_drift"] += bool(prediction.get("drifted"))
            psi_max = max(psi_max, prediction.get("psi") or 0.0)
            counts["quality"] += bool(p["quality"])
            for q in p["quality"]:
                key = f"{q['check']}:{q['column']}"
                per_feature[key] = per_feature.get(key, 0) + 1
            perf = p["performance"]
            counts["estimated_drop"] += bool((perf.get("estimated_drop") or {}).get("dropped"))
            if perf.get("realized_drop"):
                counts["judged_labels"] += 1
                counts["realized_drop"] += bool(perf["realized_drop"]["dropped"])
                flagged = [r["feature"] for r in perf.get("residuals", []) if r["significant"]]
                counts["residual"] += bool(flagged)
                for f in flagged:
                    per_feature[f"residual:{f}"] = per_feature.get(f"residual:{f}", 0) + 1
            counts["retrain"] += p["verdict"]["status"] == "retrain"
        print(f"seed {seed}: {json.dumps(counts)} max prediction PSI {psi_max:.3f}", flush=True)
    result = {
        "settings": vars(args) | {"json": None},
        "counts": counts,
        "by_column": per_feature,  # drifted features, quality findings, residuals
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
