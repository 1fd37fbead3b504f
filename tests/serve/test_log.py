"""The prediction log, the token and the shadow report, without an HTTP server."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from foldwise.errors import FoldwiseError
from foldwise.serve.auth import check_bearer, load_token
from foldwise.serve.log import WAL_DIR, PredictionLog, log_schema, recover
from foldwise.serve.report import shadow_report_for
from tests.support.serve import FEATURES

TS = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in microseconds


def record(request_id: str, n: int, ts: int = TS, shadow: bool = False) -> dict:
    """A request's log record as the server writes it (binary task, two classes)."""
    rng = np.random.default_rng(len(request_id) + n)
    p = rng.random(n)
    out = {
        "request_id": request_id,
        "ts": ts,
        "id": [f"{request_id}-{i}" for i in range(n)],
        "model_version": "aaa",
        "prediction": ["Yes" if v >= 0.5 else "No" for v in p],
        "value": p.tolist(),
        "proba": np.column_stack([1 - p, p]).tolist(),
        "shadow_model_version": None,
        "features": {
            "x1": [None if i == 0 else f" {i}.5 " if i == 2 else i for i in range(n)],
            "x2": [0.5] * n,
            "colour": ["red", None, *["blue"] * (n - 2)][:n],
            "member": [True, None, *["no"] * (n - 2)][:n],
            "day": ["2026-01-01", None, *["2026-01-01 12:30"] * (n - 2)][:n],
            # raw values as sent: the log types them with the model's reader at compaction
        },
    }
    if shadow:
        q = np.clip(p + 0.05, 0, 1)
        out.update(
            shadow_model_version="bbb",
            shadow_prediction=["Yes" if v >= 0.5 else "No" for v in q],
            shadow_value=q.tolist(),
            shadow_proba=np.column_stack([1 - q, q]).tolist(),
        )
    return out


def read(root: Path) -> pd.DataFrame:
    return ds.dataset(root, format="parquet", partitioning="hive").to_table().to_pandas()


def test_log_round_trip_typed_and_partitioned_by_utc_date(tmp_path):
    log = PredictionLog(tmp_path, FEATURES, compact_every=3600)
    log.open()
    log.append(record("r1", 3))
    log.append(record("r2", 2, ts=TS + 86_400_000_000))  # the next day
    log.close()
    parts = sorted(p.relative_to(tmp_path).parent.as_posix() for p in tmp_path.rglob("*.parquet"))
    assert parts == ["date=2026-01-01", "date=2026-01-02"]
    assert not list((tmp_path / WAL_DIR).iterdir())
    table = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table()
    assert table.schema.field("features").type == log_schema(FEATURES).field("features").type
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    frame = table.to_pandas().sort_values(["request_id", "row"])
    assert frame["row"].tolist() == [0, 1, 2, 0, 1]
    assert frame["shadow_model_version"].isna().all()
    first = frame.iloc[0]["features"]
    assert first["x1"] is None
    assert first["colour"] == "red"
    assert first["member"] is True
    assert frame.iloc[1]["features"]["day"] is None
    assert frame.iloc[2]["features"]["x1"] == 2.5
    assert frame.iloc[2]["features"]["member"] is False
    assert frame.iloc[2]["features"]["day"] == pd.Timestamp("2026-01-01 12:30")


def test_recover_drops_a_torn_last_line_and_skips_live_segments(tmp_path):
    log = PredictionLog(tmp_path, FEATURES, compact_every=3600)
    log.open()
    log.append(record("r1", 2))
    live = log._segment
    assert recover(tmp_path) == 0  # the live writer holds its lock
    assert live.exists()
    # a dead writer's segment: complete lines plus half of one
    dead = tmp_path / WAL_DIR / "dead.jsonl"
    shutil.copy(live, dead)
    with dead.open("ab") as fh:
        fh.write(b'{"request_id": "torn", "ts": 1')
    assert recover(tmp_path) == 2
    assert not dead.exists()
    log.close()
    assert sorted(read(tmp_path)["request_id"]) == ["r1", "r1", "r1", "r1"]


@pytest.mark.parametrize("content", [b"", b'{"wal": 1, "feat'])
def test_a_writer_killed_before_its_header_was_complete_leaves_nothing_to_recover(
    tmp_path, content
):
    """SIGKILL while a segment was being opened: no request was answered from it."""
    (tmp_path / WAL_DIR).mkdir()
    opened = tmp_path / WAL_DIR / "opened.jsonl"
    opened.write_bytes(content)
    assert recover(tmp_path) == 0
    assert not opened.exists()


def test_recovering_a_segment_twice_does_not_duplicate_rows(tmp_path):
    """A crash after the Parquet part was written but before the segment was deleted."""
    log = PredictionLog(tmp_path, FEATURES, compact_every=3600)
    log.open()
    log.append(record("r1", 4))
    segment = log._segment
    backup = tmp_path.parent / "segment.bak"
    shutil.copy(segment, backup)
    log.close()
    shutil.copy(backup, segment)  # as if the unlink never happened
    assert recover(tmp_path) == 4
    assert len(read(tmp_path)) == 4


