"""prepare: raw table -> typed train table, sealed test table, schema and label-free split checks."""

from __future__ import annotations

from foldwise.model_settings import load_config
from foldwise.paths import ProjectPaths
from foldwise.prepare import label_free_split_checks, prepare_tables
from foldwise.stage import run_stage, write_json_atomic, write_parquet_atomic


def main() -> None:
    paths = ProjectPaths.from_cwd()
    config = load_config(paths.params)
    prepared = prepare_tables(config, paths.root)
    for note in prepared.problem.notes:
        print(note)
    checks = label_free_split_checks(prepared, config)
    write_parquet_atomic(paths.train_table, prepared.train)
    write_parquet_atomic(paths.test_table, prepared.test)
    write_json_atomic(paths.split_report, checks)
    write_json_atomic(paths.schema, prepared.schema)
    split = prepared.schema["split"]
    print(
        f"prepare: {split['train_rows']} train rows, {split['test_rows']} test rows "
        f"({split['strategy']} split); task {prepared.problem.task}, "
        f"metric {prepared.problem.metric}"
    )
    if split["strategy"] == "provided":
        dropped = split["test_rows_without_target"]
        print(
            f"prepare: test table {split['test_source']} kept whole: {split['test_rows']} of "
            f"{split['test_rows_read']} rows, {split['test_duplicate_rows_kept']} duplicate "
            "row(s) kept" + (f", {dropped} row(s) without a target left out" if dropped else "")
        )


if __name__ == "__main__":
    run_stage(main)
