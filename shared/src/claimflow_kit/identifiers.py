"""Identifiers every service derives the same way (so events from different services name the same patient)."""

from __future__ import annotations

import hashlib

from claimflow_events import uuid7


def patient_reference(tenant_id: str, practice_id: str, ehr_patient_id: str) -> str:
    """Stable ClaimFlow patient id derived from the EHR's id (no demographics in it)."""
    digest = hashlib.sha256(f"{tenant_id}|{practice_id}|{ehr_patient_id}".encode()).hexdigest()
    return f"pat_{digest[:24]}"


def card_holder_reference(
    tenant_id: str, payer_id: str, member_id: str | None, last_name: str, first_name: str, birth_date: str
) -> str:
    """Stable guarantor id of a plan's card holder the EHR gave no id of: their plan, member id, name and birth date.

    Two dependents on one card get the same id (one statement for the family); anything that differs (another
    member id, a misspelled name) gives another account rather than merging two people's bills.
    """
    key = "|".join(
        (tenant_id, payer_id, member_id or "", last_name.strip().upper(), first_name.strip().upper(), birth_date)
    )
    return f"gtr_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def new_id(prefix: str) -> str:
    """A new row id: ``<prefix>_`` and 32 hex digits of a time-ordered UUID (version 7), so inserts append to the
    table's key index instead of landing on a random page of it (see ``claimflow_events.uuid7``)."""
    return f"{prefix}_{uuid7().hex}"
