"""Fenced code blocks of the Markdown docs, with the HTML comment that marks each one.

A block's marker is the line right before its opening fence when that line is an HTML
comment: ``<!-- walkthrough -->`` (run by tests/e2e/test_docs_walkthrough.py) or
``<!-- illustrative -->`` / ``<!-- illustrative: why -->`` (not run as written).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
WALKTHROUGH = "walkthrough"
ILLUSTRATIVE = "illustrative"
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
_MARKER = re.compile(r"^<!--\s*([a-z]+)\s*(?::.*)?-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it starts, its info string, its marker and its lines."""

    path: Path
    line: int  # 1-based line of the opening fence
    info: str
    marker: str | None
    text: str

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of one Markdown file, in order (indented fences included)."""
    lines = path.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i].strip())
        if not opening:
            i += 1
            continue
        fence, info = opening[1], opening[2]
        previous = lines[i - 1].strip() if i else ""
        marker = _MARKER.match(previous)
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        assert end < len(lines), f"{path.relative_to(ROOT)}:{i + 1}: unclosed code fence"
        text = "\n".join(lines[i + 1 : end])
        found.append(Block(path, i + 1, info, marker[1] if marker else None, text))
        i = end + 1
    return found


def doc_pages() -> list[Path]:
    """Every Markdown page of the site."""
    return sorted(DOCS.rglob("*.md"))


def commands(block: Block) -> list[str]:
    """A bash block's commands, one per line; a trailing backslash joins lines."""
    text = block.text.replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip()]


def words(command: str) -> list[str]:
    """A command's words as bash splits them; ``#`` starts a comment only at a word's start."""
    return shlex.split(re.sub(r"(^|\s)#.*$", "", command))
