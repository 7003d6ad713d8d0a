"""The FastAPI application shell every service shares: lifespan, auth, errors, health, metrics, logging.

A service's ``create_app()`` passes its settings and routers; everything operational is uniform.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from claimflow_events import EventCatalog, default_catalog, uuid7
from claimflow_kit.auth import Authenticator, OpsAccess, token_router
from claimflow_kit.config import ServiceSettings
from claimflow_kit.context import child_traceparent, correlation_id_var, tenant_id_var, traceparent_var
from claimflow_kit.db import Database
from claimflow_kit.directory import PracticeCache
from claimflow_kit.http_errors import install_error_handlers
from claimflow_kit.kafka import broker_reachable
from claimflow_kit.metrics import Metrics
from claimflow_kit.migrations import upgrade_async, upgrade_directory
from claimflow_kit.outbox import Outbox, oldest_unsent_at, outbox_backlog
from claimflow_kit.runtime import tune_garbage_collector
from claimflow_kit.tables import ConsumerPosition, utcnow

logger = logging.getLogger(__name__)

CORRELATION_HEADER = "X-Correlation-ID"
_READINESS_CACHE_SECONDS = 2.0


@dataclass
class ServiceContext:
    """Long-lived objects of one API process, created in the lifespan and shared by requests."""

    settings: ServiceSettings
    database: Database
    directory: Database
    authenticator: Authenticator
    metrics: Metrics
    catalog: EventCatalog
    outbox: Outbox
    broker_checked_at: float = 0.0
    broker_ok: bool = False
    extras: dict[str, object] = field(default_factory=dict)
    background: list[asyncio.Task[None]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    practices: PracticeCache = field(init=False)

    def __post_init__(self) -> None:
        self.practices = PracticeCache(self.directory)

    def run_in_background(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        """Run a task for the life of the process (cancelled at shutdown)."""
        self.background.append(asyncio.create_task(coroutine, name=name))


def _context_of(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.services
    return context


async def service_context(request: Request) -> ServiceContext:
    """FastAPI dependency: the service's long-lived objects.

    A coroutine on purpose: FastAPI runs a plain function dependency in its thread pool, a thread hop per request.
    """
    return _context_of(request)


ContextDep = Annotated[ServiceContext, Depends(service_context)]


async def transactional_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one transaction per request, committed when the handler returns normally."""
    async with _context_of(request).database.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(transactional_session)]


class OutboxStatus(BaseModel):
    """Events written but not yet published, and how long the oldest has waited."""

    backlog: int
    oldest_unsent_at: datetime | None
    oldest_unsent_age_seconds: float | None


class ConsumerPositionOut(BaseModel):
    """Where one consumer group of this service last reported itself on one partition."""

    consumer: str
    topic: str
    partition: int
    position: int
    high_watermark: int
    lag: int
    updated_at: datetime


class OpsStatus(BaseModel):
    """Installation-level status of one service for the ops view: outbox and consumer positions."""

    service: str
    checked_at: datetime
    outbox: OutboxStatus
    consumers: list[ConsumerPositionOut]


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


