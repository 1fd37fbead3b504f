"""The few GTO/DVC calls retraining needs: which version is in prod, register, fetch a bundle.

A stand-in for ``foldwise.production.registry`` (issue 12), which wraps GTO for everything;
after the merge these calls go through it. GTO keeps the registry in git tags:
``model@v0.2.0`` registers a commit, ``model#prod#N`` assigns a stage.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from foldwise.errors import FoldwiseError

BUNDLE_PATH = "models/model"


def _gto(root: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "gto.cli", *args], cwd=root, capture_output=True, text=True
    )
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise FoldwiseError(f"gto {' '.join(args)}: {message[-1] if message else 'failed'}")
    return result.stdout.strip()


def stage_ref(root: Path, name: str = "model", stage: str = "prod") -> str | None:
    """The git tag of the version in ``stage`` (``model@v0.1.0``), or None if none is."""
    try:
        ref = _gto(root, "show", f"{name}#{stage}", "--ref")
    except FoldwiseError:
        return None
    return ref.splitlines()[0] if ref else None


def register(root: Path, rev: str, name: str = "model") -> str:
    """Register ``rev`` as the next minor version of ``name``; returns its tag."""
    out = _gto(root, "register", name, rev, "--bump-minor")
    match = re.search(r"Created git tag '([^']+)'", out)
    if not match:
        raise FoldwiseError(f"gto register {name} {rev}: no tag created ({out})")
    return match.group(1)


def fetch_bundle(root: Path, rev: str, out: Path) -> Path:
    """Materialise the bundle folder of git revision ``rev`` (a tag, branch or commit) at ``out``.

    Reads ``dvc.lock`` at that revision and copies the bundle from the DVC cache (or remote).
    """
    from dvc.api import DVCFileSystem

    try:
        fs = DVCFileSystem(str(root), rev=rev)
        fs.get(BUNDLE_PATH, str(out), recursive=True)
    except Exception as exc:  # DVC raises many types: missing rev, path, cache entry
        raise FoldwiseError(f"{rev}: cannot read its {BUNDLE_PATH} ({exc})") from None
    return out


def resolve(root: Path, ref: str) -> str:
    """A GTO ref (``model#prod``, ``model@v0.1.0``) or a git revision, as a git revision."""
    if "#" in ref:
        name, stage = ref.split("#", 1)
        tag = stage_ref(root, name, stage)
        if tag is None:
            raise FoldwiseError(f"{ref}: no version of {name!r} is assigned to {stage!r}")
        return tag
    return ref
