"""No PHI from the fixtures reaches the logs, whatever the services and workers log along the way."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from claimflow.testing import Stack, encounter_body, json_list
from claimflow_kit.directory import Role
from claimflow_kit.logging import phi_safe_handler, redact_value
from claimflow_kit.testing import eventually

pytestmark = pytest.mark.integration

PATIENT = {
    "ehr_patient_id": "P-phi-1",
    "first_name": "Zebediah",
    "last_name": "Quuxington",
    "birth_date": "1961-07-14",
    "sex": "M",
    "member_id": "MBR99887766",
}
PHI_VALUES = ["Zebediah", "Quuxington", "1961-07-14", "MBR99887766"]


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged (DEBUG and up) through the production PHI-safe JSON handler."""
    stream = io.StringIO()
    handler = phi_safe_handler("test", stream)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


async def test_no_phi_in_logs_across_the_pipeline(stack: Stack, captured_logs: io.StringIO) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    body = encounter_body(tenant, patient=PATIENT)
    posted = await coding.post("/v1/encounters", json=body, headers=tenant.headers(Role.EHR_INTEGRATION))
    assert posted.status_code == 201
    encounter_id = posted.json()["id"]
    read = await coding.get(f"/v1/encounters/{encounter_id}", headers=tenant.headers(Role.CODER))
    assert read.json()["document"]["patient"]["last_name"] == "Quuxington"  # PHI is served to the allowed
    bad = await coding.post(
        "/v1/encounters",
        json={**body, "patient": {**PATIENT, "sex": "Quuxington"}},
        headers=tenant.headers(Role.EHR_INTEGRATION),
    )
    assert bad.status_code == 422
    await coding.post(f"/v1/encounters/{encounter_id}/finalize", headers=tenant.headers(Role.CODER))

    async def claimed() -> list[dict[str, Any]]:
        return await json_list(
            stack.client("claims-svc"), f"/v1/claims?encounter_id={encounter_id}", tenant.headers(Role.BILLER)
        )

    await eventually(claimed)
    logging.getLogger("claimflow.test").info(
        "a careless log line", extra={"patient": PATIENT, "note": "seen Zebediah Quuxington DOB 07/14/1961"}
    )
    output = captured_logs.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert any(line["message"].startswith("POST /v1/encounters") for line in lines), "the flow was logged"
    assert any("correlation_id" in line for line in lines)
    leaked = [value for value in PHI_VALUES if value in output]
    assert leaked == [], [line for line in output.splitlines() if any(v in line for v in leaked)]


def test_redaction_rules() -> None:
    assert redact_value({"member_id": "X1", "nested": {"last_name": "Doe", "code": "J20.9"}}) == {
        "member_id": "[REDACTED]",
        "nested": {"last_name": "[REDACTED]", "code": "J20.9"},
    }
    x12 = "NM1*IL*1*DOE*JANE****MI*W123~DMG*D8*19800203*F~CLM*PCN1*100***11:B:1~"
    redacted = redact_value(x12)
    assert "DOE" not in redacted
    assert "19800203" not in redacted
    assert "CLM*PCN1*100" in redacted
    assert redact_value("call 555-123-4567 or jane@example.com, SSN 123-45-6789") == (
        "call [REDACTED] or [REDACTED], SSN [REDACTED]"
    )
