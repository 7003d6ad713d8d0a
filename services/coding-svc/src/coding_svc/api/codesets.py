"""HTTP routes for code sets: which versions are loaded, ICD-10-CM search and note-based suggestions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from claimflow_kit.app import ContextDep, SessionDep
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from claimflow_kit.errors import InvalidInput, NotFound
from coding_svc.adapters.repositories import EncounterRepository
from coding_svc.api.deps import CodeSetsDep
from coding_svc.api.schemas import EncounterIn
from coding_svc.codesets.versioning import CodeSetNotInForce, Dated
from coding_svc.domain.suggest import CodeSuggestion
from coding_svc.service.codesets import list_releases
from coding_svc.service.edits import blocking

router = APIRouter(prefix="/v1", tags=["code sets"])

T = TypeVar("T")

CODE_READERS = (Role.CODER, Role.BILLER)


class CodeSetVersionOut(BaseModel):
    """One loaded version of a code set and the dates it applies to."""

    kind: str
    version: str
    effective_from: dt.date
    effective_to: dt.date | None
    source: str


class CodeSetReleaseOut(BaseModel):
    """A release loaded at run time with ``claimflow codesets load``."""

    id: int
    kind: str
    label: str
    effective_from: dt.date
    effective_to: dt.date | None
    filename: str
    sha256: str
    loaded_by: str


class CodeSetsOut(BaseModel):
    """What this process serves: every version, the releases applied, and what is in force on a date."""

    versions: list[CodeSetVersionOut]
    releases: list[CodeSetReleaseOut]
    applied_release_id: int
    in_force_on: dt.date
    in_force: dict[str, str]
    carried_forward: list[str]


class SearchHitOut(BaseModel):
    """One ranked ICD-10-CM code."""

    code: str
    description: str
    billable: bool
    score: float
    matched: list[str]


class SearchOut(BaseModel):
    """Search results and the code-set version they come from."""

    version: str
    hits: list[SearchHitOut]


class SuggestionRequest(BaseModel):
    """A clinical note to suggest codes from (never stored or logged)."""

    note: str = Field(min_length=1, max_length=20000)
    date_of_service: dt.date


class SuggestionOut(BaseModel):
    """A likely code with its evidence: the words of the note that point to it (a suggestion, never applied)."""

    code: str
    description: str
    evidence: str
    start: int
    end: int
    confidence: float
    matched_on: str


class SuggestionsOut(BaseModel):
    """Suggestions and the code-set version they come from."""

    version: str
    suggestions: list[SuggestionOut]


def _versions(kind: str, timeline: list[Dated[T]], describe: dict[int, tuple[str, str]]) -> list[CodeSetVersionOut]:
    return [
        CodeSetVersionOut(
            kind=kind,
            version=describe[id(entry.value)][0],
            effective_from=entry.period.start,
            effective_to=entry.period.end,
            source=describe[id(entry.value)][1],
        )
        for entry in timeline
    ]


class FindingOut(BaseModel):
    """One coding edit that fired: stable code, severity, a message for the coder and a suggested fix."""

    code: str
    severity: str
    message: str
    suggested_fix: str
    line_number: int | None
    diagnosis_position: int | None
    codes: list[str]


class EncounterCheckOut(BaseModel):
    """The edits for a document, without storing it: ``clean`` means it would be coded automatically."""

    clean: bool
    findings: list[FindingOut]
    code_sets: dict[str, str]


@router.post("/encounter-checks", response_model=EncounterCheckOut)
async def check_encounter(
    body: EncounterIn,
    context: ContextDep,
    code_sets: CodeSetsDep,
    principal: Annotated[Principal, require_roles(Role.EHR_INTEGRATION, Role.CODER)],
) -> EncounterCheckOut:
    """Run the coding edits on an encounter document without receiving it (nothing stored, no events).

    EHRs call this before sending, coders while correcting; the same edits run at intake.
    """
    if await context.practices.practice(principal.tenant_id, body.practice_id) is None:
        raise NotFound("Practice", body.practice_id)
    edits = code_sets.edits
    findings = edits.evaluate(body)
    in_force = edits.registry.at(body.date_of_service)
    return EncounterCheckOut(
        clean=not blocking(findings),
        findings=[FindingOut.model_validate(f.as_dict()) for f in findings],
        code_sets=in_force.describe(),
    )


@router.get("/code-sets", response_model=CodeSetsOut)
async def get_code_sets(
    context: ContextDep,
    code_sets: CodeSetsDep,
    _principal: Annotated[Principal, require_roles(Role.CODER, Role.BILLER, Role.OPS)],
    date_of_service: Annotated[dt.date | None, Query()] = None,
) -> CodeSetsOut:
    """Loaded code-set versions and releases (reference data, the same for every tenant)."""
    registry = code_sets.registry
    day = date_of_service or dt.date.today()
    icd = {id(d.value): (d.value.version, d.value.source) for d in registry.icd}
    procedures = {id(d.value): (d.value.version, ", ".join(d.value.sources)) for d in registry.procedures}
    ptp = {id(d.value): (d.value.source, d.value.source) for d in registry.ptp}
    mue = {id(d.value): (d.value.source, d.value.source) for d in registry.mue}
    versions = [
        *_versions("icd10cm", list(registry.icd), icd),
        *_versions("procedures", list(registry.procedures), procedures),
        *_versions("ncci-ptp", list(registry.ptp), ptp),
        *_versions("mue", list(registry.mue), mue),
    ]
    try:
        in_force = registry.at(day)
    except CodeSetNotInForce as exc:
        raise InvalidInput(str(exc)) from None
    releases = await list_releases(context.database)
    return CodeSetsOut(
        versions=versions,
        releases=[
            CodeSetReleaseOut(
                id=r.id,
                kind=r.kind,
                label=r.label,
                effective_from=r.period_start,
                effective_to=r.period_end,
                filename=r.filename,
                sha256=r.sha256,
                loaded_by=r.loaded_by,
            )
            for r in releases
        ],
        applied_release_id=code_sets.applied_release_id,
        in_force_on=day,
        in_force=in_force.describe(),
        carried_forward=list(in_force.carried_forward),
    )


@router.get("/code-search/icd10cm", response_model=SearchOut)
async def search_icd10cm(
    code_sets: CodeSetsDep,
    _principal: Annotated[Principal, require_roles(*CODE_READERS)],
    q: Annotated[str, Query(min_length=1, max_length=200, description="Words, or a code / code prefix")],
    date_of_service: Annotated[dt.date | None, Query(description="Picks the code-set version (default today)")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchOut:
    """ICD-10-CM codes ranked for the words of the query (descriptions and inclusion terms)."""
    index = await code_sets.search_index(date_of_service or dt.date.today())
    hits = index.search(q, limit)
    return SearchOut(
        version=index.version,
        hits=[
            SearchHitOut(
                code=h.code, description=h.description, billable=h.billable, score=h.score, matched=list(h.matched)
            )
            for h in hits
        ],
    )


def _suggestions_out(version: str, suggestions: list[CodeSuggestion]) -> SuggestionsOut:
    return SuggestionsOut(
        version=version,
        suggestions=[
            SuggestionOut(
                code=s.code,
                description=s.description,
                evidence=s.evidence,
                start=s.start,
                end=s.end,
                confidence=s.confidence,
                matched_on=s.matched_on,
            )
            for s in suggestions
        ],
    )


@router.post("/code-suggestions", response_model=SuggestionsOut)
async def suggest_codes(
    request: SuggestionRequest,
    code_sets: CodeSetsDep,
    _principal: Annotated[Principal, require_roles(Role.CODER)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SuggestionsOut:
    """Likely ICD-10-CM codes for a note, with evidence; the coder decides (nothing is applied)."""
    suggester = await code_sets.suggester(request.date_of_service)
    return _suggestions_out(suggester.version, suggester.suggest(request.note, limit))


@router.get("/encounters/{encounter_id}/code-suggestions", response_model=SuggestionsOut)
async def suggest_codes_for_encounter(
    encounter_id: str,
    session: SessionDep,
    code_sets: CodeSetsDep,
    principal: Annotated[Principal, require_roles(*CODE_READERS)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SuggestionsOut:
    """Suggestions from the encounter's clinical note (an audited read of the note)."""
    encounter = await EncounterRepository(session, principal.tenant_id).get(encounter_id)
    audit(
        session, principal, AuditAction.READ, "Encounter.clinical_note", encounter.id, patient_id=encounter.patient_id
    )
    note = str(encounter.document.get("clinical_note") or "")
    suggester = await code_sets.suggester(encounter.date_of_service)
    return _suggestions_out(suggester.version, suggester.suggest(note, limit) if note else [])
