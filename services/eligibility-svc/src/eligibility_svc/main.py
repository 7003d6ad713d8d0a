"""eligibility-svc application factory."""

from __future__ import annotations

from fastapi import FastAPI

from claimflow_kit.app import build_app
from eligibility_svc.api.routes import router
from eligibility_svc.config import EligibilitySettings


def create_app(settings: EligibilitySettings | None = None) -> FastAPI:
    """The eligibility service: coverage checks before and at the visit."""
    return build_app(
        settings or EligibilitySettings(),
        title="ClaimFlow eligibility-svc",
        description="Real-time and batch eligibility (X12 270/271, FHIR CoverageEligibility) and coverage pre-checks.",
        routers=[router],
        migrations_package="eligibility_svc",
    )
