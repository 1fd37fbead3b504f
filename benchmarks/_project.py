"""Shared by the benchmarks: a throwaway copy of the pipeline and ``-S key=value`` overrides."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def copy_pipeline(dest: Path) -> None:
    """Copy dvc.yaml, params.yaml, .gitignore, stages/ and src/ into ``dest`` (no git yet)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("dvc.yaml", "params.yaml", ".gitignore"):
        shutil.copy(ROOT / name, dest / name)
    for folder in ("stages", "src"):
        shutil.copytree(
            ROOT / folder,
            dest / folder,
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
        )
    (dest / "data" / "raw").mkdir(parents=True)
    (dest / "data" / "raw" / ".gitkeep").touch()


def set_param(params: dict, assignment: str) -> None:
    """Apply ``section.key=value`` (value parsed as YAML) to a params mapping."""
    key, _, value = assignment.partition("=")
    *parents, leaf = key.split(".")
    node = params
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = yaml.safe_load(value)
