"""Shared fixtures: tiny generated tables and throwaway DVC projects."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# Small settings so an end-to-end `dvc repro` takes seconds; tests override what they probe.
FAST_PARAMS = {
    "demo": {"rows": 600},
    "cv": {"folds": 3, "inner_folds": 2},
    "model": {"catboost": {"iterations": 150, "learning_rate": 0.1, "depth": 4}},
    "tune": {"n_trials": 3},
    "evaluate": {"bootstrap_samples": 200},
}


def make_table(task: str, n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A small messy table: numbers as text with blanks, yes/no words, a category, a date."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    flag = rng.random(n) < 0.5
    signal = 1.5 * x1 - x2 + (colour == "red") + 0.5 * flag
    frame = pd.DataFrame(
        {
            "row_id": [f"R{i:05d}" for i in range(n)],
            "x1": [f" {v:.3f} " if i % 17 else " " for i, v in enumerate(x1)],
            "x2": x2.round(4),
            "colour": colour,
            "member": np.where(flag, "yes", "no"),
            "day": (pd.Timestamp("2022-01-01") + pd.to_timedelta(np.arange(n) % 700, "D")).strftime(
                "%Y-%m-%d"
            ),
        }
    )
    noise = rng.normal(scale=0.5, size=n)
    if task == "binary":
        frame["label"] = np.where(signal + noise > 0.8, "Yes", "No")
    elif task == "multiclass":
        frame["label"] = np.select(
            [signal + noise < -0.5, signal + noise < 1.0], ["low", "mid"], default="high"
        )
    else:
        frame["label"] = (3 * signal + noise).round(3)
    return frame


@pytest.fixture
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Project:
    """A fresh git + DVC project with foldwise's pipeline; returns a small helper object.

    A copy of one :meth:`Project.create` per session (``git init``, ``dvc init`` and the first
    commit cost seconds of start-up each time).
    """
    from tests.support.finished import finished_copy

    return finished_copy(request, tmp_path, "fresh-project", lambda _: None)


class Project:
    """A throwaway copy of the pipeline: write tables and params, run dvc."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def create(cls, root: Path) -> Project:
        root.mkdir(parents=True)
        for name in ("dvc.yaml", "params.yaml", ".gitignore"):
            shutil.copy(ROOT / name, root / name)
        for folder in ("stages", "src"):
            shutil.copytree(
                ROOT / folder,
                root / folder,
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
            )
        (root / "data" / "raw").mkdir(parents=True)
        (root / "data" / "raw" / ".gitkeep").touch()
        project = cls(root)
        project.set_params(**FAST_PARAMS)
        project.run(["git", "init", "-q"])
        project.run(["git", "config", "user.email", "test@example.com"])
        project.run(["git", "config", "user.name", "test"])
        project.run([sys.executable, "-m", "dvc", "init", "-q"])
        project.run([sys.executable, "-m", "dvc", "config", "core.analytics", "false"])
        project.commit("foldwise pipeline")
        return project

    def run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(args, cwd=self.root, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run([sys.executable, "-m", "dvc", *args], check=check)

    def set_params(self, **sections: dict) -> None:
        """Update params.yaml: ``set_params(data={"target": "y"}, demo={"rows": 600})``."""
        path = self.root / "params.yaml"
        params = yaml.safe_load(path.read_text())
        for section, values in sections.items():
            if isinstance(values, dict):
                params.setdefault(section, {}).update(values)
            else:
                params[section] = values
        path.write_text(yaml.safe_dump(params, sort_keys=False))

    def write_table(self, frame: pd.DataFrame, name: str = "table.csv") -> str:
        path = self.root / "data" / "raw" / name
        if name.endswith(".parquet"):
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        return f"data/raw/{name}"

    def commit(self, message: str = "snapshot") -> None:
        self.run(["git", "add", "-A"])
        self.run(["git", "commit", "-q", "-m", message])

    def read_json(self, relative: str) -> dict:
        import json

        return json.loads((self.root / relative).read_text())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules with slow end-to-end tests first, the rest in their usual order.

    With ``--dist loadscope`` a module runs whole on one worker, in collection order: a long
    module collected last (the docs walkthrough, retraining) ran alone while the other
    worker sat idle. Started first, the fast modules fill the gaps around them instead.
    """
    slow = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> tuple[bool, int]:
        module = item.nodeid.split("::")[0]
        longest = LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)
        return module not in slow, longest

    items.sort(key=rank)


# The longest modules, longest first (measured on CI's 2 cores: minutes each). test_model.py
# comes after test_compare.py so that, by the time it starts, test_repro.py on the other worker
# has built the binary-table run both share (tests/support/finished.py) and it need not wait.
LONGEST_FIRST = [
    "tests/e2e/test_repro.py",
    "tests/e2e/test_compare.py",
    "tests/e2e/test_model.py",
    "tests/e2e/test_docs_walkthrough.py",
    "tests/e2e/test_retrain.py",
    "tests/e2e/test_fresh_clone.py",
    "tests/e2e/test_init.py",
    "tests/e2e/test_ids.py",
    "tests/ensembling/test_ensemble.py",
    "tests/serve/test_serve.py",
]
