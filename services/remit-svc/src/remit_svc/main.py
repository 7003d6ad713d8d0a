"""remit-svc application factory."""

from __future__ import annotations

from fastapi import FastAPI

from claimflow_kit.app import build_app
from remit_svc.api.routes import router
from remit_svc.config import RemitSettings


def create_app(settings: RemitSettings | None = None) -> FastAPI:
    """The remittance service: payment posting and accounts receivable."""
    return build_app(
        settings or RemitSettings(),
        title="ClaimFlow remit-svc",
        description="835 remittance posting, patient balances, deposit reconciliation and accounts receivable.",
        routers=[router],
        migrations_package="remit_svc",
    )
