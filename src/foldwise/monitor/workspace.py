"""All or nothing for a command that changes the project: record, and restore on failure.

:class:`WorkspaceGuard` records what ``foldwise retrain`` can change, before it changes
anything: HEAD and its branch, the branches, tags and DVC experiment refs, the untracked
files git sees, the exact bytes (or absence) of the small files it edits (``params.yaml``, a
``.dvc`` file, a ``.gitignore``), and a hard link to each table it rewrites (the table is
replaced by a new file, so the link keeps the old content without a copy). If the block
raises, everything is put back: refs created since are deleted, the branch is checked out
again, tracked files and the index return to HEAD (they were clean: the caller checks), the
recorded files get their bytes back, new untracked files are removed, and ``dvc checkout``
returns the DVC outputs to HEAD's ``dvc.lock``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from foldwise.monitor.retrain_plan import git

_BACKUP_DIR = ".foldwise/retrain"


def _refs(root: Path, prefix: str) -> set[str]:
    return set(git(root, "for-each-ref", "--format=%(refname)", prefix).splitlines())


def _untracked(root: Path) -> set[str]:
    return set(git(root, "ls-files", "--others", "--exclude-standard", "-z").split("\0")) - {""}


class WorkspaceGuard:
    """``with WorkspaceGuard(root, files=[...], tables=[...]):`` restores all on an exception."""

    def __init__(self, root: Path, *, files: list[str], tables: list[str]) -> None:
        self.root = root
        self.files = files
        self.tables = tables
        self.restored: list[str] = []  # what restore() did, for the error message

    def __enter__(self) -> WorkspaceGuard:
        root = self.root
        self.head = git(root, "rev-parse", "HEAD")
        self.branch = git(root, "symbolic-ref", "-q", "HEAD", check=False) or None
        self.refs = _refs(root, "refs/heads") | _refs(root, "refs/tags") | _refs(root, "refs/exps")
        self.untracked = _untracked(root)
        self.saved = {
            name: (root / name).read_bytes() if (root / name).is_file() else None
            for name in self.files
        }
        backup_dir = root / _BACKUP_DIR
        backup_dir.mkdir(parents=True, exist_ok=True)
        self.backups: dict[str, Path] = {}
        for name in self.tables:
            if (root / name).is_file():
                backup = backup_dir / f"{name.replace('/', '__')}.before"
                backup.unlink(missing_ok=True)
                try:
                    os.link(root / name, backup)  # the same content, no copy
                except OSError:
                    shutil.copy2(root / name, backup)
                self.backups[name] = backup
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.restore()
        for backup in self.backups.values():
            backup.unlink(missing_ok=True)

    def restore(self) -> None:
        """Put back everything recorded on entry (best effort: each step runs regardless)."""
        root = self.root
        steps = [
            ("refs", self._restore_refs),
            ("tracked files", lambda: (git(root, "reset", "-q"), git(root, "checkout", "-q", "--", "."))),
            ("files", self._restore_files),
            ("untracked files", self._remove_new_untracked),
            ("DVC outputs", self._dvc_checkout),
        ]  # fmt: skip
        for name, step in steps:
            try:
                step()
                self.restored.append(name)
            except Exception as error:  # keep restoring the rest; say what failed
                print(f"retrain: restoring {name} failed: {error}", file=sys.stderr)

    def _restore_refs(self) -> None:
        root = self.root
        branch = git(root, "symbolic-ref", "-q", "HEAD", check=False) or None
        if branch != self.branch:
            target = self.head if self.branch is None else self.branch.removeprefix("refs/heads/")
            git(root, "checkout", "-q", "-f", target)
        if git(root, "rev-parse", "HEAD") != self.head:
            git(root, "reset", "-q", "--soft", self.head)
        now = _refs(root, "refs/heads") | _refs(root, "refs/tags") | _refs(root, "refs/exps")
        for ref in sorted(now - self.refs):
            git(root, "update-ref", "-d", ref)

    def _restore_files(self) -> None:
        for name, content in self.saved.items():
            path = self.root / name
            if content is None:
                path.unlink(missing_ok=True)
            elif not path.is_file() or path.read_bytes() != content:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        for name in self.tables:
            backup = self.backups.get(name)
            if backup is not None:
                os.replace(backup, self.root / name)
            else:
                (self.root / name).unlink(missing_ok=True)

    def _remove_new_untracked(self) -> None:
        for name in sorted(_untracked(self.root) - self.untracked):
            (self.root / name).unlink(missing_ok=True)

    def _dvc_checkout(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "dvc", "checkout", "--force", "--quiet"],
            cwd=self.root, capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise RuntimeError(f"dvc checkout: {lines[-1] if lines else 'failed'}")
