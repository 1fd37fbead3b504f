"""The HTTP app: /predict, /health, /schema and /metrics around a bundle loaded in the background."""

from __future__ import annotations

import sys
import threading
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from foldwise.errors import FoldwiseError
from foldwise.serve.auth import check_bearer
from foldwise.serve.log import PredictionLog
from foldwise.serve.metrics import MetricsMiddleware, ServerMetrics
from foldwise.serve.model import Scores, ServedModel

MANIFEST = "bundle.json"


@dataclass
class ServeSettings:
    """How the server runs; nothing here can be changed by a request."""

    model: Path
    shadow: Path | None = None
    log_dir: Path = Path("logs/predictions")
    token: str | None = None
    max_rows: int = 1000
    max_body_bytes: int = 1 << 20
    compact_every: float = 60.0
    wait_for_model: float = 0.0
    model_version: str | None = None  # the GTO ref served (model@v1.2.0), if by version
    shadow_version: str | None = None
    # Where a bundle served by path is looked up among the registered versions (its name).
    registry_root: Path | None = None


class RequestError(Exception):
    """A bad request: answered with ``status`` and a one-line reason naming the field."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class ServerState:
    """The models, the log and the readiness of one server."""

    def __init__(self, settings: ServeSettings, metrics: ServerMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.primary: ServedModel | None = None
        self.shadow: ServedModel | None = None
        self.log: PredictionLog | None = None
        self.status = "loading"
        self.error: str | None = None

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    def _wait_for_bundle(self, path: Path) -> None:
        deadline = time.monotonic() + self.settings.wait_for_model
        while not (path / MANIFEST).is_file():
            if time.monotonic() >= deadline:
                raise FoldwiseError(f"--model {path}: not a foldwise model bundle (no {MANIFEST})")
            self.status = "waiting for the model"
            time.sleep(0.05)

    def load(self) -> None:
        """Load the model(s) and open the log; readiness flips only when all of it worked."""
        settings = self.settings
        self._wait_for_bundle(settings.model)
        self.status = "loading"
        primary = ServedModel.load(settings.model, settings.model_version, settings.registry_root)
        shadow = None
        if settings.shadow is not None:
            if not (settings.shadow / MANIFEST).is_file():
                raise FoldwiseError(f"--shadow {settings.shadow}: not a foldwise model bundle")
            shadow = ServedModel.load(
                settings.shadow, settings.shadow_version, settings.registry_root
            )
            primary.check_compatible(shadow)
        log = PredictionLog(
            settings.log_dir,
            primary.bundle.features,
            settings.compact_every,
            id_columns=primary.id_columns,
        )
        log.open()
        log.record_model(primary.version, primary.describe())
        if shadow is not None:
            log.record_model(shadow.version, shadow.describe())
        self.primary, self.shadow, self.log = primary, shadow, log
        self.status = "ready"
        self.metrics.ready.set(1)

    def start_loading(self, on_failure: Callable[[str], None] | None) -> threading.Thread:
        def run() -> None:
            try:
                self.load()
            except Exception as exc:
                self.status, self.error = "failed", str(exc).splitlines()[0]
                if on_failure is not None:
                    on_failure(self.error)

        thread = threading.Thread(target=run, name="model-load", daemon=True)
        thread.start()
        return thread

    def authorize(self, request: Request) -> None:
        if self.settings.token is None:
            return
        problem = check_bearer(request.headers.get("authorization"), self.settings.token)
        if problem is not None:
            raise RequestError(401, problem)

    def require_ready(self) -> ServedModel:
        if self.primary is None or not self.ready:
            raise RequestError(503, f"model not ready ({self.status})")
        return self.primary

    async def read_rows(self, request: Request) -> list[dict[str, Any]]:
        """The request's ``rows``, within the size and row limits, as JSON objects."""
        limit = self.settings.max_body_bytes
        kind = request.headers.get("content-type", "application/json")
        if "json" not in kind:
            raise RequestError(415, f"Content-Type {kind!r}: expected application/json")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise RequestError(413, f"body: {declared} bytes exceed the limit of {limit} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestError(413, f"body: more than the limit of {limit} bytes")
            chunks.append(chunk)
        try:
            payload = orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError as exc:
            raise RequestError(400, f"body: not valid JSON ({exc})") from None
        if not isinstance(payload, dict) or "rows" not in payload:
            raise RequestError(422, 'body: expected a JSON object {"rows": [{...}, ...]}')
        extra = sorted(set(payload) - {"rows"})
        if extra:
            raise RequestError(422, f"body: unknown key {extra[0]!r}; only 'rows' is accepted")
        rows = payload["rows"]
        if not isinstance(rows, list) or not rows:
            raise RequestError(422, "rows: expected a non-empty array of objects")
        if len(rows) > self.settings.max_rows:
            raise RequestError(
                413, f"rows: {len(rows)} rows exceed the limit of {self.settings.max_rows}"
            )
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise RequestError(422, f"rows[{i}]: expected an object of column: value")
        return rows

    def predict(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Score the rows with the primary (and shadow), log them, build the response."""
        primary = self.require_ready()
        request_id = uuid.uuid4().hex
        try:
            raw = primary.raw_features(rows)
            ts = time.time_ns() // 1000
            scores = primary.score(raw)
        except FoldwiseError as exc:
            raise RequestError(422, str(exc)) from None
        shadow_scores = self._score_shadow(rows)
        ids = primary.row_ids(rows, request_id)
        record: dict[str, Any] = {"request_id": request_id, "ts": ts, "id": ids}
        record["ids"] = primary.id_values(rows)
        record.update(scores.log_fields())
        if shadow_scores is not None:
            record.update(shadow_scores.log_fields("shadow_"))
        else:
            record["shadow_model_version"] = None
        record["features"] = raw
        assert self.log is not None
        self.log.append(record)
        self.metrics.rows.inc(len(rows))
        return _response(primary, scores, ids, request_id)

    def _score_shadow(self, rows: list[dict[str, Any]]) -> Scores | None:
        shadow = self.shadow
        if shadow is None:
            return None
        try:
            return shadow.score(shadow.raw_features(rows))
        except Exception:  # the shadow never decides anything, nor fails a request
            self.metrics.shadow_errors.inc()
            return None


def _response(
    model: ServedModel, scores: Scores, ids: list[str], request_id: str
) -> dict[str, Any]:
    classes = model.bundle.problem.classes
    predictions: list[dict[str, Any]] = []
    if scores.labels is None:
        for row_id, value in zip(ids, scores.value.tolist(), strict=True):
            predictions.append({"id": row_id, "prediction": value})
    else:
        assert scores.proba is not None
        assert classes is not None
        keys = [str(label) for label in classes]
        for row_id, label, proba in zip(ids, scores.labels, scores.proba.tolist(), strict=True):
            probabilities = dict(zip(keys, proba, strict=True))
            predictions.append({"id": row_id, "prediction": label, "probabilities": probabilities})
    return {
        "request_id": request_id,
        "model_version": model.version,
        "task": model.task,
        "threshold": model.threshold,
        "predictions": predictions,
    }


def create_app(
    settings: ServeSettings, on_load_failure: Callable[[str], None] | None = None
) -> FastAPI:
    """The FastAPI app; the model loads in a background thread once the server starts."""
    metrics = ServerMetrics()
    state = ServerState(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.start_loading(on_load_failure)
        yield
        if state.log is not None:
            state.log.close()

    app = FastAPI(
        title="foldwise model server",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.serve = state
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _json({"error": exc.message}, exc.status, headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        traceback.print_exception(exc, file=sys.stderr)
        return _json({"error": f"internal error: {type(exc).__name__}"}, 500)

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        state.authorize(request)
        state.require_ready()
        rows = await state.read_rows(request)
        answer = state.predict(rows)
        return _json(answer, headers={"X-Request-ID": answer["request_id"]})

    @app.get("/health")
    async def health() -> Response:
        if not state.ready:
            payload = {"status": state.status, "error": state.error}
            return _json(payload, 503)
        assert state.primary is not None
        shadow = state.shadow.version if state.shadow is not None else None
        return _json(
            {
                "status": "ready",
                "model_version": state.primary.version,
                "shadow_model_version": shadow,
            }
        )

    @app.get("/schema")
    async def schema() -> Response:
        model = state.require_ready()
        contract = model.contract()
        contract["limits"] = {
            "max_rows": settings.max_rows,
            "max_body_bytes": settings.max_body_bytes,
        }
        contract["request"] = {"rows": [dict.fromkeys(model.feature_names)]}
        return _json(contract)

    @app.get("/metrics")
    async def prometheus(request: Request) -> Response:
        state.authorize(request)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
