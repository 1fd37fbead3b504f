"""Model versions with GTO (git tags) and DVC: list, see a stage, fetch a version, roll back.

The model is the DVC artifact ``model`` declared in ``dvc.yaml`` (``artifacts:``). GTO records
a version as the git tag ``model@v1.2.0`` on the commit whose ``dvc.lock`` pins the bundle, and
a stage assignment as ``model#prod#N``; the highest ``N`` is the current one, and rollbacks
walk back through the assignments (:mod:`foldwise.production.assignments`). The bundle of
any version is read from the DVC cache or remote at that commit (``dvc.api``), then checked
like any bundle (every file's sha256).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from foldwise.errors import FoldwiseError
from foldwise.production.assignments import (
    ROLLBACK_MESSAGE,
    StageEvent,
    assignment_chain,
    rollback_target,
    stage_events,
    stage_holders,
)

if TYPE_CHECKING:
    from foldwise.bundle import Bundle

DEFAULT_NAME = "model"
_REF = re.compile(r"^(?P<name>[A-Za-z0-9_.\-/]+?)(?:@(?P<version>[^#@]+)|#(?P<stage>[^#@]+))?$")


@dataclass(frozen=True)
class ModelVersion:
    """A registered version: its name, version, commit and the stages it is in now."""

    name: str
    version: str
    commit: str
    stages: tuple[str, ...]
    created_at: str

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def _gto() -> Any:
    try:
        import gto.api
    except ImportError:
        raise FoldwiseError("model versions need GTO: pip install 'foldwise[registry]'") from None
    return gto.api


def _history(root: Path, name: str) -> list[StageEvent]:
    """Every numbered stage event of ``name`` (foldwise.production.assignments), oldest first."""
    api = _gto()
    try:
        return stage_events(api.history(str(root), name))
    except Exception as exc:  # GTO raises its own exception types for a bad repo or name
        raise FoldwiseError(f"{root}: cannot read the model registry: {exc}") from None


def _declared(root: Path, name: str) -> bool:
    """Whether the working copy's dvc.yaml declares the artifact ``name``."""
    path = root / "dvc.yaml"
    try:
        artifacts = (yaml.safe_load(path.read_text()) or {}).get("artifacts") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return False
    return isinstance(artifacts, dict) and name in artifacts


def list_versions(root: Path, name: str = DEFAULT_NAME) -> list[ModelVersion]:
    """Every registered version of ``name``, newest first (empty if none is registered yet).

    The stage a version is in comes from the numbered assignment tags
    (:func:`foldwise.production.assignments.stage_holders`), one version per stage.
    """
    api = _gto()
    from gto.exceptions import ArtifactNotFound

    try:
        shown = api.show(str(root), name, assignments_per_version=-1, versions_per_stage=1)
    except ArtifactNotFound:
        # GTO knows artifacts by their tags: no tag yet is no version yet, if dvc.yaml has it.
        if _declared(root, name):
            return []
        raise FoldwiseError(
            f"{root / 'dvc.yaml'}: no artifact {name!r} declared and no version of it "
            f"registered (expected `artifacts: {name}: path: ...` in dvc.yaml)"
        ) from None
    except Exception as exc:  # GTO raises its own exception types for a bad repo or name
        raise FoldwiseError(f"{root}: cannot read the model registry: {exc}") from None
    entries = [entry for entry in shown if entry.get("registrations")]
    holders = stage_holders(_history(root, name), (str(e["version"]) for e in entries))
    return [
        ModelVersion(
            name=name,
            version=str(entry["version"]),
            commit=str(entry["commit_hexsha"]),
            stages=tuple(s for s, v in sorted(holders.items()) if v == str(entry["version"])),
            created_at=str(entry.get("created_at")),
        )
        for entry in entries
    ]


def stage_version(root: Path, name: str = DEFAULT_NAME, stage: str = "prod") -> ModelVersion:
    """The version currently assigned to ``stage``."""
    for version in list_versions(root, name):
        if stage in version.stages:
            return version
    raise FoldwiseError(f"{name}#{stage}: no version is assigned to stage {stage!r}")


