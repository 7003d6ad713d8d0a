"""The one place that maps errors to HTTP responses: ``{"error": code, "detail": ...}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from claimflow_kit.db import is_transient, rejected_value_reason
from claimflow_kit.errors import (
    ClaimFlowError,
    Conflict,
    DependencyUnavailable,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    UpstreamInvalidAnswer,
    UpstreamTimeout,
)

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[ClaimFlowError], int] = {
    NotFound: 404,
    InvalidInput: 400,
    Conflict: 409,
    NotAuthenticated: 401,
    PermissionDenied: 403,
    DependencyUnavailable: 503,
    UpstreamTimeout: 504,
    UpstreamInvalidAnswer: 502,
}


def status_for(error: ClaimFlowError) -> int:
    """HTTP status of a ClaimFlow error (most specific registered base class wins)."""
    for klass in type(error).__mro__:
        if klass in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[klass]
    return 500


def error_body(code: str, detail: object) -> dict[str, object]:
    """The error document every endpoint returns."""
    return {"error": code, "detail": detail}


def error_document(error: ClaimFlowError) -> dict[str, object]:
    """The error document of a ClaimFlow error, as its own response or as one item's answer in a batch."""
    body = error_body(error.error_code, error.detail)
    if error.extra:
        body["extra"] = error.extra
    return body


def _is_unique_violation(exc: Exception) -> bool:
    """A unique constraint refused the row (PostgreSQL SQLSTATE 23505; SQLite says so in its message)."""
    if not isinstance(exc, IntegrityError):
        return False
    return str(getattr(exc.orig, "sqlstate", "") or "") == "23505" or "UNIQUE constraint failed" in str(exc.orig)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that render every error in the one format."""

    async def claimflow_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ClaimFlowError)
        status = status_for(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(error_document(exc), status_code=status, headers=headers)

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")} for err in exc.errors()
        ]
        return JSONResponse(error_body("MalformedRequest", problems), status_code=422)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(error_body("HTTPError", exc.detail), status_code=exc.status_code, headers=exc.headers)

    async def database_error(_: Request, exc: Exception) -> JSONResponse:
        if is_transient(exc):
            logger.warning("database unavailable: %s", type(exc).__name__)
            return JSONResponse(error_body("DatabaseUnavailable", "database is not reachable; retry"), status_code=503)
        reason = rejected_value_reason(exc)
        if reason is not None:  # the value came from the request; the statement's transaction rolled back
            return JSONResponse(error_body("InvalidValue", f"a value of the request cannot be stored: {reason}"), 400)
        if _is_unique_violation(exc):  # two requests wrote the same thing at once; the later one rolled back
            detail = "another request stored the same record at the same moment; read it again and retry"
            return JSONResponse(error_body("Conflict", detail), status_code=409)
        logger.error("database error: %s", type(exc).__name__)  # parameters are hidden by the engine
        return JSONResponse(error_body("InternalError", "the request could not be completed"), status_code=500)

    app.add_exception_handler(ClaimFlowError, claimflow_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DBAPIError, database_error)
