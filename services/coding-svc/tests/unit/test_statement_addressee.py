"""Whom a guarantor's statements are addressed to, as coding-svc resolves it from the EHR's encounter."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from claimflow_events import Addressee, PostalAddress
from coding_svc.api.schemas import EncounterIn
from coding_svc.service.common import statement_addressee

HOME = {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "62701"}
PATIENT = {"ehr_patient_id": "P-9", "first_name": "Lucas", "last_name": "Lopez", "birth_date": "2015-07-20",
           "sex": "M", "member_id": "W123456789", "address": HOME}  # fmt: skip
MOTHER = {"relationship": "19", "first_name": "Maria", "last_name": "Lopez", "birth_date": "1984-03-09", "sex": "F"}


def document(**extra: Any) -> EncounterIn:
    return EncounterIn.model_validate(
        {
            "practice_id": "prc_1",
            "ehr_encounter_id": "E-1",
            "patient": PATIENT,
            "payer_id": "60054",
            "date_of_service": "2026-11-02",
            "place_of_service": "11",
            "rendering_provider_npi": "1234567893",
            "billing_provider_npi": "1234567893",
            "diagnoses": ["J20.9"],
            "lines": [{"procedure_code": "99213", "diagnosis_pointers": [1], "charge": "125.00"}],
            **extra,
        }
    )


def test_the_patient_is_addressed_when_they_answer_for_their_own_balance() -> None:
    expected = Addressee(first_name="Lucas", last_name="Lopez", address=PostalAddress(**HOME))
    assert statement_addressee(document()) == expected
    assert statement_addressee(document(ehr_guarantor_id="P-9", subscriber=MOTHER)) == expected


def test_a_dependents_card_holder_is_addressed_with_the_address_the_ehr_gave_for_them() -> None:
    assert statement_addressee(document(subscriber=MOTHER)) == Addressee(first_name="Maria", last_name="Lopez")
    moved = {**MOTHER, "address": {**HOME, "line1": "9 Pine Ct"}}
    addressee = statement_addressee(document(subscriber=moved))
    assert addressee is not None
    assert addressee.address is not None
    assert addressee.address.line1 == "9 Pine Ct"


def test_a_named_guarantor_is_addressed_only_when_the_ehr_says_who_they_are() -> None:
    assert statement_addressee(document(ehr_guarantor_id="G-GRANDMA", subscriber=MOTHER)) is None
    grandma = {"first_name": "Elena", "last_name": "Diaz", "address": {**HOME, "line2": "Unit 2"}}
    addressee = statement_addressee(document(ehr_guarantor_id="G-GRANDMA", guarantor=grandma, subscriber=MOTHER))
    assert addressee == Addressee(
        first_name="Elena", last_name="Diaz", address=PostalAddress(**{**HOME, "line2": "Unit 2"})
    )


def test_a_guarantor_without_the_account_it_answers_for_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs `ehr_guarantor_id`"):
        document(guarantor={"first_name": "Elena", "last_name": "Diaz"})
