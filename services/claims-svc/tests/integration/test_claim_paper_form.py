"""A claim printed on CMS-1500 forms through the API."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from claimflow.testing import Stack, encounter_body, json_list
from claimflow_kit.directory import Role
from claimflow_kit.testing import eventually

pytestmark = pytest.mark.integration


async def test_the_claim_prints_on_a_cms1500_for_its_own_tenant_only(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    body = encounter_body(tenant, date_of_service="2026-11-16", group_number="GRP60054A")
    posted = await stack.client("coding-svc").post(
        "/v1/encounters", json=body, headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert posted.status_code == 201, posted.text

    async def built() -> dict[str, Any] | None:
        claims = await json_list(
            stack.client("claims-svc"), f"/v1/claims?encounter_id={posted.json()['id']}", tenant.headers(Role.BILLER)
        )
        return claims[0] if claims else None

    claim = await eventually(built)
    response = await stack.client("claims-svc").get(
        f"/v1/claims/{claim['id']}/cms1500.pdf", headers=tenant.headers(Role.BILLER)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    for expected in ("LOPEZ, MARIA", "W123456789", "A. J20.9", "99213", claim["patient_control_number"], "125.00"):
        assert expected in text, expected

    stranger = await stack.create_tenant()
    hidden = await stack.client("claims-svc").get(
        f"/v1/claims/{claim['id']}/cms1500.pdf", headers=stranger.headers(Role.BILLER)
    )
    assert hidden.status_code == 404
