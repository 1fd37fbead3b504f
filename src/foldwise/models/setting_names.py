"""The setting names each model's estimator accepts, without importing its library.

Checking params.yaml's model settings by name needs the estimators' parameter names. Reading
them from the estimator classes would import scikit-learn, CatBoost and LightGBM in every
stage process (about a second of start-up), also in the stages that fit no model. So the names
are kept in :mod:`foldwise.models.known_settings`, a table generated from the installed
libraries; tests/models/test_known_settings.py fails when it no longer matches them. After
upgrading a model library, regenerate it:

    python -m foldwise.models.setting_names
"""

from __future__ import annotations

import importlib.metadata
import textwrap
from pathlib import Path

from foldwise.metrics import TASKS, Task
from foldwise.models import known_settings
from foldwise.models.registry import MODEL_NAMES, backend_for

__all__ = ["allowed_settings", "generate_table", "reserved_settings"]

_LIBRARIES = ("catboost", "lightgbm", "scikit-learn")


def allowed_settings(name: str, task: Task) -> tuple[str, list[str]]:
    """The estimator's class name for ``task`` and the setting names it accepts."""
    estimator = known_settings.ESTIMATORS[name][task]
    return estimator, known_settings.SETTINGS[estimator].split()


def reserved_settings(name: str) -> tuple[frozenset[str], frozenset[str]]:
    """The keys foldwise sets itself: (early stopping, categorical columns)."""
    early_stopping, categorical = known_settings.RESERVED[name]
    return frozenset(early_stopping.split()), frozenset(categorical.split())


def _strings(text: str, indent: str) -> str:
    """``text`` as adjacent string literals on lines within 100 characters."""
    lines = textwrap.wrap(text, 100 - len(indent) - 3, break_on_hyphens=False) or [""]
    last = len(lines) - 1
    return "\n".join(f'{indent}"{line}{" " * (i < last)}"' for i, line in enumerate(lines))


def generate_table() -> str:
    """The text of :mod:`foldwise.models.known_settings`, from the installed libraries."""
    estimators: dict[str, dict[str, str]] = {}
    settings: dict[str, str] = {}
    reserved: dict[str, tuple[str, str]] = {}
    for name in MODEL_NAMES:
        backend = backend_for(name)
        estimators[name] = {}
        for task in TASKS:
            estimator, keys = backend.setting_keys(task)
            estimators[name][task] = estimator
            settings[estimator] = " ".join(keys)
        reserved[name] = (
            " ".join(sorted(backend.early_stopping_keys)),
            " ".join(sorted(backend.categorical_keys)),
        )
    versions = {lib: importlib.metadata.version(lib) for lib in _LIBRARIES}
    out = [
        '"""The setting names of each model\'s estimator: generated, do not edit.',
        "",
        "Written by ``python -m foldwise.models.setting_names`` from the installed libraries",
        "(" + ", ".join(f"{lib} {v}" for lib, v in versions.items()) + ").",
        '"""',
        "",
        "# Each registry model's estimator class, per task.",
        "ESTIMATORS: dict[str, dict[str, str]] = {",
    ]
    for name, tasks in estimators.items():
        out.append(f'    "{name}": {{')
        out.extend(f'        "{task}": "{estimator}",' for task, estimator in tasks.items())
        out.append("    },")
    out += ["}", "# The setting names each estimator accepts, separated by spaces.", "SETTINGS = {"]
    for estimator, names in settings.items():
        one_line = f'    "{estimator}": "{names}",'
        if len(one_line) <= 100:
            out.append(one_line)
        else:
            out += [f'    "{estimator}": (', _strings(names, " " * 8), "    ),"]
    out += [
        "}",
        "# The keys foldwise sets itself: (early stopping, categorical columns).",
        "RESERVED = {",
    ]
    for name, (early, categorical) in reserved.items():
        out += [
            f'    "{name}": (',
            _strings(early, " " * 8) + ",",
            f'        "{categorical}",',
            "    ),",
        ]
    out.append("}")
    return "\n".join(out) + "\n"


def main() -> None:
    path = Path(__file__).with_name("known_settings.py")
    path.write_text(generate_table(), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
