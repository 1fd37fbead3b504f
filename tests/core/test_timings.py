"""Stage timings: recorded outside tracked files, grouped by run, summarised at each stage's end."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest
import yaml

from foldwise import timings
from foldwise.paths import ProjectPaths
from foldwise.timings import record_stage, run_id, run_records, stage_line, summary_lines
from tests.conftest import ROOT


def test_records_of_one_run_in_order_and_a_rerun_stage_counts_once(tmp_path):
    path = tmp_path / ".foldwise" / "timings.jsonl"
    record_stage(path, "prepare", 100.0, run="a")
    record_stage(path, "other", 100.5, run="b")
    record_stage(path, "prepare", 101.0, {"read": 0.5}, run="a")
    records = record_stage(path, "tune", 102.0, {"outer0": 3.0, "final": 4.0}, run="a")
    assert [r["stage"] for r in records] == ["prepare", "tune"]
    assert records[0]["parts"] == {"read": 0.5}
    assert len(path.read_text().splitlines()) == 4


def test_a_line_cut_off_by_a_kill_is_skipped():
    good = json.dumps({"run": "r", "stage": "audit", "started": 1.0, "seconds": 2.0, "parts": {}})
    assert [r["stage"] for r in run_records([good, '{"run": "r", "sta'], "r")] == ["audit"]


def test_file_is_trimmed_to_the_newest_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(timings, "MAX_LINES", 5)
    monkeypatch.setattr(timings, "KEEP_LINES", 3)
    path = tmp_path / "timings.jsonl"
    for i in range(6):
        record_stage(path, f"s{i}", float(i), run="r")
    lines = path.read_text().splitlines()
    assert [json.loads(line)["stage"] for line in lines] == ["s3", "s4", "s5"]


def test_summary_shows_wall_time_shares_parts_and_time_outside_stages():
    records = [
        {"stage": "prepare", "started": 0.0, "seconds": 10.0, "parts": {}},
        {"stage": "tune", "started": 12.0, "seconds": 88.0, "parts": {"outer0": 40, "final": 45}},
    ]
    lines = summary_lines(records)
    assert lines[0].startswith("timing: this run so far 1m40.0s wall, 2 stage(s); 2.0s outside")
    assert "10.0%  prepare 10.0s" in lines[1]
    assert lines[2].strip() == "88.0%  tune 1m28.0s (final 45.0s, outer0 40.0s)"
    assert summary_lines([]) == []
    assert stage_line({"stage": "audit", "seconds": 1.25, "parts": {}}) == "audit 1.2s"


def test_run_id_is_the_dvc_process_the_stage_runs_under(tmp_path):
    """Stages started by one `dvc ...` process share its id; outside DVC each has its own."""
    fake_dvc = tmp_path / "bin" / "dvc"
    fake_dvc.parent.mkdir()
    probe = "from foldwise.timings import run_id; print(run_id())"
    fake_dvc.write_text(
        f"#!{sys.executable}\n"
        "import subprocess, sys\n"
        f"for _ in range(2): subprocess.run([sys.executable, '-c', {probe!r}], check=True)\n"
    )
    fake_dvc.chmod(fake_dvc.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if k != "FOLDWISE_RUN_ID"}
    out = subprocess.run([str(fake_dvc)], capture_output=True, text=True, env=env, check=True)
    first, second = out.stdout.split()
    assert first == second
    assert first.startswith("dvc-")
    alone = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert alone.stdout.startswith("pid-")


def test_run_id_can_be_given(monkeypatch):
    monkeypatch.setenv("FOLDWISE_RUN_ID", "bench-1")
    assert run_id() == "bench-1"


STAGE = textwrap.dedent(
    """
    import sys
    from foldwise.errors import FoldwiseError
    from foldwise.stage import run_stage

    def main():
        if sys.argv[1:] == ["fail"]:
            raise FoldwiseError("params.yaml: bad")
        return {"study": 0.25}

    run_stage(main)
    """
)


def test_run_stage_records_success_only_and_prints_the_summary(tmp_path):
    script = tmp_path / "stages" / "demo_stage.py"
    script.parent.mkdir()
    script.write_text(STAGE)
    env = {**os.environ, "FOLDWISE_RUN_ID": "one-run"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(script), *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
        )

    ok = run()
    assert ok.returncode == 0, ok.stderr
    assert "timing: this run so far" in ok.stdout
    assert "demo_stage" in ok.stdout
    assert "study 0.2s" in ok.stdout or "study 0.3s" in ok.stdout
    failed = run("fail")
    assert failed.returncode == 2
    assert failed.stderr.strip() == "error: params.yaml: bad"
    lines = ProjectPaths(tmp_path).timings.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["run"] == "one-run"


def test_timings_and_the_journal_are_untracked_working_state():
    """Neither reaches git or dvc.lock: a fresh clone's first run leaves `git status` clean."""
    paths = ProjectPaths(ROOT)
    local = paths.local_dir.relative_to(ROOT).as_posix()
    assert paths.tune_journal.is_relative_to(paths.local_dir)
    assert paths.timings.is_relative_to(paths.local_dir)
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "--no-index", f"{local}/timings.jsonl"], cwd=ROOT
    )
    assert ignored.returncode == 0
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    for stage in pipeline["stages"].values():
        for out in stage.get("outs", []) + stage.get("metrics", []):
            name = next(iter(out)) if isinstance(out, dict) else out
            assert not name.startswith((local, "models/tune")), name


@pytest.mark.parametrize("part", [{"x": -1.0}, {}])
def test_parts_are_rounded_floats(tmp_path, part):
    records = record_stage(tmp_path / "t.jsonl", "s", 0.0, part, run="r")
    assert records[0]["parts"] == {k: float(v) for k, v in part.items()}
