"""276 → 277: where is a claim? Answered from the claims the payer has on file, the way payers answer 005010X212.

A 276 names the payer (2100A), the provider (2100C), the subscriber and maybe a dependent (2100D/E), and per claim
a trace number (TRN), what identifies the claim (REF*1K payer claim number, REF*EJ patient control number),
its total charge (AMT*T3) and its dates of service (DTP*472). Every criterion given must match. The 277 mirrors
the request and answers each traced claim with one 2200 loop per matching claim (claim status codes, list 508):

- accepted today A2:20, later and not yet paid P1:20 (in process);
- finalized: F1:65 paid, F2:1 denied, F4:1 processed with nothing to pay (e.g. all to the deductible, or a void),
  F3:1 once a replacement or void reversed it; with STC05 paid, STC06 adjudication date and the ERA's
  payment method, date and trace number (STC07-09), and each line's status (2220);
- no matching claim for a known member: A4:35 (not found); unknown member: D0:33 (subscriber) or D0:97
  (dependent); a payer id the sandbox does not serve: E0:116.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from claimflow_x12.guides.claim_status_276_277 import (
    ClaimStatusRequest276,
    ClaimStatusResponse277,
    RequestSubscriberLoop,
    ResponseDependentLoop,
    ResponseProviderLoop,
    ResponseReceiverLoop,
    ResponseSourceLoop,
    ResponseSubscriberLoop,
    StatusInquiryLoop,
    StatusResultLoop,
    StatusServiceLineLoop,
)
from claimflow_x12.guides.claim_status_common import StatusSvc, Stc
from claimflow_x12.guides.remittance_835 import ClaimStatusCode
from claimflow_x12.segments import Bht, DateFormatQualifier, Dtp, EntityTypeQualifier, Nm1, Per, Ref, St, Trn
from payer_sandbox.domain.adjudication import Adjudication, LineResult
from payer_sandbox.domain.benefits import ZERO
from payer_sandbox.domain.claims import ReceivedClaim
from payer_sandbox.domain.codes import ClaimStatusCategory
from payer_sandbox.domain.population import Member, Population, normalize_name

__all__ = ["ClaimOnFile", "Remitted", "StatusContext", "answer_status_request", "claim_status"]

CATEGORY = ClaimStatusCategory
_ACCEPTED_FOR_PROCESSING = "20"
_PAID = "65"  # claim/line has been paid
_SEE_REMITTANCE = "1"  # for more detailed information, see remittance advice
_NOT_FOUND = "35"  # claim/encounter not found
_SUBSCRIBER_NOT_FOUND = "33"  # subscriber and subscriber id not found
_PATIENT_NOT_FOUND = "97"  # patient eligibility not found with entity
_WRONG_PAYER = "116"  # claim submitted to the incorrect payer


@dataclass(frozen=True, slots=True)
class Remitted:
    """The ERA that finalized a claim: what STC07-09 report."""

    trace_number: str  # TRN02 of the 835 (check/EFT number)
    check_date: date
    payment_method: str  # BPR04: ACH, or NON when that ERA paid nothing


@dataclass(frozen=True, slots=True)
class ClaimOnFile:
    """A claim the payer accepted, with what became of it so far."""

    claim: ReceivedClaim
    member: Member
    payer_claim_control_number: str
    received_on: date
    adjudication: Adjudication | None  # None until a check run adjudicates it (and for a void, which is not)
    remitted: Remitted | None  # None until a check run sends the ERA that finalizes it


@dataclass(frozen=True, slots=True)
class StatusContext:
    """What answering needs besides the request."""

    population: Population
    claims: Sequence[ClaimOnFile]  # the asking tenant's accepted claims, oldest first
    today: date


def _line_category(result: LineResult, reversed_claim: bool) -> tuple[ClaimStatusCategory, str]:
    if reversed_claim:
        return CATEGORY.REVISED, _SEE_REMITTANCE
    if result.denied:
        return CATEGORY.DENIED, _SEE_REMITTANCE
    if result.paid > 0:
        return CATEGORY.PAID, _PAID
    return CATEGORY.NO_PAYMENT, _SEE_REMITTANCE


def _finalized_category(adjudication: Adjudication | None) -> tuple[ClaimStatusCategory, str]:
    if adjudication is None:  # a processed void: the original's payment was reversed, nothing is paid on it
        return CATEGORY.NO_PAYMENT, _SEE_REMITTANCE
    if adjudication.reversed:
        return CATEGORY.REVISED, _SEE_REMITTANCE
    if adjudication.status is ClaimStatusCode.DENIED:
        return CATEGORY.DENIED, _SEE_REMITTANCE
    if adjudication.paid > 0:
        return CATEGORY.PAID, _PAID
    return CATEGORY.NO_PAYMENT, _SEE_REMITTANCE


def claim_status(on_file: ClaimOnFile, today: date) -> Stc:
    """The claim-level STC of a claim on file."""
    claim = on_file.claim
    remitted = on_file.remitted
    if remitted is None:
        category = CATEGORY.ACCEPTED if on_file.received_on == today else CATEGORY.PENDING
        return Stc(
            category_code=category.value,
            status_code=_ACCEPTED_FOR_PROCESSING,
            entity_code="PR",
            status_date=on_file.received_on if category is CATEGORY.ACCEPTED else today,
            total_charge=claim.total_charge,
            paid_amount=ZERO,
        )
    adjudication = on_file.adjudication
    category, status = _finalized_category(adjudication)
    paid = ZERO if adjudication is None or adjudication.reversed else adjudication.paid
    adjudicated_on = adjudication.adjudicated_on if adjudication is not None else remitted.check_date
    changed_on = adjudication.reversed_on if adjudication is not None and adjudication.reversed_on else adjudicated_on
    return Stc(
        category_code=category.value,
        status_code=status,
        status_date=changed_on,
        total_charge=claim.total_charge,
        paid_amount=paid,
        adjudication_date=adjudicated_on,
        payment_method=remitted.payment_method,
        check_date=remitted.check_date,
        check_number=remitted.trace_number,
    )


def _service_lines(on_file: ClaimOnFile, claim_stc: Stc) -> list[StatusServiceLineLoop]:
    adjudication = on_file.adjudication
    results: dict[int, LineResult] = (
        {r.line.number: r for r in adjudication.lines} if adjudication is not None and on_file.remitted else {}
    )
    loops = []
    for line in on_file.claim.lines:
        result = results.get(line.number)
        if result is None:
            category, status, paid = ClaimStatusCategory(claim_stc.category_code), claim_stc.status_code, ZERO
        else:
            category, status = _line_category(result, adjudication is not None and adjudication.reversed)
            paid = ZERO if adjudication is not None and adjudication.reversed else result.paid
        loops.append(
            StatusServiceLineLoop(
                service=StatusSvc(
                    procedure_qualifier=line.qualifier,
                    procedure_code=line.procedure_code,
                    modifiers=list(line.modifiers),
                    line_charge=line.charge,
                    paid_amount=paid,
                    revenue_code=line.revenue_code,
                    units=line.units,
                ),
                statuses=[Stc(category_code=category.value, status_code=status, status_date=claim_stc.status_date)],
                references=[Ref(qualifier="FJ", value=line.line_control_number)] if line.line_control_number else [],
                dates=[Dtp(qualifier="472", date_format=DateFormatQualifier.DATE, start=line.service_date)],
            )
        )
    return loops


def _found(on_file: ClaimOnFile, trace: Trn, today: date) -> StatusResultLoop:
    claim = on_file.claim
    stc = claim_status(on_file, today)
    references = [
        Ref(qualifier="1K", value=on_file.payer_claim_control_number),
        Ref(qualifier="EJ", value=claim.patient_control_number),
    ]
    if claim.type_of_bill:
        references.append(Ref(qualifier="BLT", value=claim.type_of_bill))
    return StatusResultLoop(
        trace=trace,
        statuses=[stc],
        references=references,
        dates=[
            Dtp(
                qualifier="472",
                date_format=DateFormatQualifier.RANGE,
                start=claim.first_service_date,
                end=claim.last_service_date,
            )
        ],
        service_lines=_service_lines(on_file, stc),
    )


def _unanswered(
    asked: StatusInquiryLoop, category: ClaimStatusCategory, status: str, entity: str | None, today: date
) -> StatusResultLoop:
    """The asked claim echoed back with why no claim can be reported."""
    charge = next((a.amount for a in asked.amounts if a.qualifier == "T3"), ZERO)
    return StatusResultLoop(
        trace=_echo_trace(asked),
        statuses=[
            Stc(
                category_code=category.value,
                status_code=status,
                entity_code=entity,
                status_date=today,
                total_charge=charge,
                paid_amount=ZERO,
            )
        ],
        references=[r for r in asked.references if r.qualifier in ("1K", "EJ", "BLT")],
        dates=[d for d in asked.dates if d.qualifier == "472"],
    )


def _echo_trace(asked: StatusInquiryLoop) -> Trn:
    return Trn(trace_type_code="2", reference_id=asked.trace.reference_id)


def _matches(on_file: ClaimOnFile, asked: StatusInquiryLoop, provider_npi: str | None) -> bool:
    claim = on_file.claim
    references = {r.qualifier: r.value for r in asked.references}
    if "1K" in references and references["1K"] != on_file.payer_claim_control_number:
        return False
    if "EJ" in references and references["EJ"] != claim.patient_control_number:
        return False
    if "BLT" in references and references["BLT"] != claim.type_of_bill:
        return False
    charge = next((a.amount for a in asked.amounts if a.qualifier == "T3"), None)
    if charge is not None and charge != claim.total_charge:
        return False
    for period in asked.dates:
        if period.qualifier != "472":
            continue
        end = period.end or period.start
        if period.start > claim.last_service_date or end < claim.first_service_date:
            return False
    return provider_npi is None or provider_npi in (claim.billing_npi, claim.rendering_npi)


def _answer_claims(
    asked_claims: Sequence[StatusInquiryLoop], member: Member, provider_npi: str | None, context: StatusContext
) -> list[StatusResultLoop]:
    answers = []
    for asked in asked_claims:
        found = [c for c in context.claims if c.member.key == member.key and _matches(c, asked, provider_npi)]
        if not found:
            answers.append(_unanswered(asked, CATEGORY.NOT_FOUND, _NOT_FOUND, None, context.today))
        answers += [_found(c, _echo_trace(asked), context.today) for c in found]
    return answers


def _member_nm1(member: Member, entity: str) -> Nm1:
    subscriber = entity == "IL"
    return Nm1(
        entity_identifier=entity,
        entity_type=EntityTypeQualifier.PERSON,
        last_name_or_organization=member.last_name,
        first_name=member.first_name,
        id_qualifier="MI" if subscriber else None,
        identifier=member.member_id if subscriber else None,
    )


def _find_subscriber(asked: RequestSubscriberLoop, payer_id: str, population: Population) -> Member | None:
    name = asked.subscriber
    member = population.subscriber(payer_id, name.identifier or "")
    if member is None:
        return None
    if name.last_name_or_organization and normalize_name(name.last_name_or_organization) != member.last_name:
        return None
    if asked.demographics is not None and asked.demographics.birth_date not in (None, member.birth_date):
        return None
    return member


def _answer_subscriber(
    asked: RequestSubscriberLoop, payer_id: str, provider_npi: str | None, context: StatusContext
) -> ResponseSubscriberLoop:
    subscriber = _find_subscriber(asked, payer_id, context.population)
    if subscriber is None:
        today = context.today
        return ResponseSubscriberLoop(
            subscriber=asked.subscriber,
            claims=[
                _unanswered(c, CATEGORY.SEARCH_UNSUCCESSFUL, _SUBSCRIBER_NOT_FOUND, "IL", today) for c in asked.claims
            ],
            dependents=[
                ResponseDependentLoop(
                    dependent=d.dependent,
                    claims=[
                        _unanswered(c, CATEGORY.SEARCH_UNSUCCESSFUL, _SUBSCRIBER_NOT_FOUND, "IL", today)
                        for c in d.claims
                    ],
                )
                for d in asked.dependents
            ],
        )
    answer = ResponseSubscriberLoop(
        subscriber=_member_nm1(subscriber, "IL"),
        claims=_answer_claims(asked.claims, subscriber, provider_npi, context),
    )
    for asked_dependent in asked.dependents:
        birth_date = asked_dependent.demographics.birth_date if asked_dependent.demographics else None
        dependent = context.population.dependent(
            payer_id, subscriber.member_id, asked_dependent.dependent.first_name, birth_date
        )
        if dependent is None:
            answer.dependents.append(
                ResponseDependentLoop(
                    dependent=asked_dependent.dependent,
                    claims=[
                        _unanswered(c, CATEGORY.SEARCH_UNSUCCESSFUL, _PATIENT_NOT_FOUND, "QC", context.today)
                        for c in asked_dependent.claims
                    ],
                )
            )
            continue
        answer.dependents.append(
            ResponseDependentLoop(
                dependent=_member_nm1(dependent, "QC"),
                claims=_answer_claims(asked_dependent.claims, dependent, provider_npi, context),
            )
        )
    return answer


def _unknown_payer(asked: RequestSubscriberLoop, today: date) -> ResponseSubscriberLoop:
    def unanswered(claims: Sequence[StatusInquiryLoop]) -> list[StatusResultLoop]:
        return [_unanswered(c, CATEGORY.REQUEST_ERROR, _WRONG_PAYER, "PR", today) for c in claims]

    return ResponseSubscriberLoop(
        subscriber=asked.subscriber,
        claims=unanswered(asked.claims),
        dependents=[
            ResponseDependentLoop(dependent=d.dependent, claims=unanswered(d.claims)) for d in asked.dependents
        ],
    )


def answer_status_request(request: ClaimStatusRequest276, context: StatusContext) -> ClaimStatusResponse277:
    """The 277 for a 276: the request's hierarchy mirrored, each traced claim answered."""
    sources = []
    for source in request.sources:
        payer_id = source.payer.identifier or ""
        payer = context.population.payers.get(payer_id)
        payer_name = source.payer
        contacts = []
        if payer is not None:
            payer_name = Nm1(
                entity_identifier="PR",
                entity_type=EntityTypeQualifier.ORGANIZATION,
                last_name_or_organization=payer.name,
                id_qualifier="PI",
                identifier=payer.payer_id,
            )
            contacts = [
                Per(function_code="IC", name="CLAIM STATUS DESK", number_qualifier_1="TE", number_1="8005550100")
            ]
        receivers = []
        for receiver in source.receivers:
            providers = []
            for provider in receiver.providers:
                npi = provider.provider.identifier if provider.provider.id_qualifier == "XX" else None
                providers.append(
                    ResponseProviderLoop(
                        provider=provider.provider,
                        subscribers=[
                            _unknown_payer(s, context.today)
                            if payer is None
                            else _answer_subscriber(s, payer_id, npi, context)
                            for s in provider.subscribers
                        ],
                    )
                )
            receivers.append(ResponseReceiverLoop(receiver=receiver.receiver, providers=providers))
        sources.append(ResponseSourceLoop(payer=payer_name, contacts=contacts, receivers=receivers))
    return ClaimStatusResponse277(
        header=St(transaction_set_id="277", control_number="0001", implementation_reference="005010X212"),
        beginning=Bht(
            structure_code="0010",
            purpose_code="08",
            reference_id=request.beginning.reference_id,
            created_date=context.today,
            created_time="1200",
            transaction_type_code="DG",
        ),
        sources=sources,
    )
