"""Every path of the project, built from one root. Importing this module touches no files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProjectPaths:
    """Locations of inputs and outputs relative to the project root (where dvc.yaml lives)."""

    root: Path

    @classmethod
    def from_cwd(cls) -> ProjectPaths:
        return cls(Path.cwd())

    @property
    def params(self) -> Path:
        return self.root / "params.yaml"

    @property
    def builtin_dir(self) -> Path:
        return self.root / "data" / "builtin"

    @property
    def prepared_dir(self) -> Path:
        return self.root / "data" / "prepared"

    @property
    def train_table(self) -> Path:
        return self.prepared_dir / "train.parquet"

    @property
    def test_table(self) -> Path:
        """The sealed test table: only the evaluate stage may read it."""
        return self.prepared_dir / "test.parquet"

    @property
    def schema(self) -> Path:
        return self.prepared_dir / "schema.json"

    @property
    def split_report(self) -> Path:
        """Label-free train-vs-test checks written by prepare, so audit never opens the test table."""
        return self.prepared_dir / "split_checks.json"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    def report_dir(self, stage: str) -> Path:
        return self.reports_dir / stage

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def best_params(self) -> Path:
        return self.models_dir / "best_params.json"

    @property
    def local_dir(self) -> Path:
        """Untracked working state of this checkout (gitignored, never a DVC output)."""
        return self.root / ".foldwise"

    @property
    def tune_journal(self) -> Path:
        """The embedded Optuna storage; kept across runs so a killed study resumes.

        Not a DVC output: it records trial timestamps and worker ids, so hashing it would
        change dvc.lock on every fresh run.
        """
        return self.local_dir / "tune" / "studies.journal"

    @property
    def timings(self) -> Path:
        """Wall time per stage and per part, one JSON line per stage run (see timings.py)."""
        return self.local_dir / "timings.jsonl"

    def resolve(self, path: str | Path) -> Path:
        """A user-given path: absolute paths stay, relative ones are taken from the root."""
        p = Path(path)
        return p if p.is_absolute() else self.root / p