def assign(
    root: Path, name: str, version: str, stage: str = "prod", message: str | None = None
) -> None:
    """Assign ``stage`` to ``version`` (a new ``name#stage#N`` tag; the latest one counts)."""
    api = _gto()
    try:
        # force: a version that held the stage before (a rollback) gets a new, later tag.
        api.assign(
            str(root),
            name,
            stage,
            version=version,
            message=message,
            skip_registration=True,
            force=True,
        )
    except Exception as exc:
        raise FoldwiseError(f"{name}@{version}: cannot assign stage {stage!r}: {exc}") from None


def register(root: Path, name: str, version: str, ref: str = "HEAD") -> ModelVersion:
    """Register the model at git ``ref`` as ``version`` (a ``name@version`` tag)."""
    api = _gto()
    try:
        api.register(str(root), name, ref, version=version)
    except Exception as exc:
        raise FoldwiseError(f"{name}@{version}: cannot register: {exc}") from None
    return next(v for v in list_versions(root, name) if v.version == version)


def register_next(root: Path, name: str, ref: str) -> ModelVersion:
    """Register the model at git ``ref`` as the next minor version of ``name``."""
    api = _gto()
    try:
        event = api.register(str(root), name, ref, bump_minor=True)
    except Exception as exc:
        raise FoldwiseError(f"{name} at {ref}: cannot register: {exc}") from None
    # GTO returns the registration event; its version is the new tag's (``v0.2.0``).
    created = str(getattr(event, "version", event))
    found = [v for v in list_versions(root, name) if v.version == created]
    if not found:
        raise FoldwiseError(f"{name} at {ref}: gto register created no version ({created})")
    return found[0]


def rollback(root: Path, name: str = DEFAULT_NAME, stage: str = "prod") -> tuple[str, str]:
    """Re-assign ``stage`` to the version deployed before the current one; (from, to).

    Walks backwards through the chain of assignments not rolled back from
    (:mod:`foldwise.production.assignments`): a second rollback goes further back, never
    forwards, and at the first version it refuses and changes nothing.
    """
    versions = [v.version for v in list_versions(root, name)]
    current = stage_version(root, name, stage).version
    chain = assignment_chain(_history(root, name), stage)
    target = rollback_target(chain, current, versions)
    if target is None:
        raise FoldwiseError(
            f"{name}#{stage}: {current} is the first version deployed to {stage!r} that is "
            "still registered; nothing earlier to roll back to"
        )
    assign(
        root, name, target, stage, message=f"{ROLLBACK_MESSAGE} of {stage}: {current} -> {target}"
    )
    return current, target


def is_model_ref(ref: str) -> bool:
    """Whether ``ref`` names a version or stage (``model@v1.2.0``, ``model#prod``)."""
    match = _REF.match(ref.strip())
    return bool(match and (match["version"] or match["stage"]))


def resolve(root: Path, ref: str) -> ModelVersion:
    """A GTO ref (``model@v1.2.0``, ``model#prod``, or ``model`` for the newest) to a version."""
    match = _REF.match(ref.strip())
    if not match:
        raise FoldwiseError(f"{ref!r}: expected a ref like model@v1.2.0 or model#prod")
    name = match["name"]
    if match["stage"]:
        return stage_version(root, name, match["stage"])
    versions = list_versions(root, name)
    if not versions:
        raise FoldwiseError(f"{name}: no registered versions (gto register {name} ...)")
    if match["version"] is None:
        return versions[0]
    for version in versions:
        if version.version == match["version"]:
            return version
    known = ", ".join(v.version for v in versions[:10])
    raise FoldwiseError(f"{ref}: no such version (registered: {known})")


def _artifact_path(root: Path, name: str, commit: str) -> str:
    """The artifact's path as declared in dvc.yaml at ``commit`` (any git revision)."""
    shown = subprocess.run(
        ["git", "show", f"{commit}:dvc.yaml"], cwd=root, capture_output=True, text=True
    )
    if shown.returncode != 0:
        raise FoldwiseError(f"{commit[:12]}: no dvc.yaml in that commit")
    artifacts = (yaml.safe_load(shown.stdout) or {}).get("artifacts") or {}
    if name not in artifacts or "path" not in artifacts[name]:
        raise FoldwiseError(f"dvc.yaml at {commit[:12]}: no artifact {name!r} with a path")
    return str(artifacts[name]["path"])


