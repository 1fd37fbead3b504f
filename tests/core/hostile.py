"""Helpers of the hostile-input corpus: tiny projects and stages run in-process."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("prepare", "audit", "baseline", "tune", "train", "evaluate")
# What each stage writes: after a failure none of it may exist.
OUTPUTS = {
    "prepare": [
        "data/prepared/train.parquet",
        "data/prepared/test.parquet",
        "data/prepared/schema.json",
        "data/prepared/split_checks.json",
    ],
    "audit": ["reports/audit/audit.json", "reports/audit/audit_details.json"],
    "baseline": ["reports/baseline/metrics.json"],
    "tune": ["models/best_params.json", "reports/tune/nested_cv.json", "reports/tune/tune.json"],
    "train": [
        "models/model",
        "reports/train/oof_predictions.parquet",
        "reports/train/metrics.json",
        "reports/train/ensemble.json",
        "reports/train/live",
    ],
    "evaluate": [
        "reports/evaluate/predictions.parquet",
        "reports/evaluate/metrics.json",
        "reports/evaluate/segments.json",
        "reports/evaluate/live",
    ],
}
# Small settings: each stage runs in a second or two on 120 rows.
TINY_PARAMS = {
    "seed": 7,
    "data": {
        "source": "data/raw/table.csv",
        "target": "label",
        "id_columns": ["row_id"],
        "drop_columns": [],
    },
    "problem": {"positive_label": "Yes"},
    "cv": {"folds": 3, "inner_folds": 2},
    "model": {"catboost": {"iterations": 40, "learning_rate": 0.2, "depth": 3}},
    "audit": {"fail_on": [], "max_rows": 1000},
    "train": {"early_stopping_rounds": 10},
    "tune": {"n_trials": 2, "nested": False},
    "evaluate": {"segments": ["colour"], "bootstrap_samples": 100},
}


def tiny_table(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """A small binary table with a numeric, a categorical and a yes/no feature."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    member = rng.random(n) < 0.5
    signal = 1.5 * x1 + (colour == "red") + 0.5 * member + rng.normal(scale=0.7, size=n)
    return pd.DataFrame(
        {
            "row_id": [f"R{i:04d}" for i in range(n)],
            "x1": x1.round(4),
            "colour": colour,
            "member": np.where(member, "yes", "no"),
            "label": np.where(signal > 0.6, "Yes", "No"),
        }
    )


def deep_update(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class Result:
    """What a stage run left: exit code, output and Python warnings raised on the way."""

    code: int
    out: str
    err: str
    warnings: list[str] = field(default_factory=list)


_MODULES: dict[str, ModuleType] = {}


def stage_module(name: str) -> ModuleType:
    if name not in _MODULES:
        spec = importlib.util.spec_from_file_location(
            f"_stage_{name}", ROOT / "stages" / f"{name}.py"
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[name] = module
    return _MODULES[name]


def run_stage_here(root: Path, name: str) -> Result:
    """Run a stage's ``main()`` through ``run_stage`` with ``root`` as working directory."""
    from foldwise.stage import run_stage

    main = stage_module(name).main
    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    os.chdir(root)
    code = 0
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            warnings.simplefilter("always")
            try:
                run_stage(main)
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        os.chdir(before)
    shown = [
        f"{w.category.__name__}: {w.message}"
        for w in caught
        if not issubclass(w.category, DeprecationWarning | PendingDeprecationWarning)
    ]
    return Result(code, out.getvalue(), err.getvalue(), shown)


class Tiny:
    """A throwaway project folder (no git, no DVC) the stages can run in."""

    def __init__(self, root: Path, params: dict | None = None) -> None:
        self.root = root
        (root / "data" / "raw").mkdir(parents=True, exist_ok=True)
        self.write_params(params or TINY_PARAMS)

    def write_params(self, params: dict) -> None:
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def params(self) -> dict:
        return yaml.safe_load((self.root / "params.yaml").read_text())

    def set(self, changes: dict) -> None:
        self.write_params(deep_update(self.params(), changes))

    def path(self, relative: str) -> Path:
        return self.root / relative

    def write_text(self, relative: str, text: str | bytes) -> None:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")

    def write_frame(self, frame: pd.DataFrame, relative: str = "data/raw/table.csv", **kw) -> None:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        if relative.endswith(".parquet"):
            frame.to_parquet(target, index=False)
        else:
            frame.to_csv(target, index=False, **kw)

    def run(self, stage: str) -> Result:
        return run_stage_here(self.root, stage)

    def run_all(self, stages: tuple[str, ...] = STAGES) -> dict[str, Result]:
        results = {}
        for stage in stages:
            results[stage] = self.run(stage)
            assert results[stage].code == 0, (stage, results[stage].err)
        return results

    def exists(self, relative: str) -> bool:
        return self.path(relative).exists()


def assert_one_line_error(result: Result, *culprits: str) -> None:
    """Exit 2, stderr is one ``error:`` line naming every culprit, nothing from a library."""
    lines = result.err.strip().splitlines()
    assert result.code == 2, (result.code, result.err)
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), result.err
    assert "Traceback" not in result.err
    assert "Traceback" not in result.out
    for culprit in culprits:
        assert culprit in lines[0], (culprit, lines[0])
    assert not result.warnings, result.warnings


def python() -> str:
    return sys.executable
