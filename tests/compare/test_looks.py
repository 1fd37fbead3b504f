"""foldwise test-usage: the looks at a test table over commits, experiments and the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from foldwise.compare.looks import count_test_looks
from tests.compare.helpers import commit, git, init_repo, write_reports


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path)


def test_count_test_looks_over_commits_experiments_and_workspace(repo):
    write_reports(repo, "T1", 0.80)
    first = commit(repo, "look 1")
    (repo / "README").write_text("docs only")
    commit(repo, "same results, new commit")  # not a new look
    write_reports(repo, "T1", 0.81)
    commit(repo, "look 2")
    write_reports(repo, "OTHER", 0.70)
    commit(repo, "another test table")
    # An experiment: a commit outside the branches, under a DVC experiment ref.
    git(repo, "checkout", "-q", first)
    write_reports(repo, "T1", 0.82)
    exp_sha = commit(repo, "exp")
    git(repo, "checkout", "-q", "-")
    ref = f"refs/exps/{first[:2]}/{first[2:]}/exp-1"
    git(repo, "update-ref", ref, exp_sha)
    git(repo, "update-ref", "refs/exps/exec/EXEC_BRANCH", exp_sha)  # not an experiment
    looks = count_test_looks(repo, "T1")
    assert (looks.evaluations, looks.commits, looks.experiments) == (3, 3, 1)
    assert not looks.workspace_uncommitted
    assert "Warning" in looks.message()
    write_reports(repo, "T1", 0.83)
    assert count_test_looks(repo, "T1").workspace_uncommitted
    assert count_test_looks(repo, "T1").evaluations == 4
    once = count_test_looks(repo, "OTHER")
    assert (once.evaluations, once.commits, once.experiments) == (1, 1, 0)
    assert "One look" in once.message()
