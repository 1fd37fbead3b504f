"""The production-readiness gate: budgets, edge cases and export in one report, then a verdict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from foldwise.bundle import Bundle
from foldwise.config import ProductionConfig
from foldwise.errors import FoldwiseError
from foldwise.markdown import escape, table
from foldwise.production.edge_cases import run_edge_cases
from foldwise.production.export import export_onnx
from foldwise.production.measure import check_budgets, measure_in_fresh_process

PARITY_ROWS = 5000


@dataclass(frozen=True)
class GateResult:
    """Everything the validate stage measured, and the one-line failures (empty: passed)."""

    report: dict[str, Any]
    failures: list[str]


def run_gate(
    bundle_dir: Path, train_path: Path, config: ProductionConfig, export_path: Path, seed: int
) -> GateResult:
    """Measure, check and export; never raises for a missed budget (see ``failures``)."""
    bundle = Bundle.load(bundle_dir)
    train = pd.read_parquet(train_path)
    figures = measure_in_fresh_process(bundle_dir, train_path, config.latency_calls)
    budgets = check_budgets(figures, config.model_dump())
    sample = train.sample(n=min(len(train), 500), random_state=seed)
    cases = run_edge_cases(bundle, sample, large_rows=config.large_batch_rows)
    parity_rows = train.sample(n=min(len(train), PARITY_ROWS), random_state=seed)
    export = export_onnx(bundle, parity_rows, export_path)
    failures = [check["message"] for check in budgets if not check["met"]]
    failures += [
        f"edge case {case['name']!r}: expected to {case['expected']}; {case['detail']}"
        for case in cases
        if not case["passed"]
    ]
    report = {
        "model": bundle.metadata.get("model_name", bundle.model.name),
        "verdict": "pass" if not failures else "fail",
        "figures": figures,
        "budgets": budgets,
        "edge_cases": cases,
        "onnx": export,
        "bundle_files": bundle.files,
        "input_schema": "input_schema.json in the bundle",
    }
    return GateResult(report, failures)


def gate_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers for DVC metrics (``dvc exp show``), tracked in git.

    Latency, throughput and memory are measurements of this machine at this moment: they live
    in ``report.json`` (DVC cache), so a rerun elsewhere does not change a tracked file.
    """
    figures = report["figures"]
    return {
        "verdict_pass": report["verdict"] == "pass",
        "model_mb": figures["model_mb"],
        "edge_cases_passed": sum(case["passed"] for case in report["edge_cases"]),
        "edge_cases": len(report["edge_cases"]),
        "onnx_exported": bool(report["onnx"].get("exported")),
    }


def render_gate(report: dict[str, Any]) -> str:
    """The gate's Markdown report: figures against budgets, edge cases, export."""
    figures = report["figures"]
    lines = [
        f"# Production readiness: {report['verdict'].upper()}",
        "",
        f"Measured in a fresh process on {figures['rows']:,} raw training rows, each scored "
        f"once (batch of {figures.get('batch_rows', figures['rows']):,} rows) "
        f"(load average {', '.join(f'{x:.2f}' for x in figures['load_average'])}).",
        "",
    ]
    budgets = [
        [
            f"`{check['budget']}`",
            f"{check['measured']:.4g} {check['unit']}",
            f"{check['limit']:g}",
            "yes" if check["met"] else "**no**",
        ]
        for check in report["budgets"]
    ]
    lines += table(["budget", "measured", "limit", "met"], budgets)
    lines += [
        "",
        f"One row (dict): p50 {figures['latency_p50_ms']:.3f} ms, p99 "
        f"{figures['latency_p99_ms']:.3f} ms over {figures['latency_calls']} calls; bundle load "
        f"{figures['load_s']:.2f} s.",
        "",
        "## Edge cases",
        "",
    ]
    cases = [
        [
            str(case["name"]),
            str(case["expected"]),
            str(case["behaviour"]),
            "yes" if case["passed"] else "**no**",
            escape(case["detail"]),
        ]
        for case in report["edge_cases"]
    ]
    lines += table(["case", "expected", "behaviour", "held", "what happened"], cases)
    onnx = report["onnx"]
    lines += ["", "## ONNX export", ""]
    if onnx.get("exported"):
        lines.append(
            f"Exported to `{onnx['path']}`; largest absolute difference from the bundle on "
            f"{onnx['parity_rows']:,} raw rows: {onnx['max_abs_diff']:.2e} "
            f"(tolerance {onnx['tolerance']:g})."
        )
    else:
        lines.append(f"Not exported: {onnx['reason']}.")
    return "\n".join(lines) + "\n"


def require_pass(result: GateResult) -> None:
    """Raise the first failure as the stage's one-line error (after the report is written)."""
    if result.failures:
        more = f" (and {len(result.failures) - 1} more)" if len(result.failures) > 1 else ""
        raise FoldwiseError(f"validate: {result.failures[0]}{more}")
