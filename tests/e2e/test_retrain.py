"""Retrain with evidence, promote and roll back, in a real git + DVC + GTO project (slow).

One champion project is built per module (the quick setting, a DVC-tracked table); the
refusals run on it and must leave it exactly as it was; the failure after the append runs on a
copy; the full retrain runs last, on the project itself. The path from the built-in demo table
(a pipeline output) is the docs walkthrough (tests/e2e/test_docs_walkthrough.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from foldwise.bundle import Bundle
from foldwise.cli import main
from foldwise.errors import FoldwiseError
from foldwise.monitor.simulate import Scenario, write_simulation
from foldwise.production import registry
from tests.conftest import Project

# The concept change starts in month 2: the champion never saw it, the challenger trains on
# months 1-3 and both are compared on month 4.
SCENARIO = Scenario(
    months=4, rows_per_month=900, train_rows=1500, shift_month=None, concept_month=2,
    label_delay=0, seed=5,
)  # fmt: skip
GTO = [sys.executable, "-m", "gto.cli"]


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict]:
    """A project whose prod model (v0.1.0) was trained on the simulation's train.csv."""
    tmp = tmp_path_factory.mktemp("retrain")
    project = Project.create(tmp / "proj")
    manifest = write_simulation(SCENARIO, tmp / "sim")
    shutil.copy(manifest["train"], project.root / "data" / "raw" / "churn.csv")
    project.dvc("add", "data/raw/churn.csv")
    # The quick setting (trial 0, no outer loop): these tests are about retraining, not tuning.
    project.set_params(
        data={"source": "data/raw/churn.csv"},
        monitor={"period": "month"},
        tune={"nested": False, "n_trials": 1},
    )
    project.dvc("repro")
    project.commit("champion")
    project.run([*GTO, "register", "model", "HEAD", "--version", "v0.1.0"])
    project.run([*GTO, "assign", "model", "--version", "v0.1.0", "--stage", "prod"])
    return project, manifest


def state(root: Path) -> tuple:
    """What retrain may change: git status, refs, the table's bytes, its .dvc file, params."""
    table = root / "data" / "raw" / "churn.csv"

    def git(*args: str) -> str:
        return Project(root).run(["git", *args]).stdout

    return (
        git("status", "--porcelain", "--untracked-files=all"),
        git("branch", "--list"),
        git("for-each-ref", "--format=%(refname) %(objectname)"),
        hashlib.sha256(table.read_bytes()).hexdigest(),
        (root / "data" / "raw" / "churn.csv.dvc").read_bytes(),
        (root / "params.yaml").read_bytes(),
        (root / "reports" / "retrain").exists(),
    )


def refused(root: Path, args: list[str], capsys: pytest.CaptureFixture) -> str:
    """Run retrain expecting exit 2; its one error line."""
    with pytest.raises(SystemExit) as exit_info:
        main(["retrain", *args, "--root", str(root)])
    assert exit_info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(errors) == 1, errors
    return errors[0]


def _labels(manifest: dict, tmp: Path, last_month: pd.DataFrame) -> list[str]:
    """The simulation's labels with the last month's file replaced by ``last_month``."""
    paths = [str(p) for p in manifest["labels"][:-1]]
    path = tmp / "last.csv"
    last_month.to_csv(path, index=False)
    return [*paths, str(path)]


@pytest.mark.slow
def test_refuses_up_front_and_changes_nothing(champion, tmp_path, capsys):
    project, manifest = champion
    root = project.root
    batches = list(manifest["batches"])
    last = pd.read_csv(manifest["labels"][-1], dtype=str)
    before = state(root)

    one_class = _labels(manifest, tmp_path, last[last["churned"] == "No"])
    line = refused(root, [*batches, "--labels", *one_class], capsys)
    # (An id scored again in April keeps its earlier month's label: a stray row or two.)
    assert re.search(
        r"held-out period 2025-04 has \d+ labelled row\(s\) \(No: \d+, Yes: [0-3]\)", line
    )
    assert "roc_auc needs both classes with at least 10 rows each" in line
    assert state(root) == before

    few = pd.concat([last[last["churned"] == "No"].head(3), last[last["churned"] == "Yes"].head(2)])
    line = refused(root, [*batches, "--labels", *_labels(manifest, tmp_path, few)], capsys)
    assert re.search(r"2025-04 has [5-9] labelled row\(s\)", line), line
    assert "--recent-periods 2" in line  # the fix: months 3 and 4 together are enough
    assert state(root) == before

    alien = tmp_path / "alien.csv"
    pd.DataFrame({"id": ["Z1", "Z2"], "churned": ["No", "Yes"]}).to_csv(alien, index=False)
    line = refused(root, [*batches, "--labels", str(alien)], capsys)
    assert "alien.csv" in line
    assert "none of the 2 'id' value(s)" in line
    assert "match column(s) 'customer_id' of the batches" in line
    assert state(root) == before

    no_age = tmp_path / "2025-01.csv"
    pd.read_csv(batches[0], dtype=str).drop(columns="age").to_csv(no_age, index=False)
    line = refused(root, [str(no_age), *batches[1:], "--labels", *manifest["labels"]], capsys)
    assert "missing column(s) 'age'" in line
    assert state(root) == before

    too_many = [*batches, "--labels", *manifest["labels"], "--recent-periods", "4"]
    assert "nothing is left to train on" in refused(root, too_many, capsys)
    assert state(root) == before

    params = (root / "params.yaml").read_text()
    (root / "params.yaml").write_text(params.replace("n_trials: 1", "n_trials: 2"))
    line = refused(root, [*batches, "--labels", *manifest["labels"]], capsys)
    assert "uncommitted changes in params.yaml" in line
    (root / "params.yaml").write_text(params)
    assert state(root) == before


