"""remit-svc application factory."""

from __future__ import annotations

from fastapi import FastAPI

from claimflow_connect.routing import ConnectorRouter
from claimflow_kit.app import ServiceContext, build_app
from remit_svc.api.receivables import router as accounts_router
from remit_svc.api.routes import POSTER_KEY, router
from remit_svc.api.statements import router as statements_router
from remit_svc.config import RemitSettings
from remit_svc.service.posting import RemittancePoster


async def _start(context: ServiceContext) -> None:
    """Build the poster and keep reading connector mailboxes in the background."""
    settings = context.settings
    assert isinstance(settings, RemitSettings)
    connectors = ConnectorRouter(settings.connector_routing)
    context.closers.append(connectors.aclose)
    poster = RemittancePoster(context, connectors)
    context.extras[POSTER_KEY] = poster
    context.run_in_background(poster.run_forever(settings.remit_poll_seconds), name="remit-mailboxes")


def create_app(settings: RemitSettings | None = None) -> FastAPI:
    """The remittance service: payment posting and accounts receivable."""
    return build_app(
        settings or RemitSettings(),
        title="ClaimFlow remit-svc",
        description="835 remittance posting, patient balances, deposit reconciliation and accounts receivable.",
        routers=[router, accounts_router, statements_router],
        migrations_package="remit_svc",
        on_startup=_start,
    )
