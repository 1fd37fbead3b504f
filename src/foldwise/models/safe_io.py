"""scikit-learn pipelines on disk without pickle: skops files whose loading runs no code.

``skops.io.load`` rebuilds objects from a JSON description and refuses every type it does not
trust. foldwise trusts exactly the types its own pipelines are made of (scikit-learn and numpy
classes); a file naming anything else (``os.system``, a user class, ...) is refused by name.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from foldwise.errors import FoldwiseError

# Modules whose classes may appear in a foldwise pipeline file.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.")
# A partial only binds arguments; the function it wraps is vetted by name like any type.
TRUSTED_BUILTINS = frozenset({"builtins.slice", "builtins.type", "functools.partial"})


def dump_pipeline(estimator: Any, path: Path) -> None:
    """Write a fitted scikit-learn object as a skops file."""
    import skops.io as sio

    path.write_bytes(sio.dumps(estimator))


def _is_trusted(type_name: str) -> bool:
    return type_name.startswith(TRUSTED_PREFIXES) or type_name in TRUSTED_BUILTINS


def load_pipeline(path: Path) -> Any:
    """Read a skops file written by :func:`dump_pipeline`; refuse untrusted types by name."""
    import skops.io as sio

    if not path.is_file():
        raise FoldwiseError(f"{path}: missing; the model folder is incomplete")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FoldwiseError(f"{path}: not a skops model file ({type(exc).__name__})") from None
    refused = [name for name in untrusted if not _is_trusted(name)]
    if refused:
        raise FoldwiseError(f"{path}: refuses to load untrusted type(s) {refused[:3]}")
    try:
        return sio.load(path, trusted=list(untrusted))
    except Exception as exc:  # skops raises many kinds; all mean "not loadable"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FoldwiseError(f"{path}: cannot load the model file: {first}") from None
