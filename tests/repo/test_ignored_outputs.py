"""Every folder a command writes by default is a DVC output or ignored by git.

The commands' output options are read from the real ``foldwise`` parser, so a new command with
an ``--out`` (or ``--log-dir``) default is checked without editing this file.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OUTPUT_OPTIONS = ("out", "log_dir", "log")
# Written by stages next to their declared outputs, on purpose not DVC outputs.
WORKING_STATE = (
    ".foldwise/timings.jsonl",
    ".foldwise/tune/studies.journal",
    ".foldwise/models/model@v1.0.0/bundle.json",  # `foldwise serve --version` materialises here
    "reports/validate/report.json",
    "reports/validate/report.md",
    "dvc_plots/index.html",  # `dvc plots show` without -o
)


class _ParsedError(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


def _foldwise_parser(monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    """The parser ``foldwise`` builds, caught when it starts parsing."""
    from foldwise.cli import main

    def catch(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        raise _ParsedError(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", catch)
    with pytest.raises(_ParsedError) as caught:
        main(["--help"])
    return caught.value.parser


def _default_outputs(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, Path]:
    """``{"command --option": default}`` for every output option with a default, all levels."""
    found: dict[str, Path] = {}
    for action in parser._actions:  # argparse offers no public walk over sub-commands
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_default_outputs(sub, f"{prefix}{name} "))
        elif action.dest in OUTPUT_OPTIONS and isinstance(action.default, Path):
            found[f"{prefix}--{action.dest.replace('_', '-')}"] = action.default
    return found


def _dvc_outputs() -> list[str]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    outs = []
    for stage in stages.values():
        for kind in ("outs", "metrics", "plots"):
            for entry in stage.get(kind, []):
                outs.append(next(iter(entry)) if isinstance(entry, dict) else entry)
    return outs


def _ignored(relative: str) -> bool:
    result = subprocess.run(
        ["git", "check-ignore", "-q", "--no-index", relative], cwd=ROOT, capture_output=True
    )
    return result.returncode == 0


def _kept_out_of_git(relative: str) -> bool:
    under_output = any(relative == o or relative.startswith(f"{o}/") for o in _dvc_outputs())
    return under_output or _ignored(relative)


def test_every_default_output_folder_of_a_command_is_ignored(monkeypatch):
    outputs = _default_outputs(_foldwise_parser(monkeypatch))
    # The commands known today; a new one is checked too, without being listed here.
    assert {
        "compare --out",
        "monitor --out",
        "retrain --out",
        "explain --out",
        "serve --log-dir",
        "simulate --out",
    } <= set(outputs)
    kept = {
        option: str(path)
        for option, path in outputs.items()
        if not _kept_out_of_git(f"{path.as_posix().rstrip('/')}/file")
    }
    assert kept == {}, f"not ignored by git nor a DVC output: {kept}"


@pytest.mark.parametrize("relative", WORKING_STATE)
def test_working_state_written_beside_the_pipeline_is_ignored(relative):
    assert _kept_out_of_git(relative)


def test_the_check_sees_a_folder_that_is_not_ignored():
    assert not _kept_out_of_git("reports/somewhere_new/file")
    assert _kept_out_of_git("reports/explain_rows/contributions.csv")
