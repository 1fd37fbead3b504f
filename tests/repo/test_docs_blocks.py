"""The docs' shell blocks are run by a test or marked illustrative, and name real commands.

Conventions (docs/contributing.md): a ```bash block is preceded by ``<!-- walkthrough -->``
(tests/e2e/test_docs_walkthrough.py runs it) or ``<!-- illustrative -->`` (not run as written);
shell is never written as ``sh``, ``shell`` or ``console``, so no block slips past the check;
every fence carries an info string. ``foldwise`` commands in any block, run or not, and in
inline code, must name a real subcommand and real options.
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache

import pytest

from tests.support.docs_blocks import (
    ILLUSTRATIVE,
    ROOT,
    WALKTHROUGH,
    Block,
    blocks,
    commands,
    doc_pages,
    words,
)

README = ROOT / "README.md"
OTHER_SHELLS = {"sh", "shell", "console", "zsh", "shell-session", "bash-session"}
README_MAX_LINES = 250


def _all_blocks() -> list[Block]:
    return [block for page in [*doc_pages(), README] for block in blocks(page)]


def test_the_docs_have_pages_and_blocks() -> None:
    pages = doc_pages()
    assert len(pages) >= 10, pages
    walkthrough = [b for b in _all_blocks() if b.marker == WALKTHROUGH]
    assert walkthrough, "no <!-- walkthrough --> block: the docs walkthrough test runs nothing"


def test_every_bash_block_is_run_or_marked_illustrative() -> None:
    unmarked = [
        b.where()
        for b in _all_blocks()
        if b.info == "bash" and b.marker not in (WALKTHROUGH, ILLUSTRATIVE)
    ]
    assert not unmarked, (
        "bash blocks without <!-- walkthrough --> or <!-- illustrative --> on the line before: "
        f"{unmarked}"
    )


def test_shell_is_always_written_as_bash_and_every_fence_has_an_info_string() -> None:
    wrong = [
        f"{b.where()} ({b.info or 'no info string'})"
        for b in _all_blocks()
        if b.info in OTHER_SHELLS or not b.info
    ]
    assert not wrong, f"write shell as ```bash and output as ```text: {wrong}"


def test_markers_are_known_and_only_on_bash_blocks() -> None:
    bad = [
        f"{b.where()}: <!-- {b.marker} --> before ```{b.info}"
        for b in _all_blocks()
        if b.marker is not None
        and (b.marker not in (WALKTHROUGH, ILLUSTRATIVE) or b.info != "bash")
    ]
    assert not bad, bad


def test_no_page_mentions_issues() -> None:
    pattern = re.compile(r"\bissues? #?\d+", re.IGNORECASE)
    found = [
        f"{page.relative_to(ROOT)}:{number}: {line.strip()}"
        for page in [*doc_pages(), README]
        for number, line in enumerate(page.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, found


def test_readme_is_short_and_links_the_docs() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= README_MAX_LINES
    assert "mkdocs serve" in text
    assert "docs/" in text


def test_readme_set_up_and_test_commands_are_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    install = next(line for line in ci if "pip install" in line)
    readme_commands = [c for b in blocks(README) if b.info == "bash" for c in commands(b)]
    assert install in readme_commands, f"README must show .ci/run's install line: {install}"
    assert "dvc repro" in readme_commands
    assert "pytest" in ci, ".ci/run's test command changed: update the README"
    assert "pytest" in readme_commands


@cache
def _help(words: tuple[str, ...]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "foldwise.cli", *words, "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, (
        f"`foldwise {' '.join(words)}` is not a command:\n{result.stderr}"
    )
    return result.stdout


def _foldwise_calls() -> list[tuple[str, list[str]]]:
    calls = []
    for block in _all_blocks():
        if block.info != "bash":
            continue
        for command in commands(block):
            split = words(command)
            while split and re.match(r"^[A-Z_]+=", split[0]):  # VAR=value foldwise ...
                split = split[1:]
            if split[:1] == ["foldwise"]:
                calls.append((block.where(), split[1:]))
    return calls


_INLINE = re.compile(r"`(foldwise [^`]+)`")
# Inline code that starts with "foldwise" but is text, not a command.
NOT_COMMANDS = {"foldwise rollback of prod: v3 -> v2"}


def _inline_calls() -> list[tuple[str, list[str]]]:
    """``foldwise ...`` commands written inline in the prose (on one line)."""
    calls = []
    for page in [*doc_pages(), README]:
        for number, line in enumerate(page.read_text().splitlines(), 1):
            for match in _INLINE.finditer(line):
                args = [w.strip("[]") for w in words(match[1])[1:]]
                if match[1] in NOT_COMMANDS or (
                    args and args[0].isupper()
                ):  # COMMAND: a placeholder
                    continue
                calls.append((f"{page.relative_to(ROOT)}:{number}", args))
    return calls


def test_the_docs_run_foldwise_commands() -> None:
    assert len(_foldwise_calls()) >= 20


@pytest.mark.parametrize(
    ("where", "args"),
    _foldwise_calls() + _inline_calls(),
    ids=[f"{where} foldwise {args[0]}" for where, args in _foldwise_calls() + _inline_calls()],
)
def test_foldwise_commands_in_the_docs_are_real(where: str, args: list[str]) -> None:
    assert args, f"{where}: `foldwise` without a command"
    command = tuple(args[:2]) if args[0] == "model" and len(args) > 1 else tuple(args[:1])
    text = _help(command)
    options = {word.split("=")[0] for word in args if word.startswith("--")}
    unknown = sorted(option for option in options if option not in text)
    assert not unknown, f"{where}: `foldwise {' '.join(command)}` has no option {unknown}"
