"""validate: production budgets, input-contract edge cases and ONNX export of the bundle."""

from __future__ import annotations

from foldwise.model_settings import load_config
from foldwise.paths import ProjectPaths
from foldwise.production.gate import gate_metrics, render_gate, require_pass, run_gate
from foldwise.stage import run_stage, write_json_atomic, write_text_atomic


def main() -> None:
    paths = ProjectPaths.from_cwd()
    config = load_config(paths.params, fitted=())
    out_dir = paths.report_dir("validate")
    export_dir = paths.models_dir / "export"
    export_dir.mkdir(parents=True, exist_ok=True)
    result = run_gate(
        paths.models_dir / "model",
        paths.train_table,
        config.production,
        export_dir / "model.onnx",
        config.seed,
    )
    write_json_atomic(export_dir / "export.json", result.report["onnx"])
    write_json_atomic(out_dir / "report.json", result.report)
    write_json_atomic(out_dir / "metrics.json", gate_metrics(result.report))
    write_text_atomic(out_dir / "report.md", render_gate(result.report))
    figures = result.report["figures"]
    print(
        f"validate {result.report['verdict']}: p99 one row {figures['latency_p99_ms']:.2f} ms, "
        f"{figures['rows_per_s']:,.0f} rows/s, bundle {figures['model_mb']:.1f} MB, peak memory "
        f"{figures['peak_memory_mb']:.0f} MB; edge cases "
        f"{sum(c['passed'] for c in result.report['edge_cases'])}/"
        f"{len(result.report['edge_cases'])} held; ONNX "
        + ("exported" if result.report["onnx"].get("exported") else "not exported")
    )
    require_pass(result)


if __name__ == "__main__":
    run_stage(main)
