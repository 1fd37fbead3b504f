"""WorkspaceGuard: a failure inside the block puts a real git + DVC repository back as it was."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from foldwise.monitor.retrain import set_data_source
from foldwise.monitor.workspace import WorkspaceGuard


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def _state(root: Path) -> tuple:
    table = root / "data" / "raw" / "t.csv"
    return (
        _git(root, "status", "--porcelain", "--untracked-files=all"),
        _git(root, "for-each-ref", "--format=%(refname) %(objectname)"),
        _git(root, "symbolic-ref", "HEAD"),
        hashlib.sha256(table.read_bytes()).hexdigest(),
        (root / "data" / "raw" / "t.csv.dvc").read_bytes(),
        (root / "params.yaml").read_bytes(),
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "data" / "raw").mkdir(parents=True)
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "t@example.com")
    _git(root, "config", "user.name", "t")
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True)
    (root / "data" / "raw" / "t.csv").write_text("id,y\n1,a\n2,b\n")
    subprocess.run(
        [sys.executable, "-m", "dvc", "add", "-q", "data/raw/t.csv"], cwd=root, check=True
    )
    (root / "params.yaml").write_text(
        "data:\n  # the table\n  source: data/builtin/t.csv   # a comment\n  target: y\n"
    )
    (root / "notes.txt").write_text("untracked before\n")
    _git(root, "add", "data", "params.yaml", ".dvc")
    _git(root, "commit", "-q", "-m", "start")
    return root


def test_a_failure_restores_files_table_refs_and_index(repo: Path) -> None:
    before = _state(repo)
    guard = WorkspaceGuard(
        repo, files=["params.yaml", "data/raw/t.csv.dvc", "data/raw/.gitignore"],
        tables=["data/raw/t.csv"],
    )  # fmt: skip

    def failing_run() -> None:
        with guard:
            (repo / "data" / "raw" / "t.csv").write_text("id,y\n1,a\n2,b\n3,a\n")
            subprocess.run([sys.executable, "-m", "dvc", "add", "-q", "data/raw/t.csv"], cwd=repo)
            set_data_source(repo / "params.yaml", "data/raw/t.csv")
            (repo / "new.txt").write_text("created during the run\n")
            _git(repo, "add", "new.txt", "params.yaml")
            _git(repo, "branch", "retrain/x")
            _git(repo, "tag", "model@v0.2.0")
            _git(repo, "update-ref", "refs/exps/ab/cd/x", "HEAD")
            assert _state(repo) != before
            raise RuntimeError("injected")

    with pytest.raises(RuntimeError, match="injected"):
        failing_run()
    assert _state(repo) == before
    assert (repo / "notes.txt").read_text() == "untracked before\n"
    assert not list((repo / ".foldwise" / "retrain").iterdir())  # the backup link is gone


def test_success_keeps_the_changes(repo: Path) -> None:
    with WorkspaceGuard(repo, files=["params.yaml"], tables=["data/raw/t.csv"]):
        set_data_source(repo / "params.yaml", "data/raw/t.csv")
    text = (repo / "params.yaml").read_text()
    # Only the one line changed: the comments stay.
    assert text == "data:\n  # the table\n  source: data/raw/t.csv   # a comment\n  target: y\n"
    assert not list((repo / ".foldwise" / "retrain").iterdir())
