"""Run the app under uvicorn: ``foldwise serve``."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import sys
from pathlib import Path
from typing import Any

from foldwise.errors import FoldwiseError
from foldwise.serve.app import ServeSettings, create_app
from foldwise.serve.auth import load_token

# Worker processes get their settings through the environment, without the token itself: each
# reads it again from --token-file or $FOLDWISE_TOKEN.
SETTINGS_ENV = "FOLDWISE_SERVE_SETTINGS"
_PATHS = ("model", "shadow", "log_dir", "registry_root")


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def app_from_env() -> Any:
    """The app of one worker process (``--workers`` > 1), from :data:`SETTINGS_ENV`."""
    payload = json.loads(os.environ[SETTINGS_ENV])
    token_file = payload.pop("token_file")
    for key in _PATHS:
        payload[key] = None if payload[key] is None else Path(payload[key])
    token = load_token(None if token_file is None else Path(token_file))
    return create_app(ServeSettings(**payload, token=token))


def _run_workers(
    settings: ServeSettings, host: str, port: int, workers: int, token_file: Path | None
) -> int:
    import uvicorn

    payload = {k: v for k, v in dataclasses.asdict(settings).items() if k != "token"}
    for key in _PATHS:
        payload[key] = None if payload[key] is None else str(Path(payload[key]).resolve())
    payload["token_file"] = None if token_file is None else str(token_file.resolve())
    os.environ[SETTINGS_ENV] = json.dumps(payload)
    print(f"foldwise serve: listening on http://{host}:{port} ({workers} workers)", flush=True)
    uvicorn.run(
        "foldwise.serve.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def run_server(
    settings: ServeSettings,
    host: str,
    port: int,
    workers: int = 1,
    token_file: Path | None = None,
) -> int:
    """Serve until interrupted; returns the exit code (2 if the model could not be loaded).

    With ``workers`` > 1, uvicorn runs that many processes on the same port, each with its
    own model copy and its own write-ahead segment of the same log.
    """
    import uvicorn

    if settings.wait_for_model <= 0 and not (settings.model / "bundle.json").is_file():
        raise FoldwiseError(
            f"--model {settings.model}: not a foldwise model bundle (no bundle.json)"
        )
    if not 1 <= port <= 65535:
        raise FoldwiseError(f"--port {port}: expected 1-65535")
    if not is_loopback(host) and settings.token is None:
        print(
            f"warning: serving on {host} without a token: anyone who reaches this port can call "
            "/predict and /metrics (set FOLDWISE_TOKEN or --token-file)",
            file=sys.stderr,
        )
    if workers < 1:
        raise FoldwiseError(f"--workers {workers}: expected at least 1")
    if workers > 1:
        return _run_workers(settings, host, port, workers, token_file)
    failure: list[str] = []
    server: uvicorn.Server | None = None

    def on_load_failure(message: str) -> None:
        failure.append(message)
        print(f"error: {message}", file=sys.stderr, flush=True)
        if server is not None:
            server.should_exit = True

    app = create_app(settings, on_load_failure)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    print(f"foldwise serve: listening on http://{host}:{port} (model loading)", flush=True)
    server.run()
    return 2 if failure else 0
