"""The Dockerfile: build an image with a tiny bundle baked in, run it, wait for its health check."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import httpx
import pytest

from tests.conftest import ROOT
from tests.support.serve import free_port, train_bundle


def container_engine() -> str | None:
    """``docker`` if a daemon answers, else None."""
    if shutil.which("docker") is None:
        return None
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    return "docker" if info.returncode == 0 else None


@pytest.mark.slow
def test_image_builds_serves_and_reports_healthy(tmp_path):
    engine = container_engine()
    if engine is None:
        pytest.skip("no container engine: `docker info` found no running daemon; build not tested")
    context = tmp_path / "context"
    context.mkdir()
    for name in ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, context / name)
    shutil.copytree(ROOT / "src", context / "src", ignore=shutil.ignore_patterns("__pycache__"))
    bundle, table = train_bundle("binary", context / "models" / "model")
    tag = f"foldwise-serve-test:{uuid.uuid4().hex[:8]}"
    name = f"foldwise-serve-{uuid.uuid4().hex[:8]}"
    subprocess.run([engine, "build", "-t", tag, str(context)], check=True, timeout=1800)
    port = free_port()
    try:
        subprocess.run(
            [engine, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000", tag],
            check=True,
            timeout=60,
        )
        deadline = time.monotonic() + 180
        status = ""
        while time.monotonic() < deadline and status != "healthy":
            status = subprocess.run(
                [engine, "inspect", "-f", "{{.State.Health.Status}}", name],
                capture_output=True,
                text=True,
            ).stdout.strip()
            time.sleep(2)
        assert status == "healthy"
        rows = table.drop(columns=["label"]).head(3).to_dict(orient="records")
        answer = httpx.post(f"http://127.0.0.1:{port}/predict", json={"rows": rows}, timeout=10)
        assert answer.status_code == 200
        expected = bundle.predict(table.head(3))["prediction"].tolist()
        assert [p["prediction"] for p in answer.json()["predictions"]] == expected
    finally:
        subprocess.run([engine, "rm", "-f", name], capture_output=True)
        subprocess.run([engine, "rmi", "-f", tag], capture_output=True)
