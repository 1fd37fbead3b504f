"""``foldwise predict``: files of any size scored chunk by chunk equal ``Bundle.predict``."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foldwise.bundle import Bundle
from foldwise.cli import main
from foldwise.data import read_table
from tests.support.serve import train_bundle

TASKS = ["binary", "multiclass", "regression"]


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, tuple[Path, pd.DataFrame]]:
    root = tmp_path_factory.mktemp("bundles")
    return {task: (root / task, train_bundle(task, root / task)[1]) for task in TASKS}


def run_cli(*args: str | Path) -> int:
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def expected(bundle_dir: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """What Bundle.predict says about rows read the project's way, with the id column."""
    result = Bundle.load(bundle_dir).predict(rows)
    return pd.concat([rows[["row_id"]].rename(columns={"row_id": "id:row_id"}), result], axis=1)


def assert_same(output: Path, want: pd.DataFrame) -> None:
    got = pd.read_parquet(output) if output.suffix == ".parquet" else pd.read_csv(output)
    assert list(got.columns[: len(want.columns)]) == list(want.columns)
    assert list(got.columns[len(want.columns) :]) == ["model_version", "model_sha256"]
    assert got["id:row_id"].astype(str).tolist() == want["id:row_id"].astype(str).tolist()
    assert got["prediction"].astype(str).tolist() == want["prediction"].astype(str).tolist()
    for column in want.columns[1:]:
        if column != "prediction" or want[column].dtype.kind == "f":
            # Parquet keeps float64 exactly; CSV text round-trips each double exactly too.
            np.testing.assert_array_equal(got[column].to_numpy(float), want[column].to_numpy(float))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("out_suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("in_suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("task", TASKS)
def test_output_equals_bundle_predict(bundles, tmp_path, task, in_suffix, out_suffix, capsys):
    bundle_dir, table = bundles[task]
    source = tmp_path / f"rows{in_suffix}"
    if in_suffix == ".csv":
        table.to_csv(source, index=False)
    else:
        table.to_parquet(source, index=False)
    before = sha(source)
    out = tmp_path / f"out{out_suffix}"
    # 37-row chunks: the file is read in 9 pieces, the last one short.
    assert run_cli("predict", source, "-o", out, "--model", bundle_dir, "--chunk-rows", 37) == 0
    assert_same(out, expected(bundle_dir, read_table(source)))
    assert sha(source) == before
    err = capsys.readouterr().err
    assert err.count("ignoring 1 column(s) the model does not use: label") == 1
    assert not list(tmp_path.glob(".*partial*"))


def test_csv_columns_keep_one_meaning_across_chunks(bundles, tmp_path):
    """A category that looks numeric in the first chunk and text later, and the missing
    markers pandas knows, are read as the project reads the whole file."""
    bundle_dir, table = bundles["binary"]
    rows = table.copy()
    rows.loc[:99, "colour"] = [str(i % 3) for i in range(100)]
    rows.loc[100:105, "colour"] = ["#N/A", "NA", "<NA>", " None ", "", "null"]
    rows.loc[110:115, "x1"] = ["1,234.5", " 7 ", "NaN", "-", "?", "1e3"]
    rows.loc[120:121, "member"] = ["TRUE", "0"]
    source = tmp_path / "rows.csv"
    rows.to_csv(source, index=False)
    out = tmp_path / "out.parquet"
    assert run_cli("predict", source, "-o", out, "--model", bundle_dir, "--chunk-rows", 50) == 0
    assert_same(out, expected(bundle_dir, read_table(source)))


def test_a_folder_and_a_glob_are_read_in_path_order(bundles, tmp_path, capsys):
    bundle_dir, table = bundles["multiclass"]
    folder = tmp_path / "batches"
    (folder / "b").mkdir(parents=True)
    table.iloc[:100].to_csv(folder / "a.csv", index=False)
    table.iloc[100:220].to_parquet(folder / "b" / "part-0.parquet", index=False)
    table.iloc[220:].to_csv(folder / "c.csv", index=False)
    (folder / "_SUCCESS").write_text("")  # what Spark leaves; not data
    (folder / ".a.csv.crc").write_text("x")
    out = tmp_path / "out.parquet"
    assert run_cli("predict", folder, "-o", out, "--model", bundle_dir, "--chunk-rows", 64) == 0
    want = pd.concat([read_table(folder / "a.csv"), read_table(folder / "b" / "part-0.parquet"),
                      read_table(folder / "c.csv")], ignore_index=True)  # fmt: skip
    assert_same(out, expected(bundle_dir, want))
    assert "from 300 row(s) in 3 file(s)" in capsys.readouterr().out
    glob_out = tmp_path / "glob.parquet"
    pattern = str(folder / "*.csv")
    assert run_cli("predict", pattern, "-o", glob_out, "--model", bundle_dir) == 0
    assert len(pd.read_parquet(glob_out)) == 180


def test_missing_feature_columns_are_refused_by_name(bundles, tmp_path, capsys):
    bundle_dir, table = bundles["regression"]
    source = tmp_path / "rows.parquet"
    table.drop(columns=["x2", "day"]).to_parquet(source, index=False)
    out = tmp_path / "out.parquet"
    assert run_cli("predict", source, "-o", out, "--model", bundle_dir) == 2
    err = capsys.readouterr().err
    assert f"{source}: missing feature column(s) 'x2', 'day' expected by the model" in err
    assert not out.exists()


def test_unknown_suffix_and_missing_input_are_refused(bundles, tmp_path, capsys):
    bundle_dir, table = bundles["binary"]
    folder = tmp_path / "in"
    folder.mkdir()
    table.to_csv(folder / "rows.csv", index=False)
    (folder / "notes.xlsx").write_bytes(b"PK")
    out = tmp_path / "out.parquet"
    assert run_cli("predict", folder, "-o", out, "--model", bundle_dir) == 2
    assert "notes.xlsx: unsupported file type '.xlsx'" in capsys.readouterr().err
    assert run_cli("predict", tmp_path / "nope.csv", "-o", out, "--model", bundle_dir) == 2
    assert "nope.csv: no such file or folder" in capsys.readouterr().err
    assert (
        run_cli("predict", folder / "rows.csv", "-o", tmp_path / "o.json", "--model", bundle_dir)
        == 2
    )
    assert "unsupported output suffix '.json'" in capsys.readouterr().err
    assert not out.exists()


def bad_table(table: pd.DataFrame) -> pd.DataFrame:
    rows = table.copy()
    rows.loc[41, "x1"] = "twelve"
    rows.loc[170, "member"] = "maybe"
    rows.loc[171, "x1"] = "twelve"
    return rows


@pytest.mark.parametrize("in_suffix", [".csv", ".parquet"])
def test_a_bad_cell_fails_naming_file_row_column_and_value(bundles, tmp_path, capsys, in_suffix):
    bundle_dir, table = bundles["binary"]
    source = tmp_path / f"rows{in_suffix}"
    rows = bad_table(table)
    rows.to_csv(source, index=False) if in_suffix == ".csv" else rows.to_parquet(source)
    out = tmp_path / "out.parquet"
    code = run_cli("predict", source, "-o", out, "--model", bundle_dir, "--chunk-rows", 40)
    assert code == 2
    err = capsys.readouterr().err
    assert f"error: {source}: row 42, column 'x1': 'twelve' is not a number" in err
    assert "--on-error skip" in err
    assert not out.exists()
    assert not list(tmp_path.glob(".*partial*"))


def test_skip_leaves_bad_rows_out_and_counts_them(bundles, tmp_path, capsys):
    bundle_dir, table = bundles["multiclass"]
    source = tmp_path / "rows.csv"
    bad_table(table).to_csv(source, index=False)
    out = tmp_path / "out.csv"
    code = run_cli("predict", source, "-o", out, "--model", bundle_dir, "--chunk-rows", 40,
                   "--on-error", "skip")  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert "skipped 3 row(s)" in captured.err
    assert f"{source}: row 42, column 'x1': 'twelve' is not a number" in captured.err
    assert f"{source}: row 171, column 'member': 'maybe' is not a boolean" in captured.err
    assert "297 prediction(s) from 300 row(s)" in captured.out
    rows = read_table(source).drop(index=[41, 170, 171])
    assert_same(out, expected(bundle_dir, rows))


def test_an_existing_output_needs_force(bundles, tmp_path, capsys):
    bundle_dir, table = bundles["regression"]
    source = tmp_path / "rows.parquet"
    table.to_parquet(source, index=False)
    out = tmp_path / "out.parquet"
    out.write_text("keep me")
    assert run_cli("predict", source, "-o", out, "--model", bundle_dir) == 2
    assert f"{out}: already exists; --force replaces it" in capsys.readouterr().err
    assert out.read_text() == "keep me"
    assert run_cli("predict", source, "-o", source, "--model", bundle_dir, "--force") == 2
    assert "is also an input" in capsys.readouterr().err
    assert run_cli("predict", source, "-o", out, "--model", bundle_dir, "--force") == 0
    assert_same(out, expected(bundle_dir, read_table(source)))


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_run_leaves_no_output_file(bundles, tmp_path, how):
    bundle_dir, table = bundles["binary"]
    source = tmp_path / "big.parquet"
    pd.concat([table] * 400, ignore_index=True).to_parquet(source, index=False)  # 120,000 rows
    out = tmp_path / "out.parquet"
    command = [sys.executable, "-m", "foldwise.cli", "predict", str(source), "-o", str(out),
               "--model", str(bundle_dir), "--chunk-rows", "500"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, env=os.environ.copy())
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.parquet.partial-*")):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(how)
    process.wait(timeout=30)
    assert process.returncode != 0
    assert not out.exists()
    partial = list(tmp_path.glob(".out.parquet.partial-*"))
    if how == signal.SIGTERM:  # unwound: the partial file is removed too
        assert partial == []
        assert b"was not written" in process.stderr.read()


def test_csv_chunks_read_cells_as_read_table_does(tmp_path):
    from foldwise.production.batch_input import describe_file, read_chunks

    text = (
        '\ufeffid; a ;b\n1;#N/A;"two\nlines"\n2; NA ;\n3;<NA>;None\n4;null;n/a\n5;"";x\n6;007;1,5\n'
    )
    source = tmp_path / "semi.csv"
    source.write_text(text, encoding="utf-8")
    file = describe_file(source)
    assert file.separator == ";"
    assert file.columns == ("id", "a", "b")
    chunks = list(read_chunks(file, ["id", "a", "b"], chunk_rows=4))
    assert [len(c.frame) for c in chunks] == [4, 2]
    assert [c.first_row for c in chunks] == [0, 4]
    got = pd.concat([c.frame for c in chunks])
    want = read_table(source, separator=";")
    pd.testing.assert_frame_equal(got, want, check_index_type=False)


@pytest.mark.slow
def test_version_ref_scores_with_the_registered_bundle(bundles, tmp_path, capsys):
    """--version model#prod fetches the version in prod and names it in model_version."""
    pytest.importorskip("gto")
    from foldwise.production import registry
    from tests.production.test_registry import commit_bundle, registry_repo

    bundle_dir, table = bundles["binary"]
    root = registry_repo(tmp_path / "repo")
    commit_bundle(root, bundle_dir, 0.4, "model v1")
    registry.register(root, "model", "v1.0.0")
    registry.assign(root, "model", "v1.0.0", "prod")
    source = tmp_path / "rows.csv"
    table.to_csv(source, index=False)
    out = tmp_path / "out.parquet"
    assert run_cli("predict", source, "-o", out, "--version", "model#prod", "--root", root) == 0
    got = pd.read_parquet(out)
    fetched = root / ".foldwise" / "models" / "model@v1.0.0"
    name = Bundle.load(fetched).name("model@v1.0.0")
    assert name.startswith("model@v1.0.0 (sha256:")
    assert set(got["model_version"]) == {name}
    assert_same(out, expected(fetched, read_table(source)))
    assert "model model@v1.0.0 (commit" in capsys.readouterr().err
    # The same bundle by path is named as its registered version too (as foldwise serve does).
    by_path = tmp_path / "by_path.parquet"
    model = root / "models" / "model"
    assert run_cli("predict", source, "-o", by_path, "--model", model, "--root", root) == 0
    assert set(pd.read_parquet(by_path)["model_version"]) == {name}
