"""The 270 ClaimFlow writes (valid per the guide, dependent under the subscriber) and reading 271s back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from claimflow_x12 import Envelope, parse, validate, write_interchange
from claimflow_x12.guides.eligibility_270_271 import EligibilityInquiry270
from eligibility_svc.domain.inquiry import EligibilityQuery, Invalid271, Person, build_270, read_271
from eligibility_svc.domain.results import CoverageStatus, result_from_271
from eligibility_svc.service.checks import query_from_json, query_to_json, result_from_json, result_to_json

SAMPLES = Path(__file__).parents[4] / "shared" / "tests" / "x12" / "samples"
MARIA = Person("Maria", "Lopez", date(1984, 3, 9), "F", "W123456789")
LUCAS = Person("Lucas", "Lopez", date(2015, 7, 20), "M")


def query(dependent: Person | None = None) -> EligibilityQuery:
    return EligibilityQuery(
        payer_id="60054",
        payer_name="Sandbox Commercial",
        provider_npi="1234567893",
        provider_name="Main St Clinic",
        subscriber=MARIA,
        dependent=dependent,
        date_of_service=date(2026, 11, 2),
        service_types=("30", "98"),
    )


def written(q: EligibilityQuery) -> str:
    envelope = Envelope(
        sender_id="CLAIMFLOW", receiver_id="60054", interchange_control_number=7, group_control_number=7,
        transaction_control_numbers=[1], created_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
    )  # fmt: skip
    return write_interchange(
        envelope, [build_270(q, trace="T1", trace_originator="9CLAIMFLOW", created_at=envelope.created_at)]
    )


@pytest.mark.parametrize("dependent", [None, LUCAS], ids=["subscriber", "dependent"])
def test_the_270_is_valid_and_asks_about_the_right_person(dependent: Person | None) -> None:
    text = written(query(dependent))
    result = parse(text)
    assert result.errors == []
    assert validate(result) == []
    (transaction,) = result.transactions
    assert isinstance(transaction, EligibilityInquiry270)
    subscriber = transaction.sources[0].receivers[0].subscribers[0]
    assert subscriber.subscriber.name.identifier == "W123456789"
    if dependent is None:
        assert subscriber.dependents == []
        assert subscriber.inquiries[0].inquiry.service_type_codes == ["30", "98"]
        assert subscriber.traces[0].reference_id == "T1"
    else:
        (loop,) = subscriber.dependents
        assert loop.dependent.name.first_name == "LUCAS"
        assert loop.dependent.name.identifier is None, "a dependent is found under the subscriber's id"
        assert loop.traces[0].reference_id == "T1"
        assert subscriber.inquiries == []


def test_the_271_member_is_read_and_a_file_that_is_not_a_271_is_refused() -> None:
    text = (SAMPLES / "271_benefits_and_errors.x12").read_text()
    read = read_271(text, dependent=False)
    assert read.member is not None
    assert result_from_271(read.member).status is CoverageStatus.ACTIVE
    with pytest.raises(Invalid271):
        read_271((SAMPLES / "999_accepted.x12").read_text(), dependent=False)


def test_stored_forms_round_trip() -> None:
    q = query(LUCAS)
    assert query_from_json(query_to_json(q)) == q
    read = read_271((SAMPLES / "271_benefits_and_errors.x12").read_text(), dependent=False)
    assert read.member is not None
    result = result_from_271(read.member)
    assert result_from_json(result_to_json(result)) == result
