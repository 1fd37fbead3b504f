"""The base of every params.yaml section, and the value type of free-form settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

Scalar = str | int | float | bool | None


class Section(BaseModel):
    """A params.yaml section: frozen, strict, unknown keys refused.

    Every field carries its default and a ``description`` (the params reference page); an
    optional ``json_schema_extra={"comment": ...}`` is the shorter text written beside the key
    in ``params.yaml`` (the description is used when it is absent; ``{choices}`` in it becomes
    the allowed values). ``python -m foldwise.config.generate`` writes ``params.yaml`` and
    ``docs/reference/params.md`` from these fields; ``foldwise init`` renders its template
    from them too.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
