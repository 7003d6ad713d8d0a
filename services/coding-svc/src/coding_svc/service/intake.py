"""Encounter intake and coding finalization: the handlers HTTP routes (and later consumers) call."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence, Set
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_events import EncounterReceived
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal
from claimflow_kit.context import correlation_id_var
from claimflow_kit.errors import ClaimFlowError, InvalidInput, NotFound
from claimflow_kit.identifiers import new_id, patient_reference
from claimflow_kit.outbox import Outbox
from claimflow_kit.tables import utcnow
from coding_svc.adapters.repositories import EncounterRepository
from coding_svc.adapters.tables import Encounter
from coding_svc.api.schemas import EncounterIn
from coding_svc.service.common import (
    EncounterStatus,
    encounter_correlation_id,
    service_lines,
)
from coding_svc.service.edits import EditEngine
from coding_svc.service.review import code_or_queue, supersede_work_item


def _check_coverage_order(document: EncounterIn) -> None:
    """Other plans follow a primary payer, each order once, a tertiary only after a secondary."""
    sequences = [c.payer_sequence for c in document.other_coverages]
    if not sequences:
        return
    if not document.payer_id:
        raise InvalidInput("other_coverages need the primary payer_id")
    if len(set(sequences)) != len(sequences):
        raise InvalidInput("other_coverages name the same payer_sequence twice")
    if "tertiary" in sequences and "secondary" not in sequences:
        raise InvalidInput("a tertiary coverage needs a secondary coverage")


def check_document(document: EncounterIn) -> None:
    """The business rules an encounter document must meet before anything is stored (raises InvalidInput)."""
    if document.date_of_service_to and document.date_of_service_to < document.date_of_service:
        raise InvalidInput("date_of_service_to is before date_of_service")
    _check_coverage_order(document)


async def receive_encounter(
    session: AsyncSession, outbox: Outbox, principal: Principal, document: EncounterIn, edits: EditEngine
) -> tuple[Encounter, bool]:
    """Store an EHR encounter, announce it and run the coding edits; returns (encounter, created).

    The same document sent again returns the stored version unchanged; a changed document under the same
    EHR encounter id becomes a new version that supersedes the previous one (and its open work item).
    A clean encounter is coded at once; one with errors goes to the coder work queue.
    """
    check_document(document)
    previous = await EncounterRepository(session, principal.tenant_id).current(
        document.practice_id, document.ehr_encounter_id
    )
    return await _store(session, outbox, principal, document, edits, previous)


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one document of a batch: stored (new or unchanged), or refused with the reason."""

    encounter: Encounter | None
    created: bool
    error: ClaimFlowError | None


async def receive_encounters(
    session: AsyncSession,
    outbox: Outbox,
    principal: Principal,
    documents: Sequence[EncounterIn],
    edits: EditEngine,
    practice_ids: Set[str],
) -> list[BatchOutcome]:
    """Receive a batch of EHR encounters in the caller's transaction, in order; one outcome per document.

    A document that names a practice not in ``practice_ids`` or breaks a business rule is refused on its own, before
    anything of it is written; the others are received as ``receive_encounter`` receives one. The same encounter
    twice in a batch is received twice, in order: unchanged the second time, or a new version if it changed.
    """
    outcomes: list[BatchOutcome] = []
    # The versions already stored, read at once: a read per document also wrote the one before (the ORM flushes
    # before it reads), an INSERT per encounter instead of one for the batch.
    keys = [(d.practice_id, d.ehr_encounter_id) for d in documents]
    current = await EncounterRepository(session, principal.tenant_id).currents(keys)
    for key, document in zip(keys, documents, strict=True):
        try:
            if document.practice_id not in practice_ids:
                raise NotFound("Practice", document.practice_id)
            check_document(document)
        except ClaimFlowError as error:
            outcomes.append(BatchOutcome(None, False, error))
            continue
        encounter, created = await _store(session, outbox, principal, document, edits, current.get(key))
        current[key] = encounter
        outcomes.append(BatchOutcome(encounter, created, None))
    return outcomes


async def _store(
    session: AsyncSession,
    outbox: Outbox,
    principal: Principal,
    document: EncounterIn,
    edits: EditEngine,
    previous: Encounter | None,
) -> tuple[Encounter, bool]:
    repository = EncounterRepository(session, principal.tenant_id)
    body = document.model_dump(mode="json")
    # Fields added later are left out while empty, so a document keeps the fingerprint it always had.
    if not document.other_coverages:
        del body["other_coverages"]
    if document.institutional is None:
        del body["institutional"]
    if document.ehr_guarantor_id is None:
        del body["ehr_guarantor_id"]
    if document.guarantor is None:
        del body["guarantor"]
    for line in body["lines"]:
        if line["revenue_code"] is None:
            del line["revenue_code"]
    content_sha256 = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    if previous is not None and previous.content_sha256 == content_sha256:
        return previous, False
    if previous is not None:
        previous.is_current = False
        previous.status = EncounterStatus.SUPERSEDED
        previous.updated_at = utcnow()
        repository.add(previous)
        await supersede_work_item(session, principal.tenant_id, previous.id)
        await session.flush()
    patient_id = patient_reference(principal.tenant_id, document.practice_id, document.patient.ehr_patient_id)
    encounter = repository.add(
        Encounter(
            id=new_id("enc"),
            tenant_id=principal.tenant_id,
            practice_id=document.practice_id,
            ehr_encounter_id=document.ehr_encounter_id,
            version=(previous.version + 1) if previous else 1,
            content_sha256=content_sha256,
            patient_id=patient_id,
            payer_id=document.payer_id,
            date_of_service=document.date_of_service,
            status=EncounterStatus.RECEIVED,
            document=body,
        )
    )
    audit(session, principal, AuditAction.CREATE, "Encounter", encounter.id, patient_id=patient_id)
    outbox.add(
        session,
        EncounterReceived(
            encounter_id=encounter.id,
            encounter_version=encounter.version,
            practice_id=document.practice_id,
            ehr_encounter_id=document.ehr_encounter_id,
            patient_id=patient_id,
            payer_id=document.payer_id,
            date_of_service=document.date_of_service,
            date_of_service_to=document.date_of_service_to,
            place_of_service=document.place_of_service,
            claim_kind=document.claim_kind,
            rendering_provider_npi=document.rendering_provider_npi,
            billing_provider_npi=document.billing_provider_npi,
            diagnosis_codes=tuple(document.diagnoses),
            service_lines=service_lines(document),
        ),
        tenant_id=principal.tenant_id,
        correlation_id=encounter_correlation_id(principal.tenant_id, document.practice_id, document.ehr_encounter_id),
        causation_id=correlation_id_var.get(),
    )
    await code_or_queue(session, outbox, principal, encounter, document, edits.evaluate(document))
    return encounter, True
