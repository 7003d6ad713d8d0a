"""The event contract: committed schemas match the models, changes are checked for compatibility."""

from __future__ import annotations

import copy
import json
import time
import uuid
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from claimflow_events import (
    ALL_PAYLOADS,
    EncounterCoded,
    EventCatalog,
    EventContractError,
    EventEnvelope,
    PaymentPosted,
    ServiceLine,
    Topic,
    default_catalog,
    uuid7,
)
from claimflow_events.payloads import EventPayload
from claimflow_events.schema import (
    asyncapi_document,
    check_compatible,
    contract_dir,
    generated_files,
    payload_schema,
    schema_path,
)
from claimflow_kit.identifiers import new_id

REQUIRED_EVENTS = {
    "encounter-received",
    "eligibility-checked",
    "encounter-coded",
    "coding-review-required",
    "claim-submitted",
    "claim-accepted",
    "claim-rejected",
    "claim-denied",
    "payment-posted",
    "patient-balance-updated",
}


def test_catalog_covers_the_claim_lifecycle() -> None:
    assert {payload.event_type for payload in ALL_PAYLOADS} >= REQUIRED_EVENTS


def test_committed_contract_matches_the_models() -> None:
    """Fails when a payload model changed without regenerating (`claimflow events schemas --write`)."""
    root = contract_dir()
    problems = []
    for relative, text in generated_files(default_catalog()).items():
        committed = root / relative
        if not committed.exists():
            problems.append(f"{relative}: not committed")
            continue
        if committed.read_text() == text:
            continue
        incompatible = check_compatible(json.loads(committed.read_text()), json.loads(text))
        verdict = "; ".join(map(str, incompatible)) if incompatible else "compatible, regenerate"
        problems.append(f"{relative}: drifted ({verdict})")
    assert not problems, "\n".join(problems)


def test_every_committed_version_stays_readable() -> None:
    """Older committed schema versions must have an upcaster chain to the current version."""
    catalog = default_catalog()
    for name, payload_type in catalog.payloads.items():
        folder = schema_path(contract_dir(), payload_type).parent
        versions = sorted(int(p.stem[1:]) for p in folder.glob("v*.json"))
        assert versions[-1] == payload_type.schema_version, name
        for version in versions[:-1]:
            assert (name, version) in catalog.upcasters, f"{name} v{version} has no upcaster"


def _lines() -> tuple[ServiceLine, ...]:
    return (ServiceLine(line_number=1, procedure_code="99213", units=Decimal(1), charge=Decimal("125.5")),)


def test_payloads_are_frozen_and_money_travels_as_strings() -> None:
    payment = PaymentPosted(
        claim_id="clm_1",
        patient_control_number="PCN1",
        payer_id="P1",
        era_id="era_1",
        trace_number="T1",
        claim_status_code="1",
        total_charge=Decimal("200"),
        paid_amount=Decimal("150.5"),
        patient_responsibility=Decimal("49.50"),
        posted_at="2026-11-20T10:00:00Z",
    )
    with pytest.raises(ValidationError):
        payment.paid_amount = Decimal(0)  # type: ignore[misc]
    data = payment.model_dump(mode="json")
    assert data["paid_amount"] == "150.50"
    assert data["patient_responsibility"] == "49.50"
    assert PaymentPosted.model_validate(data) == payment


def test_envelope_round_trip_and_routing() -> None:
    catalog = default_catalog()
    payload = EncounterCoded(
        encounter_id="enc_1",
        encounter_version=1,
        practice_id="prac_1",
        patient_id="pat_1",
        date_of_service=date(2026, 11, 2),
        place_of_service="11",
        rendering_provider_npi="1234567893",
        billing_provider_npi="1234567893",
        diagnosis_codes=("J20.9",),
        service_lines=_lines(),
        coded_by="coder-1",
        coded_at="2026-11-02T12:00:00Z",
    )
    envelope = catalog.envelope(payload, tenant_id="t1", source="/claimflow/test", correlation_id="cor_1")
    assert envelope.type == "claimflow.encounter-coded"
    assert envelope.subject == "enc_1"
    assert envelope.specversion == "1.0"
    assert catalog.topic_of(envelope.type) is Topic.ENCOUNTERS
    wire = EventEnvelope.from_json_bytes(envelope.to_json_bytes())
    assert wire == envelope  # built without a second validation, it is what validation makes of its own JSON
    assert wire.to_json_bytes() == envelope.to_json_bytes()
    assert catalog.payload(wire) == payload
    for missing in ({"tenant_id": ""}, {"correlation_id": ""}):
        arguments = {"tenant_id": "t1", "source": "/claimflow/test", "correlation_id": "cor_1"} | missing
        with pytest.raises(EventContractError) as incomplete:
            catalog.envelope(payload, **arguments)
        assert incomplete.value.code == "IncompleteEnvelope"


