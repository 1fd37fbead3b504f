"""audit: leakage and data-quality checks on the training table, plus prepare's split checks.

Never reads the sealed test table: train-vs-test results come from split_checks.json.
"""

from __future__ import annotations

from foldwise.artifacts import read_json_checked, read_parquet_checked
from foldwise.audit import build_audit, failed_findings, failure_line, render_markdown
from foldwise.errors import FoldwiseError
from foldwise.model_settings import load_config
from foldwise.paths import ProjectPaths
from foldwise.stage import rounded, write_json_atomic, write_text_atomic

HEADLINE = (
    "passed",
    "n_findings",
    "n_failing",
    "rows_train",
    "n_features",
    "adversarial_auc",
    "max_psi",
    "leakage_columns",
    "max_leakage_score",
    "train_test_duplicates",
    "temporal_overlap_rows",
)


def main() -> None:
    cfg = load_config("params.yaml")
    paths = ProjectPaths.from_cwd()
    schema = read_json_checked(paths.schema, ("target",))
    split_checks = read_json_checked(paths.split_report)
    train = read_parquet_checked(paths.train_table, [schema["target"]])

    # Rounded once, so the JSON, the Markdown and the verdict all read the same digits.
    audit = rounded(build_audit(train, schema, split_checks, cfg.audit, cfg.seed))
    out = paths.report_dir("audit")
    # audit.json holds the headline numbers (DVC metrics: one column each in `dvc exp show`);
    # audit_details.json holds every section.
    write_json_atomic(out / "audit.json", {k: audit[k] for k in HEADLINE if k in audit})
    write_json_atomic(out / "audit_details.json", audit)
    write_text_atomic(out / "audit.md", render_markdown(audit))

    failing = failed_findings(audit, cfg.audit.fail_on)
    status = "passed" if not failing else "FAILED"
    print(
        f"audit {status}: {audit['n_findings']} finding(s), {len(failing)} failing; "
        f"report in {(out / 'audit.md').relative_to(paths.root)}"
    )
    if failing:
        raise FoldwiseError(failure_line(failing))


if __name__ == "__main__":
    from foldwise.stage import run_stage

    run_stage(main)
