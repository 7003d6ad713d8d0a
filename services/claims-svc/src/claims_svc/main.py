"""claims-svc application factory."""

from __future__ import annotations

from fastapi import FastAPI

from claimflow_kit.app import build_app
from claims_svc.api.routes import router
from claims_svc.config import ClaimsSettings


def create_app(settings: ClaimsSettings | None = None) -> FastAPI:
    """The claims service: from coded encounters to submitted, acknowledged claims."""
    return build_app(
        settings or ClaimsSettings(),
        title="ClaimFlow claims-svc",
        description="Claim building, scrubbing, 837P/837I submission, acknowledgments, follow-up and corrections.",
        routers=[router],
        migrations_package="claims_svc",
    )