def fetch_bundle(root: Path, ref: str, out: Path) -> Path:
    """Materialise the bundle of a GTO ref at ``out`` (replaced) and return ``out``.

    Reads the artifact's files at the version's commit through ``dvc.api.DVCFileSystem``
    (local cache first, then the DVC remote), then verifies every file's sha256.
    """
    version = resolve(root, ref)
    return fetch_revision(root, version.commit, out, version.name, label=version.ref)


def fetch_revision(
    root: Path, rev: str, out: Path, name: str = DEFAULT_NAME, label: str | None = None
) -> Path:
    """Materialise artifact ``name``'s bundle as of git revision ``rev`` (a commit, tag or
    branch, registered or not) at ``out``, replaced only once every file's sha256 checks."""
    from dvc.api import DVCFileSystem

    from foldwise.bundle import MANIFEST
    from foldwise.integrity import read_verified_manifest

    label = label or rev
    path = _artifact_path(root, name, rev)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        fs = DVCFileSystem(str(root), rev=rev)
        try:
            fs.get(path, str(staging / "bundle"), recursive=True)
        except Exception as exc:
            raise FoldwiseError(
                f"{label}: cannot fetch {path} at {rev[:12]} from the DVC "
                f"cache or remote (dvc push it first?): {exc}"
            ) from None
        read_verified_manifest(staging / "bundle", MANIFEST)
        if out.exists():
            shutil.rmtree(out)
        (staging / "bundle").rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def version_of_bundle(
    root: Path, sha256: str, name: str = DEFAULT_NAME, newest: int = 20
) -> ModelVersion | None:
    """The registered version whose bundle has content hash ``sha256``, or None.

    For a bundle served or monitored by path: each of the ``newest`` versions' manifest
    (``bundle.json``, a few kB) is read at its commit from the DVC cache or remote and its
    own sha256 compared. None when ``root`` is no registry (not a git repository, no such
    artifact, GTO not installed) or no version matches; a version whose files cannot be read
    is passed over.
    """
    from foldwise.bundle import MANIFEST
    from foldwise.integrity import SELF_HASH_KEY

    try:
        versions = list_versions(root, name)[:newest]
    except FoldwiseError:
        return None
    from dvc.api import DVCFileSystem

    for version in versions:
        try:
            path = _artifact_path(root, name, version.commit)
            fs = DVCFileSystem(str(root), rev=version.commit)
            with fs.open(f"{path.rstrip('/')}/{MANIFEST}", "r", encoding="utf-8") as handle:
                recorded = json.load(handle).get(SELF_HASH_KEY)
        except Exception:  # not in the cache or remote, not DVC-tracked, not a bundle
            continue
        if recorded == sha256:
            return version
    return None


def registered_name(bundle: Bundle, root: Path | None, version: str | None = None) -> str:
    """The bundle's one name (:func:`foldwise.bundle.bundle_name`) for logs and reports.

    ``version`` is the GTO ref it was fetched as, if known; else the registry in ``root`` is
    asked which registered version has this content (:func:`version_of_bundle`), so a bundle
    served or monitored by path is named as it would be by version.
    """
    if version is None and root is not None:
        found = version_of_bundle(root, bundle.sha256)
        version = found.ref if found is not None else None
    return bundle.name(version)


def materialize(root: Path, ref: str) -> tuple[Path, ModelVersion]:
    """The verified bundle of a GTO ref under ``.foldwise/models/<name>@<version>``.

    The ref is resolved once (``model#prod`` names whichever version is in prod now), so the
    folder and the version reported beside it always agree.
    """
    version = resolve(root, ref)
    out = root / ".foldwise" / "models" / version.ref.replace("/", "_")
    fetch_bundle(root, version.ref, out)
    return out, version
