"""Content hashes that tie a model and its reports to the exact data and params they came from."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    """A content hash of a frame (values, column names and order; not the index)."""
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def params_sha256(sections: dict[str, Any]) -> str:
    """A stable hash of the params a model was built from."""
    payload = json.dumps(sections, sort_keys=True, default=str).encode()
    return hashlib.sha256(payload).hexdigest()