def test_event_ids_are_time_ordered_uuids_of_version_7() -> None:
    before_ms = time.time_ns() // 1_000_000
    ids = [uuid7() for _ in range(20_000)]
    after_ms = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    stamps = [i.int >> 80 for i in ids]  # the first 48 bits: Unix time in milliseconds
    assert before_ms <= stamps[0]
    assert stamps[-1] <= after_ms
    assert stamps == sorted(stamps)  # later ids sort after earlier ones (ties within a millisecond are random)
    assert len({i.int & ((1 << 62) - 1) for i in ids}) == len(ids)  # the random part varies
    envelope = EventEnvelope(
        source="/claimflow/test",
        type="claimflow.x",
        subject="s",
        tenantid="t",
        correlationid="c",
        schemaversion=1,
        data={},
    )
    assert envelope.id.version == 7
    row_id = new_id("clm")
    assert row_id.startswith("clm_")
    assert uuid.UUID(hex=row_id[4:]).version == 7


def test_unknown_type_and_newer_version_are_contract_errors() -> None:
    catalog = default_catalog()
    base = {"source": "/x", "subject": "s", "tenantid": "t", "correlationid": "c", "data": {}}
    with pytest.raises(EventContractError) as unknown:
        catalog.payload(EventEnvelope(type="claimflow.no-such-event", schemaversion=1, **base))
    assert unknown.value.code == "UnknownEventType"
    with pytest.raises(EventContractError) as newer:
        catalog.payload(EventEnvelope(type="claimflow.encounter-coded", schemaversion=99, **base))
    assert newer.value.code == "UnknownSchemaVersion"
    with pytest.raises(EventContractError) as invalid:
        catalog.payload(EventEnvelope(type="claimflow.encounter-coded", schemaversion=1, **base))
    assert invalid.value.code == "InvalidPayload"


class WidgetV2(EventPayload):
    """Test event at version 2: v1 had ``name``; v2 splits it and adds a required ``kind``."""

    event_type: ClassVar[str] = "widget-made"
    schema_version: ClassVar[int] = 2
    topic: ClassVar[Topic] = Topic.CLAIMS
    aggregate_field: ClassVar[str] = "widget_id"

    widget_id: str
    label: str
    kind: str


def test_upcasters_lift_old_versions_to_the_current_model() -> None:
    catalog = EventCatalog.of([WidgetV2])

    def v1_to_v2(data: Any) -> dict[str, Any]:
        return {"widget_id": data["widget_id"], "label": data["name"], "kind": "standard"}

    old = EventEnvelope(
        source="/x",
        type="claimflow.widget-made",
        subject="w1",
        tenantid="t",
        correlationid="c",
        schemaversion=1,
        data={"widget_id": "w1", "name": "Old"},
    )
    with pytest.raises(EventContractError) as missing:
        catalog.payload(old)
    assert missing.value.code == "MissingUpcaster"
    catalog.register_upcaster("claimflow.widget-made", 1, v1_to_v2)
    assert catalog.payload(old) == WidgetV2(widget_id="w1", label="Old", kind="standard")


def _schema() -> dict[str, Any]:
    return copy.deepcopy(payload_schema(PaymentPosted))


def test_compatibility_checker_accepts_additive_changes() -> None:
    old = _schema()
    new = _schema()
    new["properties"]["note"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    new["$defs"]["ClaimAdjustmentGroup"]["enum"].append("XX")
    assert check_compatible(old, new) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s["properties"].pop("trace_number"), "$.trace_number: field removed"),
        (lambda s: s["required"].append("crossed_over_to"), "$.crossed_over_to: field became required"),
        (
            lambda s: (s["properties"].__setitem__("new_field", {"type": "string"}), s["required"].append("new_field")),
            "$.new_field: new required field",
        ),
        (lambda s: s["properties"].__setitem__("paid_amount", {"type": "number"}), "$.paid_amount: type"),
        (lambda s: s["$defs"]["ClaimAdjustmentGroup"]["enum"].remove("CR"), "enum no longer accepts ['CR']"),
        (lambda s: s["properties"]["total_charge"].__setitem__("pattern", "^[0-9]+$"), "pattern changed"),
    ],
)
def test_compatibility_checker_rejects_breaking_changes(change: Any, expected: str) -> None:
    old = _schema()
    new = _schema()
    change(new)
    problems = [str(p) for p in check_compatible(old, new)]
    assert any(expected in p for p in problems), problems


def test_asyncapi_lists_every_event_on_its_topic() -> None:
    document = asyncapi_document(default_catalog())
    assert document["asyncapi"].startswith("3.")
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {t.value for t in Topic}
    assert set(document["components"]["messages"]) == {p.event_type for p in ALL_PAYLOADS}
    claims = document["channels"]["claimflow-claims"]["messages"]
    assert "payment-posted" in claims
    assert "claim-denied" in claims
