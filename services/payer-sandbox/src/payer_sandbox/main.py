"""payer-sandbox application factory."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from claimflow_kit.http_errors import install_error_handlers
from claimflow_kit.metrics import Metrics
from payer_sandbox.api import router
from payer_sandbox.config import SandboxSettings
from payer_sandbox.service import Sandbox

logger = logging.getLogger(__name__)


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    """The sandbox clearinghouse and payers (never production).

    It does not use ``claimflow_kit.app.build_app``: that shell needs a database and a broker for readiness,
    and the sandbox has neither, so it is ready as soon as its population is generated.
    """
    settings = settings or SandboxSettings()
    app = FastAPI(
        title="ClaimFlow payer-sandbox",
        description="A simulated clearinghouse and payers: 270/271, 837 → 999/277CA, 835 remittance. Test use only.",
        version="0.1.0",
    )
    app.state.sandbox = Sandbox(settings)
    metrics = Metrics(settings.service_name)
    install_error_handlers(app)

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = str(getattr(request.scope.get("route"), "path", "unmatched"))
            metrics.http_requests.labels(request.method, route, str(status)).inc()
            metrics.http_latency.labels(request.method, route).observe(time.perf_counter() - started)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok", "service": settings.service_name}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> dict[str, object]:
        """Readiness: the population is loaded (there is no database or broker to wait for)."""
        return {"status": "ready", "checks": {"population": "ok"}}

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def prometheus() -> Response:
        """Prometheus metrics."""
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    app.include_router(router)
    return app
