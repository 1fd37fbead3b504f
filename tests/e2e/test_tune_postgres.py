"""The tune stage and an extra worker share one PostgreSQL database without losing trials.

Uses the server in ``FOLDWISE_TEST_POSTGRES_URL`` when set (``.ci/run`` starts one), else
starts a throwaway one with ``scripts/postgres.sh``; skips only when the PostgreSQL server
binaries are not installed. Every run gets a fresh database, dropped afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState

from foldwise.model_settings import load_config
from foldwise.tuning import default_trial, search_space
from tests.conftest import ROOT, make_table

pytestmark = pytest.mark.slow

SCRIPT = ROOT / "scripts" / "postgres.sh"
NOT_INSTALLED = 3  # scripts/postgres.sh's exit status when the server binaries are missing
N_TRIALS = 8
FAST_CATBOOST = {"iterations": 80, "learning_rate": 0.2, "depth": 4, "thread_count": 1}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url():
    """The URL of a PostgreSQL server: the CI's, or one this module starts and stops."""
    given = os.environ.get("FOLDWISE_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="foldwise-pg-test-")
    env = {**os.environ, "FOLDWISE_PG_DIR": folder, "FOLDWISE_PG_PORT": str(_free_port())}

    def script(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=180
        )

    started = script("start")
    if started.returncode == NOT_INSTALLED:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"PostgreSQL server binaries not installed: {started.stderr.strip()}")
    try:
        assert started.returncode == 0, started.stderr
        yield started.stdout.strip().splitlines()[-1]
    finally:
        stopped = script("stop")
        shutil.rmtree(folder, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr


def _engine_url(url: str) -> sqlalchemy.URL:
    """The URL with foldwise's driver, psycopg2 (SQLAlchemy 2.1 would pick psycopg 3)."""
    parsed = sqlalchemy.make_url(url)
    return (
        parsed.set(drivername="postgresql+psycopg2")
        if parsed.drivername == "postgresql"
        else parsed
    )


@pytest.fixture
def database(server_url):
    """A fresh, uniquely named database on the server (so no old study is ever seen)."""
    name = f"t_{secrets.token_hex(6)}"
    admin = sqlalchemy.create_engine(_engine_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    url = sqlalchemy.make_url(server_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _spawn(args: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True)


def _finish(process: subprocess.Popen, log: Path, timeout: float) -> str:
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    text = log.read_text()
    assert process.returncode == 0, f"{process.args} exited {process.returncode}:\n{text}"
    return text


def test_stage_and_worker_share_studies_exactly(project, database, tmp_path):
    source = project.write_table(make_table("binary", n=300))
    project.set_params(
        data={"source": source, "target": "label", "id_columns": ["row_id"], "drop_columns": []},
        problem={"positive_label": "Yes"},
        evaluate={"segments": []},
        cv={"folds": 2, "inner_folds": 2},
        model={"catboost": FAST_CATBOOST},
        tune={"n_trials": N_TRIALS, "storage": database, "nested": True, "n_jobs": 1},
    )
    project.dvc("repro", "prepare")

    started = time.monotonic()
    stage_log, worker_log = tmp_path / "stage.log", tmp_path / "worker.log"
    # Through DVC, so its checks of the stage's outputs run too.
    stage = _spawn([sys.executable, "-m", "dvc", "repro", "tune"], project.root, stage_log)
    worker_cmd = ["foldwise.cli", "tune-worker", "--root", str(project.root), "--wait", "300"]
    worker = _spawn([sys.executable, "-m", *worker_cmd], project.root, worker_log)
    try:
        stage_out = _finish(stage, stage_log, timeout=900)
        worker_out = _finish(worker, worker_log, timeout=120)
    finally:
        for process in (stage, worker):
            if process.poll() is None:
                process.kill()
                process.wait()
    print(f"stage + worker: {time.monotonic() - started:.1f} s")
    assert "tune: final inner roc_auc" in stage_out
    assert "worker: study final has" in worker_out

    config = load_config(project.root / "params.yaml")
    space, _ = search_space(config, "binary")
    defaults = default_trial(config, space)
    assert defaults["learning_rate"] == pytest.approx(0.2)
    assert defaults["depth"] == 4

    storage = optuna.storages.RDBStorage(_engine_url(database).render_as_string(False))
    try:
        studies = {s.study_name.split("-")[0]: s.study_name for s in storage.get_all_studies()}
        assert sorted(studies) == ["final", "outer0", "outer1"]
        workers: set[str] = set()
        loaded = {}
        for short, full in studies.items():
            study = optuna.load_study(study_name=full, storage=storage)
            trials = study.get_trials(deepcopy=False)
            states = Counter(t.state.name for t in trials)
            # Exactly n_trials, all finished: none lost, none started twice, no overshoot.
            assert len(trials) == N_TRIALS, (short, states)
            assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials), (
                short,
                states,
            )
            assert sorted(t.number for t in trials) == list(range(N_TRIALS))
            assert sorted(t.user_attrs["index"] for t in trials) == list(range(N_TRIALS))
            first = next(t for t in trials if t.number == 0)
            assert first.params == pytest.approx(defaults), short
            workers |= {t.user_attrs["worker"] for t in trials}
            loaded[short] = study
        # Both processes ran trials: the stage (a child of dvc) and the extra worker.
        assert len(workers) == 2, workers
        assert f"{socket.gethostname()}:{worker.pid}" in workers

        # The stage waited for the worker's last trials before choosing the best.
        best = project.read_json("models/best_params.json")
        final = loaded["final"]
        assert best["study"] == studies["final"]
        assert best["model"] == "catboost"
        # best_params.json holds 6 significant digits (foldwise.stage's JSON writer).
        assert best["inner_score"] == pytest.approx(final.best_value, rel=1e-5)
        # The best trial's own keys (trial 0 holds only the keys params.yaml sets).
        assert set(best["params"]) == set(final.best_params)
        chosen = {k: best["params"][k] for k in final.best_params}
        assert chosen == pytest.approx(final.best_params, rel=1e-5)
        summary = json.loads((project.root / "reports/tune/tune.json").read_text())
        assert summary["complete"] + summary["pruned"] == N_TRIALS
    finally:
        storage.engine.dispose()
