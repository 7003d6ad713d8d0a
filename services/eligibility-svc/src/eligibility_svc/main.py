"""eligibility-svc application factory."""

from __future__ import annotations

from fastapi import FastAPI

from claimflow_connect.routing import ConnectorRouter
from claimflow_kit.app import ServiceContext, build_app
from claimflow_kit.control_numbers import BlockControlNumberAllocator, SqlControlNumberAllocator
from eligibility_svc.api.ops import router as ops_router
from eligibility_svc.api.routes import router
from eligibility_svc.config import EligibilitySettings
from eligibility_svc.service.checks import CheckProcessor, ExchangePolicy, Exchanger
from eligibility_svc.service.requests import EXCHANGER_KEY


async def _start(context: ServiceContext) -> None:
    """Build the connector router and exchanger; work pending checks (batches, pre-checks) in the background."""
    settings = context.settings
    assert isinstance(settings, EligibilitySettings)
    policy = ExchangePolicy(
        deadline_seconds=settings.eligibility_deadline_seconds,
        first_backoff_seconds=settings.eligibility_first_backoff_seconds,
        max_backoff_seconds=settings.eligibility_max_backoff_seconds,
        cache_minutes=settings.eligibility_cache_minutes,
    )
    connectors = ConnectorRouter(settings.connector_routing)
    exchanger = Exchanger(connectors, BlockControlNumberAllocator(SqlControlNumberAllocator(context.database)), policy)
    context.extras[EXCHANGER_KEY] = exchanger
    processor = CheckProcessor(
        context.database, context.outbox, exchanger, concurrency=settings.eligibility_batch_concurrency
    )
    context.run_in_background(processor.run_forever(), name="eligibility-processor")
    context.closers.append(connectors.aclose)


def create_app(settings: EligibilitySettings | None = None) -> FastAPI:
    """The eligibility service: coverage checks before and at the visit."""
    return build_app(
        settings or EligibilitySettings(),
        title="ClaimFlow eligibility-svc",
        description="Real-time and batch eligibility (X12 270/271, FHIR CoverageEligibility) and coverage pre-checks.",
        routers=[router, ops_router],
        migrations_package="eligibility_svc",
        on_startup=_start,
    )
