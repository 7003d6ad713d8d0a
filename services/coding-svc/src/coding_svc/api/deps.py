"""FastAPI dependencies of coding-svc."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends

from claimflow_kit.app import ContextDep, ServiceContext
from coding_svc.service.codesets import CodeSetRuntime
from coding_svc.service.edits import EditEngine

CODESETS_KEY = "code_sets"


def code_sets(context: ServiceContext) -> CodeSetRuntime:
    """The code sets loaded at startup (and refreshed as releases are loaded)."""
    return cast(CodeSetRuntime, context.extras[CODESETS_KEY])


def edits(context: ServiceContext) -> EditEngine:
    """The edit engine over the current code sets."""
    return code_sets(context).edits


def edits_dependency(context: ContextDep) -> EditEngine:
    """FastAPI dependency: the edit engine."""
    return edits(context)


def code_sets_dependency(context: ContextDep) -> CodeSetRuntime:
    """FastAPI dependency: the code-set runtime."""
    return code_sets(context)


EditsDep = Annotated[EditEngine, Depends(edits_dependency)]
CodeSetsDep = Annotated[CodeSetRuntime, Depends(code_sets_dependency)]
