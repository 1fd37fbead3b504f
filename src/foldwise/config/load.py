"""Load ``params.yaml`` the way DVC reads it and validate it into a :class:`Config`.

Any problem raises a :class:`~foldwise.errors.FoldwiseError` whose one-line message names the
key, the value and what is allowed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from foldwise.config.messages import describe_error
from foldwise.config.schema import Config
from foldwise.errors import FoldwiseError


def parse_config(raw: Any, source: str = "params.yaml") -> Config:
    """Validate an already-loaded params mapping; raise FoldwiseError naming the first bad key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise FoldwiseError(
            f"{source}: expected a mapping of keys at the top level, got {type(raw).__name__}"
        )
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        raise FoldwiseError(describe_error(dict(errors[0]), source)) from None


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans (only true/false), as DVC reads params.yaml.

    PyYAML follows YAML 1.1, where an unquoted Yes/No/on/off is a boolean; `dvc exp run -S`
    rewrites params.yaml without quotes, and `positive_label: Yes` must stay the label "Yes".
    """


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_params_text(text: str) -> Any:
    """Parse params YAML text the way DVC does (YAML 1.2 booleans)."""
    return yaml.load(text, Loader=_Yaml12Loader)


def read_params(path: Path) -> Any:
    """Parse a params file the way DVC does (YAML 1.2 booleans)."""
    return parse_params_text(path.read_text(encoding="utf-8"))


def read_config(path: str | Path = "params.yaml") -> Config:
    """Read and validate ``params.yaml``; the model settings are checked against the estimators
    by :func:`foldwise.model_settings.load_config`, which every stage calls."""
    p = Path(path)
    if not p.is_file():
        raise FoldwiseError(f"{p}: file not found; run from the project root")
    try:
        raw = read_params(p)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise FoldwiseError(f"{p}: not valid YAML{where}") from None
    return parse_config(raw, str(p.name if p.name == "params.yaml" else p))