class ObserveMiddleware:
    """Correlation id, trace context, metrics and one log line per request (plain ASGI: no extra task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        correlation_id = headers.get(CORRELATION_HEADER) or uuid7().hex
        correlation_token = correlation_id_var.set(correlation_id[:64])
        tenant_token = tenant_id_var.set(None)
        trace_token = traceparent_var.set(child_traceparent(headers.get("traceparent")))
        started = time.perf_counter()
        status = 500

        async def send_with_correlation(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[CORRELATION_HEADER] = correlation_id_var.get() or correlation_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_correlation)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            context: ServiceContext | None = getattr(scope["app"].state, "services", None)
            if context is not None:
                context.metrics.http_requests.labels(method, route, str(status)).inc()
                context.metrics.http_latency.labels(method, route).observe(elapsed)
            # The route template, never the concrete path or query: those may carry identifiers.
            logger.info("%s %s -> %d", method, route, status, extra={"duration_ms": round(elapsed * 1000, 2)})
            correlation_id_var.reset(correlation_token)
            tenant_id_var.reset(tenant_token)
            traceparent_var.reset(trace_token)


def build_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    migrations_package: str | None = None,
    on_startup: Callable[[ServiceContext], Awaitable[None]] | None = None,
) -> FastAPI:
    """A ClaimFlow service application with the shared operational endpoints."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await upgrade_async("claimflow_kit", settings.directory_url, folder="directory_migrations")
            if migrations_package:
                await upgrade_async(migrations_package, settings.database_url)
        database = Database(settings.database_url, pool_size=settings.database_pool_size)
        directory = Database(settings.directory_url, pool_size=2)
        catalog = default_catalog()
        context = ServiceContext(
            settings=settings,
            database=database,
            directory=directory,
            authenticator=Authenticator(settings, directory),
            metrics=Metrics(settings.service_name),
            catalog=catalog,
            outbox=Outbox(catalog, settings.source),
        )
        app.state.services = context
        if on_startup is not None:
            await on_startup(context)
        tune_garbage_collector(settings.gc_threshold)
        try:
            yield
        finally:
            for task in context.background:
                task.cancel()
            await asyncio.gather(*context.background, return_exceptions=True)
            for close in reversed(context.closers):
                await close()
            await database.dispose()
            await directory.dispose()

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)

    app.add_middleware(ObserveMiddleware)

    ops = APIRouter(tags=["operations"])

    @ops.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "service": settings.service_name}

    @ops.get("/readyz")
    async def readyz(context: ContextDep) -> JSONResponse:
        """Readiness: the service database and the Kafka broker are reachable."""
        checks: dict[str, str] = {}
        try:
            await context.database.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        now = time.monotonic()
        if now - context.broker_checked_at > _READINESS_CACHE_SECONDS or not context.broker_ok:
            context.broker_ok = await broker_reachable(settings)
            context.broker_checked_at = now
        checks["broker"] = "ok" if context.broker_ok else "unavailable"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not-ready", "checks": checks}, status_code=200 if ready else 503
        )

    @ops.get("/metrics", response_class=Response)
    async def metrics(context: ContextDep) -> Response:
        """Prometheus metrics, including outbox backlog and consumer lag read from the database."""
        try:
            async with context.database.transaction() as session:
                context.metrics.outbox_backlog.set(await outbox_backlog(session))
                rows = (await session.exec(select(ConsumerPosition))).all()
                for row in rows:
                    lag = max(row.high_watermark - row.position, 0)
                    context.metrics.consumer_lag.labels(row.consumer, row.topic, str(row.partition)).set(lag)
        except Exception as exc:
            logger.warning("metrics: database unavailable (%s)", type(exc).__name__)
        return Response(context.metrics.render(), media_type="text/plain; version=0.0.4")

    @ops.get("/ops/status", response_model=OpsStatus, dependencies=[OpsAccess])
    async def ops_status(context: ContextDep) -> OpsStatus:
        """Installation-level (ops token): outbox backlog and age of its oldest event, consumer positions."""
        now = utcnow()
        async with context.database.transaction() as session:
            backlog = await outbox_backlog(session)
            oldest = await oldest_unsent_at(session)
            rows = (
                await session.exec(
                    select(ConsumerPosition).order_by(
                        col(ConsumerPosition.consumer), col(ConsumerPosition.topic), col(ConsumerPosition.partition)
                    )
                )
            ).all()
        return OpsStatus(
            service=settings.service_name,
            checked_at=now,
            outbox=OutboxStatus(
                backlog=backlog,
                oldest_unsent_at=oldest,
                oldest_unsent_age_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else None,
            ),
            consumers=[
                ConsumerPositionOut(
                    consumer=row.consumer,
                    topic=row.topic,
                    partition=row.partition,
                    position=row.position,
                    high_watermark=row.high_watermark,
                    lag=max(row.high_watermark - row.position, 0),
                    updated_at=row.updated_at,
                )
                for row in rows
            ],
        )

    app.include_router(ops)
    app.include_router(token_router)
    for router in routers:
        app.include_router(router)
    return app


__all__ = ["ContextDep", "ServiceContext", "SessionDep", "build_app", "upgrade_directory"]
