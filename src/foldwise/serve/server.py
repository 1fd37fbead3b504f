"""Run the app under uvicorn: ``foldwise serve``."""

from __future__ import annotations

import ipaddress
import sys

from foldwise.errors import FoldwiseError
from foldwise.serve.app import ServeSettings, create_app


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_server(settings: ServeSettings, host: str, port: int) -> int:
    """Serve until interrupted; returns the exit code (2 if the model could not be loaded)."""
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
