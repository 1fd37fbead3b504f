"""Tiny real bundles and a real uvicorn server on a free loopback port, for the serve tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd

from foldwise.bundle import Bundle
from foldwise.models import build_model, feature_frame
from foldwise.problem import Problem
from tests.conftest import make_table

FEATURES = [
    {"name": "x1", "kind": "numeric"},
    {"name": "x2", "kind": "numeric"},
    {
        "name": "colour",
        "kind": "categorical",
        "n_categories": 3,
        "categories": ["red", "green", "blue"],
    },
    {"name": "member", "kind": "boolean"},
    {"name": "day", "kind": "datetime"},
]
PROBLEMS = {
    "binary": Problem("binary", "label", ("No", "Yes"), "Yes", "roc_auc"),
    "multiclass": Problem("multiclass", "label", ("high", "low", "mid"), None, "log_loss"),
    "regression": Problem("regression", "label", None, None, "rmse"),
}


def train_bundle(
    task: str, out: Path, *, model: str = "catboost", seed: int = 0, n: int = 300
) -> tuple[Bundle, pd.DataFrame]:
    """Fit a small model on :func:`make_table` rows and save it as a bundle; returns it and rows."""
    table = make_table(task, n=n, seed=seed)
    problem = PROBLEMS[task]
    settings = {"iterations": 40, "depth": 3, "thread_count": 1} if model == "catboost" else {}
    estimator = build_model(
        model,
        task=task,
        features=FEATURES,
        settings=settings,
        seed=seed,
        n_classes=len(problem.classes) if problem.classes else None,
    )
    fitted = estimator.fit(feature_frame(table, FEATURES), problem.encode(table["label"]))
    threshold = 0.4 if task == "binary" else None
    bundle = Bundle(fitted, problem, FEATURES, threshold, {"id_columns": ["row_id"]})
    bundle.save(out)
    return Bundle.load(out), table


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``foldwise serve`` in a subprocess on a free loopback port."""

    def __init__(self, args: list[str], output: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.output = output  # the server's stdout and stderr (a file: a pipe could fill up)
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "foldwise.cli", "serve", "--port", str(self.port), *args]
        with output.open("w") as sink:
            self.process = subprocess.Popen(
                command, env={**os.environ, **(env or {})}, stdout=sink, stderr=subprocess.STDOUT
            )
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def wait_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.text()}")
            try:
                self.client.get("/health")
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("server did not start listening")

    def wait_ready(self, timeout: float = 60) -> None:
        self.wait_listening(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.client.get("/health").status_code == 200:
                return
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.text()}")
            time.sleep(0.05)
        raise AssertionError("server did not become ready")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.client.close()

    def text(self) -> str:
        """What the server printed so far."""
        return self.output.read_text()
