"""Test-set hygiene: how often one test table has been scored across commits and experiments.

``foldwise test-usage`` prints the count, and ``foldwise compare`` adds it to its report.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foldwise.compare.runs import EVALUATE_METRICS
from foldwise.errors import FoldwiseError


@dataclass(frozen=True)
class LookCount:
    """How often one test table has been scored across commits and experiments."""

    test_sha256: str
    evaluations: int  # distinct evaluate results (one per distinct metrics file)
    commits: int  # branch/tag commits whose evaluate report scored this table
    experiments: int  # DVC experiments whose evaluate report scored this table
    workspace_uncommitted: bool

    def message(self) -> str:
        table = self.test_sha256[:12]
        counted = (
            f"test table {table}… has been scored by {self.evaluations} distinct evaluate "
            f"run(s): {self.commits} commit(s), {self.experiments} experiment(s)"
            + (", plus the uncommitted workspace" if self.workspace_uncommitted else "")
        )
        if self.evaluations <= 1:
            return f"{counted}. One look: its score is still an unbiased estimate."
        return (
            f"{counted}. Warning: if any of these test scores informed a choice (model, "
            "params, features, threshold), model selection may have leaked through repeated "
            "looks and the test score is optimistic. Choose by the cross-validated estimate and "
            "score a fresh, untouched test table before reporting a final number."
        )


def _git(root: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=root, input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise FoldwiseError(f"git {' '.join(args)} failed in {root}: {result.stderr.strip()}")
    return result.stdout


def _is_experiment_ref(ref: str) -> bool:
    # refs/exps/<2 hex>/<38 hex>/<name>; stash, exec, celery and temp refs are not experiments
    parts = ref.split("/")
    return (
        len(parts) == 5
        and len(parts[2]) == 2
        and len(parts[3]) == 38
        and all(c in "0123456789abcdef" for c in parts[2] + parts[3])
    )


def _look_key(payload: dict[str, Any]) -> str:
    """What a look revealed: the model and its test metrics (else the whole report).

    Reports that differ only in format (a key added by a newer foldwise) are one look.
    """
    if "metrics" in payload or "primary_metric" in payload:
        return json.dumps(
            [payload.get("model"), payload.get("primary_metric"), payload.get("metrics")],
            sort_keys=True,
        )
    return json.dumps(payload, sort_keys=True)


def _read_blobs(root: Path, blobs: list[str]) -> dict[str, Any]:
    """Parse many JSON blobs with one ``git cat-file --batch``; unparsable ones are skipped."""
    if not blobs:
        return {}
    result = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=root,
        input="".join(f"{b}\n" for b in blobs).encode(),
        capture_output=True,
        check=True,
    )
    out, pos, parsed = result.stdout, 0, {}
    for blob in blobs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3:  # "<sha> missing"
            continue
        size = int(header[2])
        with contextlib.suppress(ValueError):
            parsed[blob] = json.loads(out[pos : pos + size])
        pos += size + 1
    return parsed


def count_test_looks(root: Path, test_sha256: str) -> LookCount:
    """Count the commits and experiments whose evaluate report scored ``test_sha256``."""
    refs = _git(root, "for-each-ref", "--format=%(refname)").split()
    exp_refs = [r for r in refs if _is_experiment_ref(r)]
    other_refs = [r for r in refs if not r.startswith("refs/exps/")]
    commits = set(_git(root, "rev-list", *other_refs).split()) if other_refs else set()
    if not other_refs:
        head = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, capture_output=True, text=True
        )
        commits = set(_git(root, "rev-list", "HEAD").split()) if head.returncode == 0 else set()
    exp_shas = set()
    if exp_refs:
        lines = _git(root, "rev-parse", *exp_refs).split()
        exp_shas = set(lines) - commits
    revs = sorted(commits | exp_shas)
    blobs: dict[str, str] = {}
    if revs:
        out = _git(
            root,
            "cat-file",
            "--batch-check",
            stdin="".join(f"{r}:{EVALUATE_METRICS}\n" for r in revs),
        ).splitlines()
        for rev, line in zip(revs, out, strict=True):
            parts = line.split()
            if len(parts) == 3 and parts[1] == "blob":
                blobs[rev] = parts[0]
    # One look = one distinct result on this table: rerunning a model that reproduces the
    # same score, or a commit that only touched docs, tells nobody anything new.
    look_of_blob: dict[str, str] = {}
    for blob, payload in _read_blobs(root, sorted(set(blobs.values()))).items():
        if isinstance(payload, dict) and payload.get("test_sha256") == test_sha256:
            look_of_blob[blob] = _look_key(payload)
    looks = set(look_of_blob.values())
    n_commits = sum(1 for r in commits if blobs.get(r) in look_of_blob)
    n_exps = sum(1 for r in exp_shas if blobs.get(r) in look_of_blob)
    workspace = False
    current = root / EVALUATE_METRICS
    if current.is_file():
        try:
            payload = json.loads(current.read_text())
        except ValueError:
            payload = {}
        if isinstance(payload, dict) and payload.get("test_sha256") == test_sha256:
            workspace = _look_key(payload) not in looks
    return LookCount(
        test_sha256=test_sha256,
        evaluations=len(looks) + int(workspace),
        commits=n_commits,
        experiments=n_exps,
        workspace_uncommitted=workspace,
    )
