"""The params reference page (``docs/reference/params.md``), generated from the config models.

One table per section: every key, its type (with the allowed range or values), its default
and its description.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from foldwise.config.demo_params import DEMO_OVERRIDES
from foldwise.config.describe import Key, all_keys, keys
from foldwise.config.params_yaml import yaml_value
from foldwise.config.schema import Config

_BOUNDS = (
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "≤"),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.MinLen, "min_length", "length ≥"),
    (annotated_types.MaxLen, "max_length", "length ≤"),
)
_SCALAR = {str, int, float, bool, type(None)}
_NAMES = {str: "text", int: "integer", float: "number", bool: "true/false", type(None): "null"}


def _bounds(metadata: list[Any]) -> list[str]:
    found = []
    for item in metadata:
        inner = item.metadata if isinstance(item, FieldInfo) else [item]
        for each in inner:
            for kind, attribute, sign in _BOUNDS:
                if isinstance(each, kind):
                    found.append(f"{sign} {getattr(each, attribute)}")
    return found


def type_text(annotation: Any, metadata: list[Any] | None = None) -> str:
    """A reader's name for a field's type: ``integer (≥ 2, ≤ 20)``, ``list of text``, ..."""
    bounds = _bounds(metadata or [])
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        bounds += _bounds(extra)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType) and set(args) == _SCALAR:
        text = "scalar (text, number, true/false or null)"
    elif origin is Literal:
        text = "one of " + ", ".join(f"`{a}`" for a in args)
    elif origin in (Union, types.UnionType):
        parts = [type_text(a) for a in args]
        text = ", ".join(parts[:-1]) + " or " + parts[-1]
    elif origin is list:
        inner = type_text(args[0])
        text = f"list, each {inner}" if inner.startswith("one of") else f"list of {inner}"
    elif origin is dict:
        text = f"mapping of {type_text(args[0])} to {type_text(args[1])}"
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        text = "{" + ", ".join(annotation.model_fields) + "}"
    else:
        text = _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))
    if "length ≥ 1" in bounds and "length ≤ 1" in bounds:
        bounds = [b for b in bounds if not b.startswith("length")] + ["one character"]
    return f"{text} ({', '.join(bounds)})" if bounds else text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default_text(key: Key) -> str:
    value = key.default()
    if isinstance(value, dict) and value:
        return f"`{_flow(value)}`"
    return f"`{yaml_value(value)}`"


def _flow(value: Any) -> str:
    """A mapping as YAML flow text with plain keys, as a user writes it."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    return yaml_value(value)


def _description(key: Key) -> str:
    notes = key.notes
    text = key.description
    if notes:
        text += " Defaults: " + "; ".join(f"`{k}`: {v}" for k, v in notes.items()) + "."
    return text


def _rows(section: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for key in all_keys(section, prefix):
        if key.section is not None:
            cells = [f"`{key.path}`", "section", "", key.description]
        else:
            type_ = type_text(key.field.annotation, list(key.field.metadata))
            cells = [f"`{key.path}`", type_, _default_text(key), _description(key)]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return rows


def reference_markdown(model: type[BaseModel] = Config) -> str:
    """The whole page: the top-level keys, then one section per params.yaml section."""
    head = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    lines = [
        "# params.yaml reference",
        "",
        "Every key of `params.yaml`, grouped by section. Each stage validates the whole file "
        "first: an unknown key, a wrong type, a value out of range or an impossible combination "
        "stops it with one line naming the key. A key left out of `params.yaml` takes the "
        "default below.",
        "",
        "This page is generated from the config models (`src/foldwise/config/`) by "
        "`python -m foldwise.config.generate`; edit the models, not this page.",
        "",
        "## Top level",
        "",
        *head,
    ]
    top = [k for k in keys(model) if k.section is None]
    for key in top:
        type_ = type_text(key.field.annotation, list(key.field.metadata))
        cells = [f"`{key.path}`", type_, _default_text(key), _description(key)]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    for key in keys(model):
        if key.section is None:
            continue
        lines += ["", f"## `{key.path}`", "", key.description, "", *head]
        lines += _rows(key.section, f"{key.path}.")
    lines += [
        "",
        "## The demo project's values",
        "",
        "The repository's own `params.yaml` runs the built-in churn table; it keeps every "
        "default above except these (`foldwise init` sets them for a new table):",
        "",
        *(f"- `{path}: {_flow(value)}`" for path, value in DEMO_OVERRIDES.items()),
    ]
    return "\n".join(lines) + "\n"
