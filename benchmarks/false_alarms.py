"""False alarm rate of `foldwise monitor` on stable months, and detection of planted changes.

For each seed: simulate a training table and N months, monitor the months with their labels
and count, over the stable months (those before the first planted change), the periods where
a check fires: any feature or the predictions drifted, a data-quality finding, an estimated
or realized drop, a significant residual, a verdict other than ok. With a planted covariate
shift (``--shift-month``) or concept change (``--concept-month``), also record the first
month each is caught and what is named: the top drifted feature for the shift, the
realized drop and the top residual feature (and its bin) for the concept change.

The model is either a bundle given with ``--model`` (e.g. the shipped demo model,
``models/model`` after ``dvc checkout``; the simulator draws from the demo table's
population) or, without it, one trained in-process on each seed's ``train.csv``.

python benchmarks/false_alarms.py --model models/model --seeds 20 --shift-month 5 --concept-month 9
python benchmarks/false_alarms.py --seeds 10 --months 12 --rows 2000      # trained per seed
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHECKS = ("drift", "prediction_drift", "quality", "estimated_drop", "realized_drop")


def _count_stable(period: dict[str, Any], counts: dict[str, int], by: dict[str, int]) -> None:
    """Add one stable period's fired checks to ``counts`` and the columns named to ``by``."""
    counts["periods"] += 1
    drifted = [d["feature"] for d in period["drift"] if d["drifted"]]
    for f in drifted:
        by[f] = by.get(f, 0) + 1
    counts["drift"] += bool(drifted)
    counts["prediction_drift"] += bool((period["prediction_drift"] or {}).get("drifted"))
    counts["quality"] += bool(period["quality"])
    for q in period["quality"]:
        key = f"{q['check']}:{q['column']}"
        by[key] = by.get(key, 0) + 1
    perf = period["performance"]
    counts["estimated_drop"] += bool((perf.get("estimated_drop") or {}).get("dropped"))
    if perf.get("realized_drop"):
        counts["judged_labels"] += 1
        counts["realized_drop"] += bool(perf["realized_drop"]["dropped"])
        flagged = [r["feature"] for r in perf.get("residuals", []) if r["significant"]]
        counts["residual"] += bool(flagged)
        for f in flagged:
            by[f"residual:{f}"] = by.get(f"residual:{f}", 0) + 1
    counts["not_ok"] += period["verdict"]["status"] != "ok"
    counts["retrain"] += period["verdict"]["status"] == "retrain"


def _detections(summary: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """First month the shift and the concept change are caught, and what is named there."""
    out: dict[str, Any] = {}
    shift = manifest.get("shift")
    if shift:
        hit = next((p for p in summary["periods"] if any(d["drifted"] for d in p["drift"])), None)
        out["shift"] = {
            "planted": shift["from"],
            "caught": None if hit is None else hit["period"],
            "named": None if hit is None else [d["feature"] for d in hit["drift"] if d["drifted"]],
            "expected": shift["feature"],
        }
    concept = manifest.get("concept")
    if concept:
        hit = next(
            (
                p
                for p in summary["periods"]
                if (p["performance"].get("realized_drop") or {}).get("dropped")
            ),
            None,
        )
        top = (hit or {}).get("performance", {}).get("residuals") or [{}]
        out["concept"] = {
            "planted": concept["from"],
            "caught": None if hit is None else hit["period"],
            "named": top[0].get("feature") if top[0].get("significant") else None,
            "bin": top[0].get("worst_bin"),
            "expected": concept["feature"],
        }
    return out


def _one_seed(args: argparse.Namespace, seed: int, work: Path) -> tuple[dict, dict]:
    from foldwise.config import parse_config
    from foldwise.monitor.run import monitor
    from foldwise.monitor.simulate import Scenario, write_simulation

    scenario = Scenario(
        months=args.months, rows_per_month=args.rows, train_rows=args.train_rows,
        shift_month=args.shift_month or None, concept_month=args.concept_month or None,
        label_delay=args.label_delay, seed=100 + seed,
    )  # fmt: skip
    manifest = write_simulation(scenario, work / "sim")
    if args.model is not None:
        model = args.model
    else:
        from tests.monitor.support import train_churn_bundle

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
    return summary, manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--rows", type=int, default=2000, help="rows per month")
    parser.add_argument("--train-rows", type=int, default=6000)
    parser.add_argument("--shift-month", type=int, default=0, help="0: none")
    parser.add_argument("--concept-month", type=int, default=0, help="0: none")
    parser.add_argument("--label-delay", type=int, default=0)
    parser.add_argument("--model", type=Path, help="a bundle (default: train one per seed)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    planted = [m for m in (args.shift_month, args.concept_month) if m]
    first_change = min(planted) if planted else args.months + 1
    counts = dict.fromkeys(
        (*CHECKS, "residual", "not_ok", "retrain", "periods", "judged_labels"), 0
    )
    by_column: dict[str, int] = {}
    detections = []
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            summary, manifest = _one_seed(args, seed, Path(tmp))
        for month, period in enumerate(summary["periods"], start=1):
            if month < first_change:
                _count_stable(period, counts, by_column)
        found = _detections(summary, manifest)
        detections.append({"seed": seed} | found)
        print(f"seed {seed}: {json.dumps(counts)} {json.dumps(found)}", flush=True)
    result = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "stable_periods": counts["periods"],
        "false_alarm_rate": counts["not_ok"] / max(1, counts["periods"]),
        "counts": counts,
        "by_column": by_column,  # drifted features, quality findings, residuals
        "detections": detections,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "detections"}, indent=2))
    for kind in ("shift", "concept"):
        rows = [d[kind] for d in detections if kind in d]
        if rows:
            first = sum(r["caught"] == r["planted"] for r in rows)
            named = sum(
                r["expected"] == (r["named"][0] if isinstance(r["named"], list) else r["named"])
                for r in rows
                if r["named"]
            )
            print(f"{kind}: caught in its first month {first}/{len(rows)}, "
                  f"named {rows[0]['expected']} first {named}/{len(rows)}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
