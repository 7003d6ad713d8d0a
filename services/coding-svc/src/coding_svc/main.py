"""coding-svc application factory."""

from __future__ import annotations

import asyncio
import gc

from fastapi import FastAPI

from claimflow_kit.app import ServiceContext, build_app
from coding_svc.api.codesets import router as codesets_router
from coding_svc.api.deps import CODESETS_KEY
from coding_svc.api.routes import router
from coding_svc.api.work_queue import router as work_queue_router
from coding_svc.codesets.demo import load_demo_registry
from coding_svc.config import CodingSettings
from coding_svc.service.codesets import CodeSetRuntime


async def _load_code_sets(context: ServiceContext) -> None:
    """Load the packaged code sets and stored releases (seconds of work, off the event loop), then keep watching."""
    registry = await asyncio.to_thread(load_demo_registry)
    gc.collect()
    gc.freeze()  # millions of long-lived code-set objects: keep them out of every later collection
    runtime = CodeSetRuntime(registry)
    await runtime.refresh(context.database)
    context.extras[CODESETS_KEY] = runtime
    settings = context.settings
    assert isinstance(settings, CodingSettings)
    context.run_in_background(
        runtime.watch(context.database, settings.codeset_refresh_seconds), name="code-set-releases"
    )


def create_app(settings: CodingSettings | None = None) -> FastAPI:
    """The coding service: encounter intake from EHRs, code validation, code search and the coder work queue."""
    return build_app(
        settings or CodingSettings(),
        title="ClaimFlow coding-svc",
        description="Encounter intake (REST/FHIR), code sets, coding edits, code search and the coder work queue.",
        routers=[router, work_queue_router, codesets_router],
        migrations_package="coding_svc",
        on_startup=_load_code_sets,
    )
