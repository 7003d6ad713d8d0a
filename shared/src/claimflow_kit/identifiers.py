"""Identifiers every service derives the same way (so events from different services name the same patient)."""

from __future__ import annotations

import hashlib


def patient_reference(tenant_id: str, practice_id: str, ehr_patient_id: str) -> str:
    """Stable ClaimFlow patient id derived from the EHR's id (no demographics in it)."""
    digest = hashlib.sha256(f"{tenant_id}|{practice_id}|{ehr_patient_id}".encode()).hexdigest()
    return f"pat_{digest[:24]}"
