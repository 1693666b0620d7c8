"""Prometheus metrics: one registry per app, an ASGI middleware timing every request by route template."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mailyard_http_requests_total", "HTTP requests served", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mailyard_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )

        self.accounts = Gauge("mailyard_accounts", "Connected accounts by state", ["state"], registry=self.registry)
        self.engine_workers = Gauge("mailyard_engine_workers", "Accounts the engine of this process runs",
                                    registry=self.registry)

    def set_account_states(self, counts: dict[str, int]) -> None:
        self.accounts.clear()
        for state, count in counts.items():
            self.accounts.labels(state).set(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts requests by route template (not raw path, which would explode label cardinality)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
