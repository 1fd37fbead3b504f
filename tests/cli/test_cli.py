"""The foldwise command: one module per command, each with add_parser and run."""

import argparse
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import foldwise.cli
from foldwise.cli import COMMANDS, main

CLI_DIR = Path(foldwise.cli.__file__).parent


def test_every_command_module_is_registered_once():
    modules = {p.stem for p in CLI_DIR.glob("*.py")} - {"__init__", "__main__"}
    assert {m.__name__.rsplit(".", 1)[1] for m in COMMANDS} == modules
    assert len(COMMANDS) == len(set(COMMANDS))


@pytest.mark.parametrize("module", COMMANDS, ids=lambda m: m.__name__)
def test_each_command_registers_its_own_run(module):
    assert list(inspect.signature(module.add_parser).parameters) == ["subparsers"]
    assert list(inspect.signature(module.run).parameters) == ["args"]
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command")
    module.add_parser(subparsers)
    [name] = subparsers.choices
    assert name == module.__name__.rsplit(".", 1)[1].replace("_", "-")
    assert subparsers.choices[name].get_default("run") is module.run


def test_help_lists_every_command():
    out = subprocess.run(
        [sys.executable, "-m", "foldwise.cli", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    for module in COMMANDS:
        assert module.__name__.rsplit(".", 1)[1].replace("_", "-") in out.stdout


def test_a_user_error_is_one_line_and_exit_code_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["test-usage", "--root", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: test-usage:")
    assert "\n" not in err
