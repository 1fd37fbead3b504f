"""MkDocs hooks: the command-line reference from ``--help``; docstrings' Sphinx roles as links.

``reference/cli.md`` holds a ``<!-- cli-help -->`` line that becomes the ``--help`` text of
``foldwise`` and every command (run with this Python), so the page cannot drift from the code.

The docstrings use Sphinx roles; mkdocstrings renders them as the role's name followed by
the code (``:func:<code>name</code>``). This hook drops the role and hands the name to
mkdocs-autorefs, which links it when the API pages document it and leaves the code as it is
otherwise. A leading ``~`` shows the last component only, as in Sphinx.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

CLI_PAGE = "reference/cli.md"
CLI_MARKER = "<!-- cli-help -->"

_ROLE = re.compile(r":(?:func|meth|class|mod|attr|data|exc|obj):<code>(~?)([\w.]+)</code>")


def _autoref(match: re.Match[str]) -> str:
    short, name = match[1], match[2]
    shown = name.rsplit(".", 1)[-1] if short else name
    return f'<autoref identifier="{name}" optional><code>{shown}</code></autoref>'


def on_page_content(html: str, **_: Any) -> str:
    """Replace every rendered Sphinx role in a page's HTML."""
    return _ROLE.sub(_autoref, html)


def _help(*words: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "foldwise.cli", *words, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    return result.stdout.rstrip()


def _choices(help_text: str) -> list[str]:
    """The sub-commands of a usage line, ``{a,b,c} ...`` (not an option's choices)."""
    match = re.search(r"\{([\w,-]+)\}\s+\.\.\.", help_text)
    return match[1].split(",") if match else []


def _section(words: tuple[str, ...], help_text: str) -> str:
    heading = "#" * (len(words) + 1)
    return f"{heading} foldwise {' '.join(words)}\n\n```text\n{help_text}\n```\n"


def cli_reference() -> str:
    """Every command's ``--help``, in the order ``foldwise --help`` lists them."""
    top = _help()
    sections = [f"```text\n{top}\n```\n"]
    for command in _choices(top):
        text = _help(command)
        sections.append(_section((command,), text))
        for sub in _choices(text):
            sections.append(_section((command, sub), _help(command, sub)))
    return "\n".join(sections)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Fill the command-line reference page."""
    if page.file.src_uri != CLI_PAGE:
        return markdown
    assert CLI_MARKER in markdown, f"{CLI_PAGE} lost its {CLI_MARKER} line"
    return markdown.replace(CLI_MARKER, cli_reference())
