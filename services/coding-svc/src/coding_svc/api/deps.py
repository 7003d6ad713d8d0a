"""FastAPI dependencies of coding-svc."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends

from claimflow_kit.app import ContextDep, ServiceContext
from coding_svc.service.edits import EditEngine

EDITS_KEY = "edit_engine"


def edits(context: ServiceContext) -> EditEngine:
    """The edit engine loaded at startup."""
    return cast(EditEngine, context.extras[EDITS_KEY])


def edits_dependency(context: ContextDep) -> EditEngine:
    """FastAPI dependency: the edit engine."""
    return edits(context)


EditsDep = Annotated[EditEngine, Depends(edits_dependency)]
