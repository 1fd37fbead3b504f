"""What the config models say about each params.yaml key: sections, defaults, descriptions.

The config models (:mod:`foldwise.config.schema` and the section modules) are the one home of
every key's default and description. This module reads them for the generated files:
``params.yaml`` (:mod:`foldwise.config.params_yaml`) and the params reference page
(:mod:`foldwise.config.reference`).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo


@dataclass(frozen=True)
class Key:
    """One key of a section: its dotted path, its pydantic field and its section, if any."""

    path: str
    name: str
    field: FieldInfo
    section: type[BaseModel] | None

    @property
    def description(self) -> str:
        return self.field.description or ""

    def extra(self, name: str) -> Any:
        extra = self.field.json_schema_extra
        return extra.get(name) if isinstance(extra, dict) else None

    @property
    def comment(self) -> str:
        """The text written beside or above the key in params.yaml (``{choices}`` filled in).

        The field's ``comment`` if it has one, else its description; see :func:`inline`.
        """
        text = str(self.extra("comment") or self.description)
        if "{choices}" in text:
            text = text.replace("{choices}", " | ".join(str(c) for c in choices(self.field)))
        return text

    @property
    def comment_is_description(self) -> bool:
        return not self.extra("comment")

    @property
    def notes(self) -> dict[str, str]:
        """Comments for the entries of a mapping default, by entry path (``catboost.depth``)."""
        notes = self.extra("notes")
        return {str(k): str(v) for k, v in notes.items()} if isinstance(notes, dict) else {}

    def default(self) -> Any:
        """The default as plain data (a section's default as a mapping)."""
        value = self.field.get_default(call_default_factory=True)
        return value.model_dump(mode="python") if isinstance(value, BaseModel) else value


def inline(description: str) -> str:
    """A description in the comments' style: no capital for a plain first word, no full stop."""
    text = description.strip().removesuffix(".")
    word = text.split(" ", 1)[0]
    if word[:1].isupper() and (len(word) == 1 or word[1:].islower()):
        text = text[0].lower() + text[1:]
    return text


def section_model(annotation: Any) -> type[BaseModel] | None:
    """The section model a field holds, or None for a value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def keys(model: type[BaseModel], prefix: str = "") -> Iterator[Key]:
    """The keys of ``model`` in declaration order (the order of the generated files)."""
    for name, field in model.model_fields.items():
        yield Key(f"{prefix}{name}", name, field, section_model(field.annotation))


def all_keys(model: type[BaseModel], prefix: str = "") -> Iterator[Key]:
    """Every key, depth first: a section's key, then the keys inside it."""
    for key in keys(model, prefix):
        yield key
        if key.section is not None:
            yield from all_keys(key.section, f"{key.path}.")


def _unwrap(annotation: Any) -> Any:
    """The type inside ``Annotated[...]``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def choices(field: FieldInfo) -> list[Any]:
    """The allowed values of a Literal field (also inside ``list[...]`` or ``X | None``)."""
    found: list[Any] = []
    pending = [field.annotation]
    while pending:
        annotation = _unwrap(pending.pop(0))
        if typing.get_origin(annotation) is Literal:
            found += list(typing.get_args(annotation))
        elif typing.get_origin(annotation) in (list, Union, types.UnionType):
            pending += list(typing.get_args(annotation))
    return found
