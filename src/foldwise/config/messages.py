"""One-line messages for pydantic validation errors: the key, the value and what is allowed."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel

from foldwise.config.schema import Config


def _key(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the section that holds ``loc``'s last part."""
    current: type[BaseModel] = model
    for part in loc[:-1]:
        field = current.model_fields.get(str(part))
        ann = getattr(field, "annotation", None) if field else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return []
        current = ann
    return list(current.model_fields)


_TYPE_TAGS = {"str", "int", "float", "bool", "none", "RangeSpec", "ChoiceSpec"}


def _is_type_tag(part: Any) -> bool:
    """Pydantic names union branches in error locations; users never wrote those."""
    text = str(part)
    return text in _TYPE_TAGS or "[" in text


def describe_error(error: dict[str, Any], source: str) -> str:
    loc = tuple(p for p in error.get("loc", ()) if not _is_type_tag(p))
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        bad = str(loc[-1])
        allowed = _allowed_keys(Config, loc)
        hint = difflib.get_close_matches(bad, allowed, n=1)
        tip = f"; did you mean {_key((*loc[:-1], hint[0]))!r}?" if hint else ""
        return f"{source}: unknown key {_key(loc)!r}{tip} (allowed here: {', '.join(allowed)})"
    value = error.get("input")
    msg = str(error.get("msg", "invalid value"))
    if kind.startswith("value_error"):
        msg = msg.removeprefix("Value error, ")
        key = _key(loc)
        return f"{source}: {msg}" if not loc or msg.startswith(key) else f"{source}: {key}: {msg}"
    if kind == "missing":
        return f"{source}: {_key(loc)} is required but missing"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{source}: {_key(loc)} = {value!r} is not allowed; expected one of {expected}"
    return f"{source}: {_key(loc)} = {value!r} is invalid: {msg.lower()}"
