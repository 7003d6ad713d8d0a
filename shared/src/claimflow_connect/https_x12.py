"""X12 over HTTPS: a generic clearinghouse connector and the sandbox connector, which speak the same contract.

The contract (what the payer-sandbox serves, and what a configurable HTTPS clearinghouse endpoint must offer):

- ``POST {submit_path}`` with the X12 file as the body (``Content-Type: application/edi-x12``) and its name in
  ``X-Filename`` → 2xx JSON ``{"submission_id", "filename", "received_at"}``. Same name + same bytes again answers
  the same receipt, so a submission whose answer was lost can simply be retried.
- ``GET {mailbox_path}?after=<cursor>`` → ``{"items": [{"id", "kind", "filename", "created_at", "cursor"}]}``
  oldest first; ``GET {mailbox_path}/{id}`` → the file's bytes.
- ``POST {eligibility_path}`` with a 270 → the 271 (``application/edi-x12``).

The tenant is sent as a query parameter when the route names one (the sandbox serves many tenants at one URL);
a real clearinghouse usually knows the tenant from the credential in the auth header instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import httpcore
from pydantic import BaseModel, ValidationError

from claimflow_connect.errors import ConnectorRejected, ConnectorTimeout, ConnectorUnavailable
from claimflow_connect.models import MailboxItem, ResponseKind, SubmissionReceipt

__all__ = ["X12_MEDIA_TYPE", "HttpsX12Connector", "SandboxConnector"]

X12_MEDIA_TYPE = "application/edi-x12"
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
_REASON_KEYS = ("detail", "error", "message", "reason")
_ID_LIKE = re.compile(r"[0-9]{6,}")  # member ids, birth dates, claim numbers


def payer_reason(content: bytes) -> str:
    """What an error answer says, fit for logs and API errors: the short ``detail``/``error``/``message`` string of
    a JSON body, or a note that the body was withheld.

    A payer's error body may echo what it was sent (an 837's names and birth dates, a member id); the message of a
    ConnectorRejected ends up in worker logs and in the caller's error response, so nothing that could be patient
    data goes into it: no X12 segments, no long digit runs, nothing that is not a short JSON reason.
    """
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    found: str | None = next(
        (str(body[k]) for k in _REASON_KEYS if isinstance(body, dict) and isinstance(body.get(k), str)), None
    )
    if found and len(found) <= 160 and not set(found) & set("~*^|") and not _ID_LIKE.search(found):
        return found
    return f"(the answer's {len(content)}-byte body is not shown: it may carry patient data)"


_UNREACHABLE = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
    httpcore.ConnectionNotAvailable,
)
_USER_AGENT = (b"User-Agent", b"claimflow-connect")


class _ReceiptBody(BaseModel):
    submission_id: str
    filename: str
    received_at: datetime


class _MailboxEntry(BaseModel):
    id: str
    kind: ResponseKind
    filename: str
    created_at: datetime
    cursor: str


class _MailboxPage(BaseModel):
    items: list[_MailboxEntry]


@dataclass(frozen=True, slots=True)
class _Answer:
    """A successful HTTP answer, read whole."""

    path: str
    content: bytes


def _header_pairs(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def _pool_for(base_url: str, max_connections: int) -> httpcore.AsyncConnectionPool:
    """Connections to ``base_url``: through the proxy the environment names for its scheme (``HTTPS_PROXY``,
    ``HTTP_PROXY``, ``ALL_PROXY``; ``NO_PROXY`` exempts hosts), as httpx does by default, else direct."""
    limits: dict[str, Any] = {
        "max_connections": max_connections,
        "max_keepalive_connections": 20,
        "keepalive_expiry": 5.0,
    }
    target = urlsplit(base_url)
    proxies = getproxies()
    proxy = proxies.get(target.scheme) or proxies.get("all")
    if proxy and not proxy_bypass(target.hostname or ""):
        return httpcore.AsyncHTTPProxy(proxy_url=proxy, **limits)
    return httpcore.AsyncConnectionPool(**limits)


class HttpsX12Connector:
    """Exchanges X12 with an HTTP endpoint that follows the contract above (auth header optional).

    HTTP goes through httpcore's connection pool (the engine under httpx) without httpx's client layer: the
    contract needs none of its request and response models, cookies, auth flows or redirects, and a real-time
    270/271 then costs about half a millisecond less CPU (bench/eligibility/RESULTS.md). Connections are kept
    alive and reused; TLS certificates are verified (the system's authorities and certifi's, as httpx does);
    an egress proxy named in the environment is used as httpx would use it.
    """

    kind = "https-x12"

    def __init__(
        self,
        base_url: str,
        *,
        submit_path: str = "/x12/submissions",
        mailbox_path: str = "/x12/mailbox",
        eligibility_path: str = "/x12/eligibility",
        claim_status_path: str = "/x12/claim-status",
        headers: Mapping[str, str] | None = None,
        tenant_parameter: str | None = None,
        timeout_seconds: float = 30.0,
        max_connections: int = 100,
    ) -> None:
        self._submit_path = submit_path
        self._mailbox_path = mailbox_path.rstrip("/")
        self._eligibility_path = eligibility_path
        self._claim_status_path = claim_status_path
        self._tenant_parameter = tenant_parameter
        self._timeout = timeout_seconds
        self._pool = _pool_for(base_url, max_connections)
        self._base_url = base_url.rstrip("/")
        self._headers = [_USER_AGENT, *_header_pairs(headers or {})]

    def _params(self, tenant_id: str, **extra: str | None) -> dict[str, str]:
        params = {key: value for key, value in extra.items() if value is not None}
        if self._tenant_parameter:
            params[self._tenant_parameter] = tenant_id
        return params

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str],
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float | None = None,
    ) -> _Answer:
        """One HTTP exchange with transport failures and error statuses turned into connector errors.

        The time limit applies to each step (connecting, waiting for a pooled connection, sending, each read).
        """
        url = f"{self._base_url}{path}?{urlencode(params)}" if params else f"{self._base_url}{path}"
        limit = timeout_seconds or self._timeout
        try:
            response = await self._pool.request(
                method,
                url,
                headers=[*self._headers, *_header_pairs(headers or {})],
                content=content,
                extensions={"timeout": {"connect": limit, "read": limit, "write": limit, "pool": limit}},
            )
        except httpcore.TimeoutException as exc:
            raise ConnectorTimeout(f"{method} {path}: no answer within {limit}s") from exc
        except _UNREACHABLE as exc:
            raise ConnectorUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if response.status in _RETRYABLE:
            raise ConnectorUnavailable(f"{method} {path}: HTTP {response.status}")
        if response.status >= 400:
            reason = payer_reason(response.content)
            raise ConnectorRejected(f"{method} {path}: HTTP {response.status}: {reason}", status_code=response.status)
        return _Answer(path, response.content)

    @staticmethod
    def _json(response: _Answer, model: type[Any]) -> Any:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise ConnectorUnavailable(f"unexpected answer from {response.path}: {exc}") from exc

    async def submit(self, tenant_id: str, payer_id: str, x12: bytes, filename: str) -> SubmissionReceipt:
        """POST the file; a lost answer may be retried with the same name (the receipt comes back again)."""
        response = await self._request(
            "POST",
            self._submit_path,
            params=self._params(tenant_id, payer=payer_id),
            content=x12,
            headers={"Content-Type": X12_MEDIA_TYPE, "X-Filename": filename},
        )
        body: _ReceiptBody = self._json(response, _ReceiptBody)
        return SubmissionReceipt(
            submission_id=body.submission_id, filename=body.filename, received_at=body.received_at, connector=self.kind
        )

    async def fetch_responses(self, tenant_id: str, after: str | None = None) -> list[MailboxItem]:
        """List the mailbox after ``after`` and download each file."""
        listing = await self._request("GET", self._mailbox_path, params=self._params(tenant_id, after=after))
        page: _MailboxPage = self._json(listing, _MailboxPage)
        items = []
        for entry in page.items:
            content = await self._request("GET", f"{self._mailbox_path}/{entry.id}", params=self._params(tenant_id))
            items.append(
                MailboxItem(
                    id=entry.id,
                    kind=entry.kind,
                    filename=entry.filename,
                    created_at=entry.created_at,
                    cursor=entry.cursor,
                    content=content.content,
                )
            )
        return items

    async def acknowledge(self, tenant_id: str, item_ids: Sequence[str]) -> None:
        """Nothing to do: the cursor already says how far the caller got."""

    async def eligibility(self, tenant_id: str, x12_270: bytes, timeout_seconds: float) -> bytes:
        """POST the 270 and return the 271 bytes."""
        return await self._real_time(self._eligibility_path, tenant_id, x12_270, timeout_seconds)

    async def claim_status(self, tenant_id: str, x12_276: bytes, timeout_seconds: float) -> bytes:
        """POST the 276 and return the 277 bytes."""
        return await self._real_time(self._claim_status_path, tenant_id, x12_276, timeout_seconds)

    async def _real_time(self, path: str, tenant_id: str, x12: bytes, timeout_seconds: float) -> bytes:
        response = await self._request(
            "POST",
            path,
            params=self._params(tenant_id),
            content=x12,
            headers={"Content-Type": X12_MEDIA_TYPE, "Accept": X12_MEDIA_TYPE},
            timeout_seconds=timeout_seconds,
        )
        return response.content

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._pool.aclose()


class SandboxConnector(HttpsX12Connector):
    """The payer-sandbox over HTTP (plain HTTP is fine: it is a local test and demo tool, never production)."""

    kind = "sandbox"

    def __init__(self, base_url: str, *, timeout_seconds: float = 30.0) -> None:
        super().__init__(
            base_url,
            submit_path="/v1/submissions",
            mailbox_path="/v1/mailbox",
            eligibility_path="/v1/eligibility",
            claim_status_path="/v1/claim-status",
            tenant_parameter="tenant",
            timeout_seconds=timeout_seconds,
        )
