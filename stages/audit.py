"""audit: leakage and data-quality checks on the training table, plus prepare's split checks.

Never reads the sealed test table: train-vs-test results come from split_checks.json.
"""

from __future__ import annotations

from foldwise.artifacts import read_json_checked, read_parquet_checked
from foldwise.audit.run import run_audit
from foldwise.errors import FoldwiseError
from foldwise.model_settings import load_config
from foldwise.paths import ProjectPaths
from foldwise.stage import write_json_atomic, write_text_atomic


def main() -> None:
    cfg = load_config("params.yaml", fitted=())
    paths = ProjectPaths.from_cwd()
    schema = read_json_checked(paths.schema, ("target",))
    split_checks = read_json_checked(paths.split_report)
    train = read_parquet_checked(paths.train_table, [schema["target"]])

    result = run_audit(train, schema, split_checks, cfg.audit, cfg.seed)
    out = paths.report_dir("audit")
    write_json_atomic(out / "audit.json", result.headline())
    write_json_atomic(out / "audit_details.json", result.details)
    write_text_atomic(out / "audit.md", result.markdown())
    print(result.summary_line(str((out / "audit.md").relative_to(paths.root))))
    if not result.passed:
        raise FoldwiseError(result.failure_message())


if __name__ == "__main__":
    from foldwise.stage import run_stage

    run_stage(main)
