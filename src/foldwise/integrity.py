"""File hashes of a bundle folder: recorded when it is written, checked before anything loads.

Every file in the folder except the manifest is hashed, whatever its name, so files added by
other parts of foldwise (e.g. ``reference.json``) are covered without changes here. The
manifest carries a hash of its own canonical content, so an edited or truncated
``bundle.json`` is refused too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from foldwise.errors import FoldwiseError
from foldwise.hashing import file_sha256

SELF_HASH_KEY = "manifest_sha256"

# A changed file is never trusted; the cached original or a rebuild is.
RESTORE = "run `dvc checkout` to restore the cached bundle (or `dvc repro` to rebuild it)"


def folder_hashes(directory: Path, exclude: str) -> dict[str, str]:
    """The sha256 of every file under ``directory`` (POSIX relative paths), except ``exclude``."""
    hashes = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            relative = path.relative_to(directory).as_posix()
            if relative != exclude:
                hashes[relative] = file_sha256(path)
    return hashes


def manifest_digest(manifest: dict[str, Any]) -> str:
    """A hash of the manifest's content without its own hash field."""
    body = {key: value for key, value in manifest.items() if key != SELF_HASH_KEY}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def seal_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with its own hash added."""
    return {**manifest, SELF_HASH_KEY: manifest_digest(manifest)}


def read_verified_manifest(directory: Path, manifest_name: str) -> dict[str, Any]:
    """Read the manifest and check every file of the folder against it; one-line errors.

    Nothing in the folder is deserialised (least of all a pickle) before this returns.
    """
    path = directory / manifest_name
    if not path.is_file():
        raise FoldwiseError(f"{directory}: not a foldwise model bundle (no {manifest_name})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FoldwiseError(f"{path}: not valid JSON (truncated or edited); {RESTORE}") from None
    if not isinstance(manifest, dict):
        raise FoldwiseError(f"{path}: expected a JSON object")
    recorded = manifest.get(SELF_HASH_KEY)
    if recorded is None or "files" not in manifest:
        raise FoldwiseError(
            f"{path}: no file hashes (written by an older foldwise or by hand); retrain with "
            "dvc repro train"
        )
    if recorded != manifest_digest(manifest):
        raise FoldwiseError(
            f"{path}: content changed after the bundle was written (sha256); {RESTORE}"
        )
    expected: dict[str, str] = manifest["files"]
    actual = folder_hashes(directory, manifest_name)
    for name in sorted(expected):
        if name not in actual:
            raise FoldwiseError(
                f"{directory / name}: listed in {manifest_name} but missing; {RESTORE}"
            )
        if actual[name] != expected[name]:
            raise FoldwiseError(
                f"{directory / name}: changed after the bundle was written (sha256 "
                f"{actual[name][:12]}… != recorded {expected[name][:12]}…); {RESTORE}"
            )
    extra = sorted(set(actual) - set(expected))
    if extra:
        raise FoldwiseError(
            f"{directory / extra[0]}: not listed in {manifest_name} (added after the bundle "
            f"was written); {RESTORE}"
        )
    return manifest
