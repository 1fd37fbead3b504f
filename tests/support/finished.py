"""Finished pipeline runs that several slow tests share: built once per test session, copied.

A full ``dvc repro`` costs most of a minute on CI's 2 cores, and several tests start from the
same finished run before they probe different things (outputs, a rerun, a fresh process, a
changed param). :func:`finished_copy` builds a run once per ``pytest`` session, also across
pytest-xdist workers (a file lock in the session's shared temporary folder: the worker that
comes second waits for the first one's build instead of building it again), and hands each test
its own copy, so a test that changes params, files or git history cannot disturb another.

The copy is the whole project folder: git history, ``.dvc/cache``, ``dvc.lock`` and every
output, so ``dvc repro`` in the copy finds everything up to date, as in the original.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from tests.conftest import Project, make_table


def _shared_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A folder every xdist worker of this session sees (the parent of their base temps)."""
    base = tmp_path_factory.getbasetemp()
    return (base if worker_id == "master" else base.parent) / "finished-runs"


def finished_copy(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    name: str,
    build: Callable[[Project], None],
) -> Project:
    """A copy, in ``tmp_path``, of the project ``build`` left (built once per session as ``name``).

    ``build`` receives a fresh :class:`Project` (``tests.conftest.FAST_PARAMS``) and runs it;
    every test asking for the same ``name`` must pass the same ``build``.
    """
    tmp_path_factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
    worker_id: str = request.getfixturevalue("worker_id")
    shared = _shared_root(tmp_path_factory, worker_id)
    shared.mkdir(parents=True, exist_ok=True)
    original = shared / name
    done = shared / f"{name}.done"
    with FileLock(shared / f"{name}.lock"):
        if not done.is_file():
            shutil.rmtree(original, ignore_errors=True)  # a build that failed part-way
            build(Project.create(original))
            done.touch()
    return Project(shutil.copytree(original, tmp_path / "proj", symlinks=True))


# --- the shared runs -----------------------------------------------------------------------


def point_at(project: Project, task: str, **extra: dict) -> None:
    """Point ``project`` at a small generated ``task`` table (tests.conftest.make_table)."""
    source = project.write_table(make_table(task))
    project.set_params(
        data={
            "source": source,
            "target": "label",
            "id_columns": ["row_id"],
            "drop_columns": [],
        },
        problem={"positive_label": "Yes" if task == "binary" else None},
        audit={"fail_on": ["leakage", "train_test_duplicates"]},
        evaluate={"segments": ["colour"]},
        **extra,
    )


def table_run(task: str) -> Callable[[Project], None]:
    """The whole pipeline on a generated ``task`` table (:func:`point_at`), committed first."""

    def build(project: Project) -> None:
        point_at(project, task)
        project.commit()
        project.dvc("repro")

    return build


def demo_run(project: Project) -> None:
    """The whole pipeline on 3,000 demo rows in the quick setting (no outer loop), committed."""
    project.set_params(demo={"rows": 3000}, tune={"nested": False})
    project.commit()
    project.dvc("repro")


# The production settings of the small default run: a cheaper latency measurement.
FAST_PRODUCTION = {"large_batch_rows": 2000, "latency_calls": 50}


def fast_demo_run(project: Project) -> None:
    """The whole pipeline on the demo in the small settings (tests.conftest.FAST_PARAMS), committed."""
    project.set_params(production=FAST_PRODUCTION)
    project.commit("small settings")
    project.dvc("repro")
