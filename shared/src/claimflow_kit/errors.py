"""Domain and application errors. Each has a stable code; HTTP statuses are assigned in ``http_errors``."""

from __future__ import annotations

from typing import Any


class ClaimFlowError(Exception):
    """Base of every error a client may see. ``code`` is the class name unless set."""

    code: str = ""

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}

    @property
    def error_code(self) -> str:
        """Stable machine-readable code."""
        return self.code or type(self).__name__


class NotFound(ClaimFlowError):
    """The object does not exist for this tenant (another tenant's object is indistinguishable)."""

    def __init__(self, resource: str, identifier: object) -> None:
        super().__init__(f"{resource} {identifier} not found")
        self.code = f"{resource}NotFound"


class InvalidInput(ClaimFlowError):
    """The request is well-formed but breaks a business rule."""


class Conflict(ClaimFlowError):
    """The request conflicts with the current state (duplicate, wrong state)."""


class NotAuthenticated(ClaimFlowError):
    """No valid credentials were presented."""


class PermissionDenied(ClaimFlowError):
    """The caller's role may not do this."""


class OpsDisabled(PermissionDenied):
    """The installation-level ops endpoints are off because no ops token is configured."""


class DependencyUnavailable(ClaimFlowError):
    """A database, broker or payer connection is not reachable right now."""


class UpstreamTimeout(DependencyUnavailable):
    """A partner system (payer, clearinghouse) gave no usable answer in time."""


class UpstreamInvalidAnswer(ClaimFlowError):
    """A partner system answered with something that cannot be read (kept for audit, shown to ops)."""
