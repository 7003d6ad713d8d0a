"""Connector errors: what went wrong talking to a clearinghouse or payer, in terms a caller can act on.

They extend the kit's error classes so an API that lets one escape answers with the usual error document:
unavailable/timeout → 503 (retry later), rejected → 400 (fix the file), not configured → 400.
"""

from __future__ import annotations

from claimflow_kit.errors import ClaimFlowError, DependencyUnavailable, InvalidInput

__all__ = [
    "ConnectorError",
    "ConnectorNotConfigured",
    "ConnectorRejected",
    "ConnectorTimeout",
    "ConnectorUnavailable",
    "ConnectorUnsupported",
]


class ConnectorError(ClaimFlowError):
    """Base of every connector failure."""


class ConnectorUnavailable(ConnectorError, DependencyUnavailable):
    """The other side cannot be reached or answered 5xx/429: nothing was accepted, retrying later is safe."""


class ConnectorTimeout(ConnectorUnavailable):
    """No answer within the allowed time. For a submission the outcome is unknown: resubmit the same file name."""


class ConnectorRejected(ConnectorError, InvalidInput):
    """The other side refused the request (4xx): retrying the same bytes will fail again."""

    def __init__(self, detail: str, *, status_code: int | None = None) -> None:
        super().__init__(detail, extra={"status_code": status_code} if status_code is not None else None)
        self.status_code = status_code


class ConnectorNotConfigured(ConnectorError, InvalidInput):
    """No route (connector) is configured for this tenant and payer."""


class ConnectorUnsupported(ConnectorError, InvalidInput):
    """This connector cannot do the operation (e.g. real-time eligibility over a batch drop folder)."""