@pytest.mark.slow
def test_refuses_a_source_not_tracked_by_dvc(champion, tmp_path, capsys):
    project, manifest = champion
    copy = Project(shutil.copytree(project.root, tmp_path / "copy", symlinks=True))
    shutil.copy(manifest["train"], copy.root / "plain.csv")  # tracked by git, not by DVC
    copy.set_params(data={"source": "plain.csv"})
    copy.commit("a table in git")
    before = state(copy.root)
    line = refused(copy.root, [*manifest["batches"], "--labels", *manifest["labels"]], capsys)
    assert "data.source plain.csv: not tracked by `dvc add`" in line
    assert "git rm --cached plain.csv" in line
    assert state(copy.root) == before


@pytest.mark.slow
def test_a_failure_after_the_append_restores_everything(champion, tmp_path, capsys):
    project, manifest = champion
    copy = Project(shutil.copytree(project.root, tmp_path / "copy", symlinks=True))
    # A stricter audit policy than the champion's: the challenger's audit stage fails, after
    # the rows were appended, dvc add ran and the pipeline started.
    copy.set_params(audit={"fail_on": ["leakage", "missing", "high_cardinality"]})
    copy.commit("stricter audit")
    before, dvc_before = state(copy.root), copy.dvc("status").stdout
    line = refused(copy.root, [*manifest["batches"], "--labels", *manifest["labels"]], capsys)
    assert "dvc exp run failed" in line
    assert "restored: refs, tracked files, files, untracked files, DVC outputs" in line
    assert state(copy.root) == before
    # The outputs match dvc.lock again (only the audit's new params are pending, as before).
    assert copy.dvc("status").stdout == dvc_before


@pytest.mark.slow
def test_retrain_promote_and_roll_back(champion, tmp_path, capsys):
    project, manifest = champion
    root = project.root
    rows_before = (root / "data" / "raw" / "churn.csv").read_text().count("\n")

    main(["retrain", *manifest["batches"], "--labels", *manifest["labels"], "--root", str(root)])
    captured = capsys.readouterr()
    out = captured.out
    assert "challenger model@v0.2.0 vs champion model@v0.1.0" in out
    assert "challenger better" in out, out
    assert "not promoted; after review: gto assign model --version v0.2.0 --stage prod" in out
    # The phases, with their elapsed time, on stderr.
    for phase in ("check", "append", "dvc add", "repro", "branch", "compare", "register"):
        assert f"] {phase}: " in captured.err, captured.err
    assert "repro: stage train" in captured.err
    report = (root / "reports" / "retrain" / "report.md").read_text()
    assert "paired bootstrap" in report
    assert "2025-04" in report
    assert "- champion: `model@v0.1.0 (sha256:" in report
    assert "registered as `model@v0.2.0 (sha256:" in report
    rows_after = (root / "data" / "raw" / "churn.csv").read_text().count("\n")
    summary = json.loads((root / "reports" / "retrain" / "comparison.json").read_text())
    assert summary["train_periods"] == ["2025-01", "2025-02", "2025-03"]
    assert summary["recent_periods"] == ["2025-04"]
    # Months 1-3 (the generator's exact duplicates count once).
    assert rows_after - rows_before == summary["appended_rows"] > 0.99 * 3 * SCENARIO.rows_per_month
    # Registered, never promoted by the command.
    assert registry.stage_version(root).ref == "model@v0.1.0"

    # A person promotes after reading the report ...
    project.run([*GTO, "assign", "model", "--version", "v0.2.0", "--stage", "prod"])
    assert registry.stage_version(root).ref == "model@v0.2.0"
    promoted = Bundle.load(registry.fetch_bundle(root, "model#prod", tmp_path / "p"))
    # ... and rolls back with one command: prod returns to the previous version.
    project.run([*GTO, "deprecate", "model", "v0.2.0", "prod"])
    assert registry.stage_version(root).ref == "model@v0.1.0"
    rolled = Bundle.load(registry.fetch_bundle(root, "model#prod", tmp_path / "r"))
    assert promoted.metadata["train_sha256"] != rolled.metadata["train_sha256"]
    # Nothing earlier than v0.1.0 was in prod: a further rollback refuses.
    with pytest.raises(FoldwiseError, match=r"v0\.1\.0 is the first version deployed to 'prod'"):
        registry.rollback(root)
