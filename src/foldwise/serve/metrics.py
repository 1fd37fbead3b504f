"""Prometheus metrics of the server: request counts, latency histogram, errors, rows scored."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

ENDPOINTS = frozenset({"/predict", "/health", "/schema", "/metrics"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServerMetrics:
    """The server's collectors, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        disable_created_metrics()  # the *_created series only add noise to a scrape
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "foldwise_http_requests",
            "HTTP requests by endpoint and status code",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "foldwise_http_request_duration_seconds",
            "Time from request to response, by endpoint",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "foldwise_http_errors",
            "Responses with status >= 400, by endpoint and class (client or server)",
            ["endpoint", "kind"],
            registry=self.registry,
        )
        self.rows = Counter(
            "foldwise_predicted_rows", "Rows scored by the primary model", registry=self.registry
        )
        self.shadow_errors = Counter(
            "foldwise_shadow_errors",
            "Requests the shadow model failed to score (the primary still answered)",
            registry=self.registry,
        )
        self.ready = Gauge(
            "foldwise_model_ready", "1 once the model is loaded and serving", registry=self.registry
        )


class MetricsMiddleware:
    """ASGI middleware recording every HTTP request's endpoint, status and duration."""

    def __init__(self, app: Any, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = scope["path"] if scope["path"] in ENDPOINTS else "other"
        status = 500
        started = time.perf_counter()

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            m = self.metrics
            m.latency.labels(endpoint).observe(time.perf_counter() - started)
            m.requests.labels(endpoint, str(status)).inc()
            if status >= 400:
                m.errors.labels(endpoint, "client" if status < 500 else "server").inc()
