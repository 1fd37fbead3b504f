"""``foldwise serve`` as a real uvicorn server on a free loopback port, with tiny real bundles."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from foldwise.serve.log import WAL_DIR, recover
from tests.support.serve import Server, train_bundle

TOKEN = "test-token-0123456789"


def rows_of(table: pd.DataFrame, n: int) -> list[dict]:
    return table.drop(columns=["label"]).head(n).to_dict(orient="records")


def read_log(root: Path) -> pd.DataFrame:
    return ds.dataset(root, format="parquet", partitioning="hive").to_table().to_pandas()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundles")
    out = {task: train_bundle(task, root / task) for task in ("binary", "multiclass", "regression")}
    out["shadow"] = train_bundle("binary", root / "shadow", model="logistic_regression")
    return root, out


@pytest.fixture
def serve(tmp_path):
    started: list[Server] = []

    def start(*args: str, env: dict | None = None, ready: bool = True) -> Server:
        server = Server(list(args), tmp_path / f"server{len(started)}.txt", env=env)
        started.append(server)
        if ready:
            server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_http_predictions_equal_in_process_predictions(bundles, serve, tmp_path, task):
    root, made = bundles
    bundle, table = made[task]
    server = serve("--model", str(root / task), "--log-dir", str(tmp_path / "log"))
    rows = rows_of(table, 25)
    answer = server.client.post("/predict", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = bundle.predict(table.head(25))
    got = body["predictions"]
    assert [p["id"] for p in got] == table["row_id"].head(25).tolist()
    assert body["task"] == task
    assert len(body["request_id"]) == 32
    if task == "regression":
        np.testing.assert_array_equal([p["prediction"] for p in got], expected["prediction"])
        assert body["threshold"] is None
    else:
        assert [p["prediction"] for p in got] == expected["prediction"].tolist()
        classes = bundle.problem.classes
        proba = np.array([[p["probabilities"][str(c)] for c in classes] for p in got])
        np.testing.assert_array_equal(proba, expected[[f"proba_{c}" for c in classes]])
        assert body["threshold"] == (0.4 if task == "binary" else None)
    health = server.client.get("/health").json()
    assert health["model_version"] == body["model_version"]
    schema = server.client.get("/schema").json()
    assert [f["name"] for f in schema["features"]] == ["x1", "x2", "colour", "member", "day"]
    assert schema["features"][2]["categories_seen"] == ["red", "green", "blue"]
    server.stop()
    logged = read_log(tmp_path / "log").sort_values("row")
    assert logged["request_id"].unique().tolist() == [body["request_id"]]
    assert logged["id"].tolist() == table["row_id"].head(25).tolist()
    if task == "regression":
        np.testing.assert_array_equal(logged["value"], expected["prediction"])
        assert logged["proba"].isna().all()
    else:
        assert logged["prediction"].tolist() == [str(v) for v in expected["prediction"]]
    assert logged["features"].iloc[1]["colour"] == table["colour"].iloc[1]


@pytest.mark.slow
def test_bad_requests_get_a_clear_4xx_and_the_server_keeps_serving(bundles, serve, tmp_path):
    root, made = bundles
    _, table = made["binary"]
    server = serve(
        "--model", str(root / "binary"), "--log-dir", str(tmp_path / "log"),
        "--max-rows", "50", "--max-body-bytes", "20000",
    )  # fmt: skip
    good = rows_of(table, 2)
    missing = [{k: v for k, v in row.items() if k != "x2"} for row in good]
    cases = [
        (b'{"rows": [', 400, "body: not valid JSON"),
        (b'{"rows": []}', 422, "rows: expected a non-empty array"),
        (b'{"model": "/etc/passwd", "rows": []}', 422, "body: unknown key 'model'"),
        ({"rows": missing}, 422, "rows[0].x2: missing feature"),
        ({"rows": [dict(good[0], x1={"a": 1})]}, 422, "rows[0].x1: expected number or string"),
        ({"rows": [dict(good[0], member=[1])]}, 422, "rows[0].member: expected boolean"),
        ({"rows": [good[0], dict(good[1], x1=True)]}, 422, "rows[1].x1: expected number or"),
        ({"rows": [dict(good[0], x1="abc")]}, 422, "column 'x1': 1 value(s) are not numbers"),
        ({"rows": [dict(good[0], day="not a date")]}, 422, "column 'day'"),
        ({"rows": rows_of(table, 51)}, 413, "rows: 51 rows exceed the limit of 50"),
        (b"[" + b" " * 30000 + b"]", 413, "exceed the limit of 20000 bytes"),
    ]
    for body, status, reason in cases:
        if isinstance(body, bytes):
            answer = server.client.post(
                "/predict", content=body, headers={"Content-Type": "application/json"}
            )
        else:
            answer = server.client.post("/predict", json=body)
        assert answer.status_code == status, (reason, answer.text)
        message = answer.json()["error"]
        assert reason in message
        assert "\n" not in message
        assert server.client.post("/predict", json={"rows": good}).status_code == 200
    answer = server.client.post("/predict", content=b"x=1", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
    metrics = server.client.get("/metrics").text
    assert 'foldwise_http_errors_total{endpoint="/predict",kind="client"} 12.0' in metrics
    assert 'foldwise_http_requests_total{endpoint="/predict",status="200"} 11.0' in metrics
    assert "foldwise_http_request_duration_seconds_bucket" in metrics
    assert server.process.poll() is None


@pytest.mark.slow
def test_health_is_not_ready_until_the_model_is_loaded(bundles, serve, tmp_path):
    root, made = bundles
    target = tmp_path / "incoming" / "model"
    server = serve(
        "--model", str(target), "--wait-for-model", "60", "--log-dir", str(tmp_path / "log"),
        ready=False,
    )  # fmt: skip
    server.wait_listening()
    health = server.client.get("/health")
    assert health.status_code == 503
    assert health.json()["status"] == "waiting for the model"
    answer = server.client.post("/predict", json={"rows": rows_of(made["binary"][1], 1)})
    assert answer.status_code == 503
    assert "model not ready" in answer.json()["error"]
    assert server.client.get("/schema").status_code == 503
    staging = tmp_path / "incoming" / ".staging"
    shutil.copytree(root / "binary", staging)
    staging.rename(target)  # a bundle appears whole, as Bundle.save and `mv` make it
    server.wait_ready()
    answer = server.client.post("/predict", json={"rows": rows_of(made["binary"][1], 1)})
    assert answer.status_code == 200


def test_serve_refuses_a_missing_bundle_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "foldwise.cli", "serve", "--model", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: --model {tmp_path / 'none'}: not a foldwise model bundle (no bundle.json)"
    )


@pytest.mark.slow
def test_token_is_required_by_predict_and_metrics(bundles, serve, tmp_path):
    root, made = bundles
    server = serve(
        "--model", str(root / "binary"), "--log-dir", str(tmp_path / "log"),
        env={"FOLDWISE_TOKEN": TOKEN},
    )  # fmt: skip
    body = {"rows": rows_of(made["binary"][1], 1)}
    for path, call in (("/predict", lambda h: server.client.post("/predict", json=body, headers=h)),
                       ("/metrics", lambda h: server.client.get("/metrics", headers=h))):  # fmt: skip
        missing = call({})
        assert missing.status_code == 401, path
        assert missing.json()["error"].startswith("missing bearer token")
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = call({"Authorization": "Bearer " + TOKEN[:-1] + "x"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid bearer token"
        assert call({"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert server.client.get("/health").status_code == 200


@pytest.mark.slow
def test_shadow_is_logged_beside_the_primary_and_never_answers(bundles, serve, tmp_path):
    root, made = bundles
    primary, table = made["binary"]
    shadow, _ = made["shadow"]
    log = tmp_path / "log"
    server = serve(
        "--model", str(root / "binary"), "--shadow", str(root / "shadow"), "--log-dir", str(log)
    )
    health = server.client.get("/health").json()
    assert health["shadow_model_version"] not in (None, health["model_version"])
    answers = []
    for start in range(0, 60, 20):
        chunk = table.iloc[start : start + 20]
        answer = server.client.post("/predict", json={"rows": rows_of(chunk, 20)})
        assert answer.status_code == 200
        answers += answer.json()["predictions"]
        assert "shadow" not in answer.text
    expected = primary.predict(table.head(60))
    assert [a["prediction"] for a in answers] == expected["prediction"].tolist()
    assert [a["probabilities"]["Yes"] for a in answers] == expected["proba_Yes"].tolist()
    server.stop()
    logged = read_log(log)
    logged = logged.set_index("id").loc[table["row_id"].head(60)]
    shadow_expected = shadow.predict(table.head(60))
    assert (logged["shadow_model_version"] == health["shadow_model_version"]).all()
    np.testing.assert_array_equal(logged["value"], expected["proba_Yes"])
    np.testing.assert_array_equal(logged["shadow_value"], shadow_expected["proba_Yes"])
    assert logged["shadow_prediction"].tolist() == shadow_expected["prediction"].tolist()
    labels = table.head(60)[["row_id", "label"]].rename(columns={"row_id": "id"})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    report = subprocess.run(
        [sys.executable, "-m", "foldwise.cli", "shadow-report", str(log),
         "--labels", str(tmp_path / "labels.csv"), "--bootstrap-samples", "200"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert "60 rows in 3 requests" in report.stdout
    assert "labels joined: 60 rows; roc_auc primary" in report.stdout


@pytest.mark.slow
def test_sigkill_mid_load_leaves_a_readable_log_of_every_answered_request(bundles, serve, tmp_path):
    root, made = bundles
    _, table = made["binary"]
    log = tmp_path / "log"
    server = serve("--model", str(root / "binary"), "--log-dir", str(log), "--compact-every", "0.2")
    answered: dict[str, int] = {}
    sent = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def client(seed: int) -> None:
        rng = np.random.default_rng(seed)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            while not stop.is_set():
                n = int(rng.integers(1, 20))
                with lock:
                    sent[0] += 1
                try:
                    answer = http.post("/predict", json={"rows": rows_of(table, n)})
                except httpx.TransportError:
                    return  # the server died with this request in flight
                if answer.status_code == 200:
                    answered[answer.json()["request_id"]] = n

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(answered) < 150 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join()
    assert len(answered) >= 150
    assert list((log / WAL_DIR).glob("*.jsonl")), "the kill should leave an uncompacted segment"
    assert list(log.glob("date=*/part-*.parquet")), "compaction should have run before the kill"
    recover(log)  # what the next `foldwise serve` (or shadow-report) does first
    assert not list((log / WAL_DIR).glob("*.jsonl"))
    for part in log.rglob("*.parquet"):
        pq.read_table(part)  # every file reads
    logged = read_log(log)
    counts = logged.groupby("request_id").size()
    for request_id, n in answered.items():
        assert counts.get(request_id) == n, request_id
    assert len(counts) <= sent[0]  # at most the requests in flight on top of the answered ones
    assert len(counts) - len(answered) <= len(threads)


@pytest.mark.slow
def test_two_workers_share_the_port_and_the_log(bundles, serve, tmp_path):
    root, made = bundles
    _, table = made["binary"]
    log = tmp_path / "log"
    server = serve(
        "--model", str(root / "binary"), "--log-dir", str(log), "--workers", "2",
        env={"FOLDWISE_TOKEN": TOKEN},
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {TOKEN}"}
    ids = set()
    for _ in range(30):
        answer = server.client.post("/predict", json={"rows": rows_of(table, 2)}, headers=headers)
        assert answer.status_code == 200
        ids.add(answer.json()["request_id"])
    assert server.client.post("/predict", json={"rows": rows_of(table, 1)}).status_code == 401
    server.stop()
    assert server.process.returncode == 0
    logged = read_log(log)
    assert set(logged["request_id"]) == ids
    assert len(logged) == 60
