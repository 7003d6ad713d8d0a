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

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from claimflow_connect.errors import ConnectorRejected, ConnectorTimeout, ConnectorUnavailable
from claimflow_connect.models import MailboxItem, ResponseKind, SubmissionReceipt

__all__ = ["X12_MEDIA_TYPE", "HttpsX12Connector", "SandboxConnector"]

X12_MEDIA_TYPE = "application/edi-x12"
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


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


class HttpsX12Connector:
    """Exchanges X12 with an HTTP endpoint that follows the contract above (auth header optional)."""

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
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._submit_path = submit_path
        self._mailbox_path = mailbox_path.rstrip("/")
        self._eligibility_path = eligibility_path
        self._claim_status_path = claim_status_path
        self._tenant_parameter = tenant_parameter
        self._timeout = timeout_seconds
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient()
        self._base_url = base_url.rstrip("/")
        self._headers = dict(headers or {})

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
    ) -> httpx.Response:
        """One HTTP exchange with transport failures and error statuses turned into connector errors."""
        url = f"{self._base_url}{path}"
        all_headers = {**self._headers, **(headers or {})}
        limit = timeout_seconds or self._timeout
        try:
            response = await self._client.request(
                method, url, params=params, content=content, headers=all_headers, timeout=limit
            )
        except httpx.TimeoutException as exc:
            raise ConnectorTimeout(f"{method} {path}: no answer within {limit}s") from exc
        except httpx.TransportError as exc:
            raise ConnectorUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if response.status_code in _RETRYABLE:
            raise ConnectorUnavailable(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ConnectorRejected(
                f"{method} {path}: HTTP {response.status_code}: {response.text[:500]}", status_code=response.status_code
            )
        return response

    @staticmethod
    def _json(response: httpx.Response, model: type[Any]) -> Any:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise ConnectorUnavailable(f"unexpected answer from {response.request.url.path}: {exc}") from exc

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
        """Close the HTTP client if this connector created it."""
        if self._owns_client:
            await self._client.aclose()


class SandboxConnector(HttpsX12Connector):
    """The payer-sandbox over HTTP (plain HTTP is fine: it is a local test and demo tool, never production)."""

    kind = "sandbox"

    def __init__(
        self, base_url: str, *, timeout_seconds: float = 30.0, client: httpx.AsyncClient | None = None
    ) -> None:
        super().__init__(
            base_url,
            submit_path="/v1/submissions",
            mailbox_path="/v1/mailbox",
            eligibility_path="/v1/eligibility",
            claim_status_path="/v1/claim-status",
            tenant_parameter="tenant",
            timeout_seconds=timeout_seconds,
            client=client,
        )
