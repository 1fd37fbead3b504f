"""Model versions in a real git + DVC repo with GTO: register, assign, fetch, roll back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from foldwise.bundle import Bundle
from foldwise.errors import FoldwiseError
from foldwise.integrity import folder_hashes

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
def test_register_assign_fetch_and_roll_back(tmp_path, monkeypatch):
    from foldwise.production import registry
    from tests.production.test_production import make_bundle

    source = make_bundle(tmp_path / "src")
    root = registry_repo(tmp_path / "repo")

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
    assert "model#prod: rolled back from v1.1.0 to v1.0.0" in rolled.stdout
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

    # One name per bundle: served by path (the workspace holds v1.1.0's bundle) or by
    # version, /health and the prediction log say `model@v1.1.0 (sha256:...)`.
    from tests.support.serve import Server

    name = f"model@v1.1.0 (sha256:{Bundle.load(root / 'models' / 'model').sha256[:12]})"
    monkeypatch.chdir(root)  # `foldwise serve` looks the bundle up in the repository it runs in
    for args in (["--model", "models/model"], ["--version", "model@v1.1.0"]):
        log = tmp_path / f"log{len(args[1])}"
        server = Server([*args, "--log-dir", str(log)], tmp_path / "server.out")
        try:
            server.wait_ready()
            assert server.client.get("/health").json()["model_version"] == name
        finally:
            server.stop()
        assert (log / "_models" / f"model@v1.1.0_sha256_{name[-13:-1]}.json").is_file()


def registry_repo(root: Path) -> Path:
    """A git + DVC repository whose dvc.yaml declares the model artifact (nothing committed)."""
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    dvc(root, "init", "-q")
    (root / "dvc.yaml").write_text(ARTIFACTS)
    return root


def gto_repo(root: Path, artifacts: str = ARTIFACTS) -> Path:
    """A git repository whose dvc.yaml declares the artifact (GTO needs no DVC to tag it)."""
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    (root / "dvc.yaml").write_text(artifacts)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "declare the model")
    return root


def tags(root: Path) -> list[str]:
    listed = subprocess.run(["git", "tag"], cwd=root, capture_output=True, text=True, check=True)
    return sorted(listed.stdout.split())


def deploy(root: Path, version: str) -> None:
    """Commit, register and assign prod, as a release would."""
    from foldwise.production import registry

    git(root, "commit", "-q", "--allow-empty", "-m", f"model {version}")
    registry.register(root, "model", version)
    registry.assign(root, "model", version, "prod")


def test_rollback_twice_walks_back_and_then_refuses(tmp_path):
    root = gto_repo(tmp_path / "repo")
    for version in ("v1.0.0", "v1.1.0", "v1.2.0"):
        deploy(root, version)
    assert foldwise(root, "model", "prod").stdout.startswith("model@v1.2.0")

    first = foldwise(root, "model", "rollback")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "model#prod: rolled back from v1.2.0 to v1.1.0"
    second = foldwise(root, "model", "rollback")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "model#prod: rolled back from v1.1.0 to v1.0.0"
    assert foldwise(root, "model", "prod").stdout.startswith("model@v1.0.0")

    before = tags(root)
    third = foldwise(root, "model", "rollback")
    assert third.returncode == 2
    assert third.stderr.strip() == (
        "error: model#prod: v1.0.0 is the first version deployed to 'prod' that is still "
        "registered; nothing earlier to roll back to"
    )
    assert tags(root) == before  # nothing changed
    assert foldwise(root, "model", "prod").stdout.startswith("model@v1.0.0")
    listed = foldwise(root, "model", "list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["model@v1.2.0", "model@v1.1.0", "model@v1.0.0"]
    assert "[prod]" in listed[2]
    assert "[prod]" not in listed[0] + listed[1]


def test_a_rolled_back_version_is_skipped_after_a_new_release(tmp_path):
    from foldwise.production import registry

    root = gto_repo(tmp_path / "repo")
    deploy(root, "v1.0.0")
    deploy(root, "v1.1.0")
    assert registry.rollback(root) == ("v1.1.0", "v1.0.0")
    deploy(root, "v1.2.0")
    # v1.1.0 was rolled back from: rolling back v1.2.0 returns to v1.0.0, not to v1.1.0.
    assert registry.rollback(root) == ("v1.2.0", "v1.0.0")
    assert registry.stage_version(root).version == "v1.0.0"


def test_rollback_with_nothing_in_prod_refuses(tmp_path):
    from foldwise.production import registry

    root = gto_repo(tmp_path / "repo")
    git(root, "commit", "-q", "--allow-empty", "-m", "v1")
    registry.register(root, "model", "v1.0.0")
    result = foldwise(root, "model", "rollback")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: model#prod: no version is assigned to stage 'prod'"


def test_model_list_without_versions_says_so(tmp_path):
    root = gto_repo(tmp_path / "repo")
    listed = foldwise(root, "model", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("no versions of 'model' registered yet; register")
    assert "gto register model --version v1.0.0" in listed.stdout
    assert listed.stderr == ""


def test_model_list_errors_name_the_problem(tmp_path):
    undeclared = gto_repo(tmp_path / "repo", artifacts="stages: {}\n")
    result = foldwise(undeclared, "model", "list")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {undeclared / 'dvc.yaml'}: no artifact 'model'")
    assert len(result.stderr.splitlines()) == 1

    plain = tmp_path / "plain"
    plain.mkdir()
    result = foldwise(plain, "model", "list")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {plain}: cannot read the model registry")
    assert "not a git repository" in result.stderr
