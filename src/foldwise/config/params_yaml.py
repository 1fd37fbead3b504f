"""Write a commented ``params.yaml`` from the config models: every key, its value, its comment.

The values are the models' defaults with a caller's overrides (the demo's columns, or the
columns ``foldwise init`` found in a user's table); the comments are the fields' descriptions.
A key's comment sits beside it, wrapped at a fixed width so that the same comment reads the
same whatever the value; a comment longer than two such lines goes above the key.
"""

from __future__ import annotations

import copy
import json
import re
import textwrap
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel

from foldwise.config.describe import inline, keys
from foldwise.config.load import parse_params_text
from foldwise.config.schema import Config

COMMENT_COLUMN = 32  # where comments beside keys start, when the key and value leave room
COMMENT_WIDTH = 72  # the width a comment beside a key is wrapped at
LINE_WIDTH = 100  # the width a comment above a key is wrapped at
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")


def yaml_value(value: Any) -> str:
    """One YAML flow value that reads back as ``value`` under YAML 1.1 and 1.2 loaders."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        text = repr(value)
        # YAML 1.1 (PyYAML) reads 1e-05 as a string: it wants a dot in the mantissa.
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}: {yaml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    text = str(value)
    if _PLAIN.match(text) and yaml.safe_load(text) == text and parse_params_text(text) == text:
        return text
    return json.dumps(text)


def with_overrides(overrides: Mapping[str, Any], model: type[BaseModel] = Config) -> dict[str, Any]:
    """The models' defaults as a mapping, with ``overrides`` (by dotted key) set.

    Not validated here: the caller checks the written file as every stage does.
    """
    values = model().model_dump(mode="python")
    for path, value in overrides.items():
        *parents, last = path.split(".")
        node = values
        for part in parents:
            node = node[part]
        if last not in node:
            raise KeyError(f"{path} is not a params.yaml key")
        node[last] = copy.deepcopy(value)
    return values


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` (a long word stays whole); no line starts with ``|``."""
    glued = text.replace(" | ", "\0| ")
    lines = textwrap.wrap(glued, width, break_on_hyphens=False, break_long_words=False)
    return [line.replace("\0", " ") for line in lines]


def _comment_lines(text: str, indent: int) -> list[str]:
    width = LINE_WIDTH - indent - 2
    return [f"{' ' * indent}# {line}" for line in _wrap(text, width)]


def key_lines(
    indent: int, key: str, value: str | None, comment: str, sentence: bool = False
) -> list[str]:
    """``key: value`` (or ``key:`` before a block) with its comment beside or above it.

    A ``sentence`` (a description) beside a key loses its capital and full stop, as the
    other comments beside keys are written.
    """
    text = f"{' ' * indent}{key}:" + ("" if value is None else f" {value}")
    wrapped = _wrap(inline(comment) if sentence else comment, COMMENT_WIDTH)
    if not wrapped:
        return [text]
    if len(wrapped) > 2:
        return [*_comment_lines(comment, indent), text]
    column = COMMENT_COLUMN if len(text) + 1 < COMMENT_COLUMN else len(text) + 3
    first = f"{text.ljust(column)}# {wrapped[0]}"
    return [first, *(f"{' ' * column}# {line}" for line in wrapped[1:])]


def _block(value: Any) -> bool:
    """Whether a value is written as a block mapping: a non-empty one with plain keys."""
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(k, str) and yaml_value(k) == k for k in value)
    )


def _mapping_lines(
    mapping: Mapping[str, Any], indent: int, notes: Mapping[str, str], prefix: str = ""
) -> list[str]:
    """A non-empty mapping value in block style, entry by entry, with the entries' notes."""
    out: list[str] = []
    for name, value in mapping.items():
        note = notes.get(f"{prefix}{name}", "")
        if _block(value):
            out += key_lines(indent, str(name), None, note)
            out += _mapping_lines(value, indent + 2, notes, f"{prefix}{name}.")
        else:
            out += key_lines(indent, str(name), yaml_value(value), note)
    return out


def section_lines(
    model: type[BaseModel],
    values: Mapping[str, Any],
    comments: Mapping[str, str],
    indent: int = 0,
    prefix: str = "",
) -> list[str]:
    """The lines of ``model``'s keys with ``values``; ``comments`` replace a key's comment."""
    out: list[str] = []
    for key in keys(model, prefix):
        value = values[key.name]
        comment = comments.get(key.path, key.comment)
        sentence = key.path in comments or key.comment_is_description
        if key.section is not None:
            if indent == 0:
                out.append("")
            out += key_lines(indent, key.name, None, comment, sentence)
            out += section_lines(key.section, value, comments, indent + 2, f"{key.path}.")
        elif _block(value):
            out += key_lines(indent, key.name, None, comment, sentence)
            out += _mapping_lines(value, indent + 2, key.notes)
        else:
            out += key_lines(indent, key.name, yaml_value(value), comment, sentence)
    return out


def render_params_yaml(
    overrides: Mapping[str, Any],
    header: list[str],
    comments: Mapping[str, str] | None = None,
    model: type[BaseModel] = Config,
) -> str:
    """A whole ``params.yaml``: ``header`` comment lines, then every key of :class:`Config`.

    ``overrides`` sets keys by dotted path (``{"data.target": "y"}``) over the models'
    defaults; ``comments`` replaces the comment of a key by dotted path. ``model`` is the
    whole file's model (:class:`Config`; another one in tests).
    """
    values = with_overrides(overrides, model)
    lines = [f"# {line}" if line else "#" for line in header]
    lines += section_lines(model, values, comments or {})
    return "\n".join(line.rstrip() for line in lines) + "\n"