def test_a_corrupt_segment_is_named(tmp_path):
    (tmp_path / WAL_DIR).mkdir()
    bad = tmp_path / WAL_DIR / "x.jsonl"
    bad.write_bytes(b"not json\n{}\n")
    with pytest.raises(FoldwiseError, match=r"x\.jsonl: line 1 is not JSON"):
        recover(tmp_path)


def test_segment_lock_is_exclusive(tmp_path):
    log = PredictionLog(tmp_path, FEATURES, compact_every=3600)
    log.open()
    with log._segment.open("rb") as fh, pytest.raises(BlockingIOError):
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    log.close()


def test_token_from_file_or_environment(tmp_path):
    assert load_token(None, environ={}) is None
    assert load_token(None, environ={"FOLDWISE_TOKEN": "s3cret-token-0123456"}) == (
        "s3cret-token-0123456"
    )
    path = tmp_path / "token"
    path.write_text("file-token-abcdefgh\n")
    assert load_token(path, environ={"FOLDWISE_TOKEN": "other-token-0123456"}) == (
        "file-token-abcdefgh"
    )
    path.write_text("short")
    with pytest.raises(FoldwiseError, match="at least 16 characters"):
        load_token(path, environ={})
    with pytest.raises(FoldwiseError, match="cannot read"):
        load_token(tmp_path / "missing", environ={})


def test_bearer_check():
    token = "s3cret-token-0123456"
    assert check_bearer(f"Bearer {token}", token) is None
    assert "missing" in check_bearer(None, token)
    assert "invalid" in check_bearer("Bearer s3cret-token-0123457", token)
    assert "Bearer <token>" in check_bearer(f"Basic {token}", token)


def write_shadow_log(root: Path, n_requests: int = 40) -> pd.DataFrame:
    """A log with a shadow, and the matching labels (the shadow is the better model)."""
    log = PredictionLog(root, FEATURES, compact_every=3600)
    log.open()
    for version, threshold in (("aaa", 0.5), ("bbb", 0.5)):
        problem = {
            "task": "binary",
            "target": "label",
            "classes": ["No", "Yes"],
            "positive_label": "Yes",
            "metric": {"name": "roc_auc", "greater_is_better": True},
            "notes": [],
        }
        log.record_model(version, {"problem": problem, "threshold": threshold})
    labels = []
    rng = np.random.default_rng(0)
    for r in range(n_requests):
        rec = record(f"q{r:03d}", 5, shadow=True)
        truth = rng.random(5) < 0.5
        rec["shadow_proba"] = [[1 - p, p] for p in np.where(truth, 0.8, 0.2).tolist()]
        rec["shadow_value"] = [p for _, p in rec["shadow_proba"]]
        rec["shadow_prediction"] = ["Yes" if t else "No" for t in truth]
        log.append(rec)
        labels += [
            {"id": i, "label": "Yes" if t else "No"} for i, t in zip(rec["id"], truth, strict=True)
        ]
    log.close()
    return pd.DataFrame(labels)


def test_shadow_report_agreement_and_paired_test(tmp_path):
    root = tmp_path / "log"
    labels = write_shadow_log(root)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    report = shadow_report_for(root, tmp_path / "labels.csv", n_samples=200)
    (pair,) = report["pairs"]
    assert (pair["primary"], pair["shadow"], pair["rows"], pair["requests"]) == (
        "aaa",
        "bbb",
        200,
        40,
    )
    frame = read(root)
    assert pair["agreement"] == pytest.approx(
        (frame["prediction"] == frame["shadow_prediction"]).mean()
    )
    assert pair["labelled"]["rows"] == 200
    assert pair["labelled"]["test"]["b"] == pytest.approx(1.0)
    assert pair["labelled"]["verdict"] == "shadow better"


def test_shadow_report_command_errors(tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "foldwise.cli", "shadow-report", *map(str, args)],
            capture_output=True,
            text=True,
        )

    result = run(tmp_path / "nowhere")
    assert result.returncode == 2
    assert "no such prediction log folder" in result.stderr
    root = tmp_path / "log"
    write_shadow_log(root, n_requests=3)
    (tmp_path / "labels.csv").write_text("row_id,label\nx,Yes\n")
    result = run(root, "--labels", tmp_path / "labels.csv")
    assert result.returncode == 2
    assert "labels.csv: no id column; expected" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    result = run(root)
    assert result.returncode == 0, result.stderr
    assert "agreement of predicted labels" in result.stdout


def test_requests_the_batch_reader_rejects_together_are_typed_one_by_one(tmp_path):
    """Dates with a time zone in one request and without in another: each was valid alone."""
    log = PredictionLog(tmp_path, FEATURES, compact_every=3600)
    log.open()
    first, second = record("r1", 2), record("r2", 2)
    first["features"]["day"] = ["2026-01-01T00:00:00+02:00", None]
    second["features"]["day"] = ["2026-01-01", None]
    log.append(first)
    log.append(second)
    log.close()
    days = read(tmp_path).sort_values(["request_id", "row"])["features"].map(lambda f: f["day"])
    assert days.iloc[0] == pd.Timestamp("2025-12-31 22:00")  # UTC, as the model reads it
    assert days.iloc[2] == pd.Timestamp("2026-01-01")
