"""The ops view application: the page, and the JSON API it polls (every call carries the ops token)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from claimflow.opsview.broker import BrokerSampler
from claimflow.opsview.collector import DeadLetterOut, OpsCollector, Snapshot, consumer_groups
from claimflow.opsview.config import OpsViewSettings
from claimflow_kit.auth import verify_ops_token
from claimflow_kit.http_errors import install_error_handlers


class ReplayIn(BaseModel):
    """Which dead letters to replay: one event, or every one of the topic not replayed yet."""

    dlq_topic: str = Field(max_length=249)
    event_id: str | None = Field(default=None, max_length=64)


class ReplayOut(BaseModel):
    """What was re-published to its original topic."""

    replayed: list[DeadLetterOut]


def _collector(request: Request) -> OpsCollector:
    collector: OpsCollector = request.app.state.collector
    return collector


def _ops_token(request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None) -> None:
    settings: OpsViewSettings = request.app.state.settings
    verify_ops_token(settings.ops_token, authorization)


CollectorDep = Annotated[OpsCollector, Depends(_collector)]
TokenDep = Depends(_ops_token)


def create_app(
    settings: OpsViewSettings | None = None,
    *,
    service_clients: Mapping[str, httpx.AsyncClient] | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
) -> FastAPI:
    """The ops view; ``service_clients`` (per service name, base URL set) replace the configured service URLs."""
    settings = settings or OpsViewSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            clients = dict(service_clients or {})
            if service_clients is None:
                # No keep-alive: a few requests every few seconds, and the view never holds an API's connections
                # (an API that closes them at shutdown would keep its port in TIME_WAIT).
                limits = httpx.Limits(max_keepalive_connections=0)
                for name, url in settings.ops_service_urls.items():
                    clients[name] = await stack.enter_async_context(
                        httpx.AsyncClient(base_url=url, timeout=settings.ops_request_timeout_seconds, limits=limits)
                    )
            collector = OpsCollector(
                settings, clients, groups if groups is not None else consumer_groups(), BrokerSampler(settings)
            )
            app.state.collector = collector
            stop = asyncio.Event()
            task = asyncio.create_task(collector.run(stop), name="ops-view-collector")
            try:
                yield
            finally:
                stop.set()
                await task

    app = FastAPI(
        title="ClaimFlow ops view",
        description="The event flow of the installation: rates, lag, outbox backlog, dead letters (with replay), "
        "stuck claims, payer response latency and claim timelines. The JSON API needs the ops token.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    page = resources.files("claimflow.opsview").joinpath("static/index.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        """The page (it holds no data: everything comes from the API with the token the person enters)."""
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "service": settings.service_name}

    @app.get("/api/snapshot", response_model=Snapshot, dependencies=[TokenDep], tags=["ops"])
    async def snapshot(collector: CollectorDep) -> Snapshot:
        """The latest picture: topics, consumer groups, services, dead letters, stuck claims, payer latency."""
        return collector.snapshot

    @app.post("/api/dead-letters/replay", response_model=ReplayOut, dependencies=[TokenDep], tags=["ops"])
    async def replay(body: ReplayIn, collector: CollectorDep) -> ReplayOut:
        """Re-publish dead letters to their original topic (consumers' inboxes make a repeat harmless)."""
        return ReplayOut(replayed=await collector.replay(body.dlq_topic, body.event_id))

    @app.get("/api/timeline", dependencies=[TokenDep], tags=["ops"])
    async def timeline(
        collector: CollectorDep,
        q: Annotated[str, Query(min_length=3, max_length=64, description="Claim, encounter or correlation id.")],
    ) -> list[dict[str, Any]]:
        """Every event of the cycles the id names, in order, across services."""
        return await collector.timeline(q.strip())

    return app
