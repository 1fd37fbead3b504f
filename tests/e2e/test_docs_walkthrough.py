"""The docs' walkthrough, run as written, in a fresh clone (slow).

The commands are read from the docs: every ```bash block that follows a
``<!-- walkthrough -->`` line (tests/support/docs_blocks.py), page by page in the order of ``PAGES``
and in order within a page, one command per line (a trailing ``\\`` joins lines; ``# ...``
comments are dropped by bash). They run in a ``git clone`` of this repository after the docs'
first step, ``dvc repro``, in the quick setting that "A quick first look" documents, on a
smaller demo table and with smaller fits (``SMALL``), so the documentation cannot drift from the
code: scoring files (production.md), the monitoring simulation, then register, monitor,
retrain, promote and roll back (monitoring.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import FAST_PARAMS
from tests.support.docs_blocks import DOCS, ROOT, WALKTHROUGH, blocks, commands, doc_pages, words
from tests.support.finished import FAST_PRODUCTION

# The pages whose walkthrough blocks run, in this order (later blocks use earlier results).
PAGES = ("production.md", "monitoring.md")
# `foldwise monitor` exits 1 when retraining is due (docs/monitoring.md: "Exit codes ... 1");
# that is the point of the simulation. Every other command must succeed.
ALLOWED_EXIT = {"foldwise monitor": {0, 1}}
QUICK = {"demo": {"rows": 2000}, "tune": {"nested": False, "n_trials": 1}}
# Smaller fits than the default for the test's two pipeline runs (the first `dvc repro` and the
# retrain's): what runs here are the documented commands, not the model's quality (a
# default-sized CatBoost on the retrain's 6,500 rows was 2 of the test's 3 minutes on CI).
SMALL = {
    "cv": FAST_PARAMS["cv"],
    "model": {"catboost": FAST_PARAMS["model"]["catboost"]},
    "evaluate": FAST_PARAMS["evaluate"],
    "explain": {"max_rows": 1000, "permutation_repeats": 1},
    "production": FAST_PRODUCTION,
}


def walkthrough_commands() -> list[str]:
    """The shell commands of the marked bash blocks, page by page, in order."""
    marked = {
        page.relative_to(DOCS).as_posix()
        for page in doc_pages()
        for block in blocks(page)
        if block.marker == WALKTHROUGH
    }
    assert marked <= set(PAGES), f"walkthrough blocks on pages the test does not run: {marked}"
    return [
        command
        for page in PAGES
        for block in blocks(DOCS / page)
        if block.marker == WALKTHROUGH
        for command in commands(block)
    ]


def test_the_walkthrough_is_found_and_covers_every_step() -> None:
    joined = " ".join(walkthrough_commands())
    for step in (
        "foldwise predict",
        "gto register",
        "foldwise simulate",
        "foldwise monitor",
        "foldwise retrain",
    ):
        assert step in joined, f"the docs walkthrough lost its {step!r} step"
    assert "--stage prod" in joined
    assert "rollback" in joined


def _run(clone: Path, command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True
    )


@pytest.mark.slow
def test_docs_walkthrough_runs_as_written(tmp_path: Path) -> None:
    commands_ = walkthrough_commands()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(clone / "src")  # the clone's code, also in DVC's stage processes
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    params = yaml.safe_load((clone / "params.yaml").read_text())
    for section, values in [*QUICK.items(), *SMALL.items()]:
        for key, value in values.items():
            if isinstance(value, dict):
                params[section][key].update(value)
            else:
                params[section][key] = value
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # The docs' first step ("Set up and run"), then the state a fresh clone has after it:
    # a commit whose dvc.lock pins the model.
    setups = (
        "git config user.name walkthrough && git config user.email walkthrough@example.com",
        # The clone's branch is named like the one checked out here; a branch `retrain` (say)
        # would keep git from creating the challenger's `retrain/...` (retrain refuses that).
        "git branch -m walkthrough",
        "dvc repro",
        "git commit -qam 'quick demo'",
    )
    for setup in setups:
        result = _run(clone, setup, env)
        assert result.returncode == 0, f"{setup}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"

    for command in commands_:
        result = _run(clone, command, env)
        program = " ".join(words(command)[:2])
        allowed = ALLOWED_EXIT.get(program, {0})
        assert result.returncode in allowed, (
            f"docs walkthrough: `{command}` exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    for written in ("predictions.parquet", "scores.csv", "q1.parquet"):
        assert (clone / written).is_file(), f"foldwise predict wrote no {written}"
    summary = (clone / "reports" / "retrain" / "report.md").read_text()
    assert "registered as `model@v0.2.0 (sha256:" in summary
    tags = _run(clone, "git tag", env).stdout.split()
    assert "model@v0.2.0" in tags
