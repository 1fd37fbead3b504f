"""Model versions in a real git + DVC repo with GTO: register, assign, fetch, roll back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from foldwise.bundle import Bundle
from foldwise.errors import FoldwiseError
from foldwise.production.integrity import folder_hashes

pytest.importorskip("gto")

ARTIFACTS = "artifacts:\n  model:\n    path: models/model\n    type: model\n"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def dvc(root: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, check=True, capture_output=True)


def foldwise(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "foldwise.cli", *args, *(["--root", str(root)])],
        cwd=root,
        capture_output=True,
        text=True,
    )


def commit_bundle(root: Path, source: Path, threshold: float, message: str) -> dict[str, str]:
    """Write a bundle (a distinct threshold makes a distinct version), dvc add, commit."""
    bundle = Bundle.load(source)
    bundle.threshold = threshold
    bundle.save(root / "models" / "model")
    dvc(root, "add", "-q", "models/model")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return folder_hashes(root / "models" / "model", "")


@pytest.mark.slow
def test_register_assign_fetch_and_roll_back(tmp_path):
    from foldwise.production import registry
    from tests.test_production import make_bundle

    source = make_bundle(tmp_path / "src")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    dvc(root, "init", "-q")
    (root / "dvc.yaml").write_text(ARTIFACTS)

    def prod_hashes() -> dict[str, str]:
        out = registry.fetch_bundle(root, "model#prod", tmp_path / "fetched")
        Bundle.load(out)  # verified and loadable
        return folder_hashes(out, "")

    v1 = commit_bundle(root, source, 0.3, "model v1")
    registry.register(root, "model", "v1.0.0")
    with pytest.raises(FoldwiseError, match="no version is assigned to stage 'prod'"):
        registry.stage_version(root, "model", "prod")
    registry.assign(root, "model", "v1.0.0", "prod")
    assert prod_hashes() == v1

    v2 = commit_bundle(root, source, 0.7, "model v2")
    assert v2 != v1
    registry.register(root, "model", "v1.1.0")
    assert prod_hashes() == v1  # registering does not deploy
    registry.assign(root, "model", "v1.1.0", "prod")
    assert prod_hashes() == v2
    assert registry.stage_version(root, "model").version == "v1.1.0"

    listed = foldwise(root, "model", "list")
    assert listed.returncode == 0, listed.stderr
    assert "model@v1.1.0 [prod]" in listed.stdout
    assert "model@v1.0.0" in listed.stdout

    rolled = foldwise(root, "model", "rollback")
    assert rolled.returncode == 0, rolled.stderr
    assert "model#prod: v1.1.0 -> v1.0.0" in rolled.stdout
    assert prod_hashes() == v1
    assert foldwise(root, "model", "prod").stdout.startswith("model@v1.0.0")
    # What `foldwise serve --version model#prod` serves after the roll back.
    served, version = registry.materialize(root, "model#prod")
    assert version.ref == "model@v1.0.0"
    assert folder_hashes(served, "") == v1

    fetched = foldwise(root, "model", "fetch", "model@v1.1.0", "--out", str(tmp_path / "v2"))
    assert fetched.returncode == 0, fetched.stderr
    assert folder_hashes(tmp_path / "v2", "") == v2

    missing = foldwise(root, "model", "fetch", "model@v9", "--out", str(tmp_path / "x"))
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: model@v9: no such version")
