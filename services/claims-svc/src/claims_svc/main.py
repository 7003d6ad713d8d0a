"""claims-svc application factory."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from claimflow_connect.routing import ConnectorRouter
from claimflow_kit.app import ServiceContext, build_app
from claimflow_kit.control_numbers import SqlControlNumberAllocator
from claims_svc.api.denials import router as denials_router
from claims_svc.api.followup import FOLLOWUP_KEY
from claims_svc.api.followup import router as followup_router
from claims_svc.api.ops import router as ops_router
from claims_svc.api.routes import PIPELINE_KEY, router
from claims_svc.config import ClaimsSettings
from claims_svc.domain.x12_837p import Parties
from claims_svc.service.followup import StatusFollowup
from claims_svc.service.pipeline import ClaimPipeline, PipelineConfig


async def _start(context: ServiceContext) -> None:
    """Build the claim pipeline and keep it moving in the background."""
    settings = context.settings
    assert isinstance(settings, ClaimsSettings)
    config = PipelineConfig(
        parties=Parties(
            submitter_name=settings.submitter_name,
            submitter_id=settings.submitter_id,
            contact_name=settings.submitter_contact,
            contact_phone=settings.submitter_phone,
            receiver_name=settings.receiver_name,
            receiver_id=settings.receiver_id,
        ),
        payers=settings.payer_rules(),
        auto_submit_after=(
            timedelta(seconds=settings.claims_batch_window_seconds)
            if settings.claims_batch_window_seconds is not None
            else None
        ),
        batch_size=settings.claims_batch_size,
        resend_after=timedelta(seconds=settings.claims_resend_after_seconds),
    )
    connectors = ConnectorRouter(settings.connector_routing)
    context.closers.append(connectors.aclose)
    pipeline = ClaimPipeline(context, config, connectors, SqlControlNumberAllocator(context.database))
    context.extras[PIPELINE_KEY] = pipeline
    context.run_in_background(pipeline.run_forever(settings.claims_pipeline_idle_seconds), name="claims-pipeline")
    followup = StatusFollowup(
        pipeline, settings.followup_policy_for, timeout_seconds=settings.claim_status_timeout_seconds
    )
    context.extras[FOLLOWUP_KEY] = followup
    if settings.status_followup_interval_seconds is not None:
        context.run_in_background(
            followup.run_forever(settings.status_followup_interval_seconds), name="claim-status-followup"
        )


def create_app(settings: ClaimsSettings | None = None) -> FastAPI:
    """The claims service: claim building, scrubbing, 837 submission, acknowledgments, denials and appeals."""
    return build_app(
        settings or ClaimsSettings(),
        title="ClaimFlow claims-svc",
        description="Claims from coded encounters: scrubber, 837P submission through a connector, 999/277CA, "
        "denial work queue and appeals.",
        routers=[followup_router, router, denials_router, ops_router],
        migrations_package="claims_svc",
        on_startup=_start,
    )
