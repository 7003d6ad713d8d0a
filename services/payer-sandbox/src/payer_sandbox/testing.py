"""Test helpers for the sandbox: an HTTP client that speaks X12 to it and checks every file it answers with.

Used by the sandbox's own tests (import ``sandbox_fixture`` into a test module to get the ``sandbox`` fixture);
other services' end-to-end tests may use it to drive a sandbox too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from claimflow_x12 import parse, validate
from claimflow_x12.guides.claim_ack_277ca import AcknowledgedClaim, ClaimAcknowledgment277CA, iter_acknowledged_claims
from claimflow_x12.guides.claim_status_276_277 import (
    ClaimStatusRequest276,
    ClaimStatusResponse277,
    ReportedClaim,
    iter_claim_statuses,
)
from claimflow_x12.guides.eligibility_270_271 import EligibilityResponse271, MemberEligibility, summarize_eligibility
from claimflow_x12.guides.remittance_835 import Remittance835
from claimflow_x12.transaction import Transaction
from payer_sandbox.config import SandboxSettings
from payer_sandbox.samples import ClaimRequest, claim_837p, inquiry_270, to_x12

__all__ = ["TENANT", "TODAY", "SandboxClient", "sandbox_fixture", "sandbox_settings"]

TODAY = date(2025, 3, 3)
TENANT = "tenant-a"


@dataclass
class SandboxClient:
    """Talks X12 to a sandbox app and checks that everything it answers parses and validates."""

    http: httpx.AsyncClient
    app: FastAPI
    sequence: int = 0

    async def eligibility(self, *args: Any, **kwargs: Any) -> list[MemberEligibility]:
        """Send a 270 built by ``inquiry_270`` and summarize the 271."""
        response = await self.http.post("/v1/eligibility", content=to_x12([inquiry_270(*args, **kwargs)]))
        assert response.status_code == 200, response.text
        result = parse(response.content)
        assert validate(result) == []
        (answer,) = result.transactions
        assert isinstance(answer, EligibilityResponse271)
        return list(summarize_eligibility(answer))

    async def claim_status(self, request: ClaimStatusRequest276, tenant: str = TENANT) -> list[ReportedClaim]:
        """Send a 276 in real time; return the 277's claim statuses (the 277 checked to parse and validate)."""
        self.sequence += 1
        body = to_x12([request], control_number=self.sequence)
        response = await self.http.post("/v1/claim-status", params={"tenant": tenant}, content=body)
        assert response.status_code == 200, response.text
        result = parse(response.content)
        assert result.errors == []
        assert validate(result) == []
        (answer,) = result.transactions
        assert isinstance(answer, ClaimStatusResponse277)
        return list(iter_claim_statuses(answer))

    async def submit(self, claims: Sequence[ClaimRequest], tenant: str = TENANT, **kwargs: Any) -> dict[str, Any]:
        """Submit one 837P with these claims; return the receipt."""
        self.sequence += 1
        body = to_x12([claim_837p(claims, **kwargs)], control_number=self.sequence)
        return await self.submit_bytes(body, f"file{self.sequence}.837", tenant)

    async def submit_bytes(self, body: bytes, filename: str, tenant: str = TENANT) -> dict[str, Any]:
        """Submit raw bytes; return the receipt."""
        response = await self.http.post(
            "/v1/submissions", params={"tenant": tenant}, content=body, headers={"X-Filename": filename}
        )
        assert response.status_code == 202, response.text
        receipt: dict[str, Any] = response.json()
        return receipt

    async def advance(self, days: int) -> dict[str, Any]:
        """Move the payer clock."""
        response = await self.http.post("/v1/clock/advance", json={"days": days})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def files(self, kind: str, tenant: str = TENANT) -> list[bytes]:
        """Every mailbox file of a kind (999, 277CA, 835), each checked to parse and validate cleanly."""
        listing = await self.http.get("/v1/mailbox", params={"tenant": tenant, "limit": 500})
        assert listing.status_code == 200, listing.text
        contents = []
        for item in listing.json()["items"]:
            if item["kind"] != kind:
                continue
            response = await self.http.get(f"/v1/mailbox/{item['id']}", params={"tenant": tenant})
            assert response.status_code == 200
            errors = validate(parse(response.content))
            assert errors == [], [e.message for e in errors]
            contents.append(response.content)
        return contents

    async def transactions(self, kind: str, tenant: str = TENANT) -> list[Transaction]:
        """Typed transactions of every mailbox file of a kind."""
        return [t for content in await self.files(kind, tenant) for t in parse(content).transactions]

    async def acknowledged(self, tenant: str = TENANT) -> dict[str, AcknowledgedClaim]:
        """277CA claim acknowledgments by patient control number."""
        found = {}
        for transaction in await self.transactions("277CA", tenant):
            assert isinstance(transaction, ClaimAcknowledgment277CA)
            for claim in iter_acknowledged_claims(transaction):
                found[claim.patient_control_number] = claim
        return found

    async def remittances(self, tenant: str = TENANT) -> list[Remittance835]:
        """Every 835 ERA delivered so far."""
        found = []
        for transaction in await self.transactions("835", tenant):
            assert isinstance(transaction, Remittance835)
            found.append(transaction)
        return found


def sandbox_settings(seed: int = 7) -> SandboxSettings:
    """Settings with a fixed clock so files are reproducible."""
    return SandboxSettings(seed=seed, clock_start=TODAY, subscribers_per_payer=20)


@pytest_asyncio.fixture(loop_scope="session", name="sandbox")
async def sandbox_fixture() -> AsyncIterator[SandboxClient]:
    """A fresh sandbox (seed 7, clock 2025-03-03) behind an in-process HTTP client."""
    from payer_sandbox.main import create_app

    app = create_app(sandbox_settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as http:
        yield SandboxClient(http, app)
