"""coding-svc application factory."""

from __future__ import annotations

import asyncio
import gc

from fastapi import FastAPI

from claimflow_kit.app import ServiceContext, build_app
from coding_svc.api.deps import EDITS_KEY
from coding_svc.api.routes import router
from coding_svc.api.work_queue import router as work_queue_router
from coding_svc.codesets.demo import load_demo_registry
from coding_svc.config import CodingSettings
from coding_svc.service.edits import CodeSetEdits


async def _load_edits(context: ServiceContext) -> None:
    """Load the code sets once (seconds of work, off the event loop) and freeze them out of the GC's way."""
    registry = await asyncio.to_thread(load_demo_registry)
    gc.collect()
    gc.freeze()  # millions of long-lived code-set objects: keep them out of every later collection
    context.extras[EDITS_KEY] = CodeSetEdits(registry)


def create_app(settings: CodingSettings | None = None) -> FastAPI:
    """The coding service: encounter intake from EHRs, code validation and the coder work queue."""
    return build_app(
        settings or CodingSettings(),
        title="ClaimFlow coding-svc",
        description="Encounter intake (REST/FHIR), code sets, coding edits and the coder work queue.",
        routers=[router, work_queue_router],
        migrations_package="coding_svc",
        on_startup=_load_edits,
    )
