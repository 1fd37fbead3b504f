"""evaluate: the one look at the sealed test table: metrics, interval, plots, segments."""

from __future__ import annotations

from foldwise.artifacts import read_parquet_checked, read_schema
from foldwise.bundle import load_bundle_checked
from foldwise.evaluate import evaluate_test_table, write_plots
from foldwise.model_settings import load_config
from foldwise.paths import ProjectPaths
from foldwise.stage import run_stage, write_json_atomic, write_parquet_atomic


def main() -> None:
    paths = ProjectPaths.from_cwd()
    config = load_config(paths.params, fitted=())
    schema = read_schema(paths.schema)
    bundle = load_bundle_checked(paths.models_dir / "model")
    problem = bundle.problem
    test = read_parquet_checked(
        paths.test_table, [problem.target, *(str(f["name"]) for f in bundle.features)]
    )
    # Every output is computed before the first is written, so a failure leaves none behind.
    evaluation = evaluate_test_table(bundle, test, schema, config)
    out_dir = paths.report_dir("evaluate")
    write_plots(evaluation, str(out_dir / "live"))
    write_parquet_atomic(out_dir / "predictions.parquet", evaluation.predictions)
    write_json_atomic(out_dir / "metrics.json", evaluation.metrics_json())
    write_json_atomic(out_dir / "segments.json", {"segments": evaluation.segments})
    print(evaluation.summary_line())


if __name__ == "__main__":
    run_stage(main)
