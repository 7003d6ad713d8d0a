"""The 270 ClaimFlow sends and how the matching 271 is read back (pure: no transport, no storage).

One inquiry asks about one person: the subscriber, or a dependent under the subscriber (2000D) when the patient
is not the card holder. The 2000C/2000D TRN carries our trace number so the 271 can be matched to the check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from claimflow_x12.errors import X12Error
from claimflow_x12.guides.eligibility_270_271 import (
    EligibilityInquiry270,
    EligibilityResponse271,
    Eq,
    InquiryDependentLoop,
    InquiryInformationReceiverLoop,
    InquiryInformationSourceLoop,
    InquirySubscriberLoop,
    MemberEligibility,
    MemberNameLoop,
    ReceiverNameLoop,
    ServiceTypeInquiryLoop,
    SourceNameLoop,
    summarize_eligibility,
)
from claimflow_x12.parser import parse
from claimflow_x12.segments import Bht, DateFormatQualifier, Dmg, Dtp, EntityTypeQualifier, GenderCode, Nm1, St, Trn

DEFAULT_SERVICE_TYPES = ("30",)  # 30 = health benefit plan coverage: the plan-wide answer


@dataclass(frozen=True)
class Person:
    """A subscriber or dependent as printed on the card."""

    first_name: str
    last_name: str
    birth_date: date
    sex: str | None = None  # F, M or None
    member_id: str | None = None


@dataclass(frozen=True)
class EligibilityQuery:
    """Who is asked about, where, for what and when."""

    payer_id: str
    payer_name: str
    provider_npi: str
    provider_name: str
    subscriber: Person
    date_of_service: date
    dependent: Person | None = None
    service_types: tuple[str, ...] = DEFAULT_SERVICE_TYPES


@dataclass(frozen=True)
class Interpreted271:
    """The member the 271 answers for, or why it could not be read."""

    member: MemberEligibility | None
    errors: list[X12Error] = field(default_factory=list)


class Invalid271(ValueError):
    """The payer's answer is not a readable 271 for our inquiry."""


def _name(entity: str, person: Person, *, with_id: bool) -> Nm1:
    return Nm1(
        entity_identifier=entity,
        entity_type=EntityTypeQualifier.PERSON,
        last_name_or_organization=person.last_name.upper(),
        first_name=person.first_name.upper(),
        id_qualifier="MI" if with_id and person.member_id else None,
        identifier=person.member_id if with_id else None,
    )


def _demographics(person: Person) -> Dmg:
    gender = GenderCode(person.sex) if person.sex in ("F", "M") else None
    return Dmg(date_format="D8", birth_date=person.birth_date, gender=gender)


def _inquiries(query: EligibilityQuery) -> list[ServiceTypeInquiryLoop]:
    return [ServiceTypeInquiryLoop(inquiry=Eq(service_type_codes=list(query.service_types)))]


def build_270(
    query: EligibilityQuery, *, trace: str, trace_originator: str, created_at: datetime
) -> EligibilityInquiry270:
    """The 005010X279A1 inquiry for one person; ``trace`` (TRN02) comes back in the 271."""
    service_date = Dtp(qualifier="291", date_format=DateFormatQualifier.DATE, start=query.date_of_service)
    subscriber_name = MemberNameLoop(
        name=_name("IL", query.subscriber, with_id=True),
        demographics=_demographics(query.subscriber),
        dates=[] if query.dependent else [service_date],
    )
    trn = Trn(trace_type_code="1", reference_id=trace, originating_company_id=trace_originator)
    dependents: list[InquiryDependentLoop] = []
    if query.dependent is not None:
        dependents.append(
            InquiryDependentLoop(
                traces=[trn],
                dependent=MemberNameLoop(
                    name=_name("03", query.dependent, with_id=False),
                    demographics=_demographics(query.dependent),
                    dates=[service_date],
                ),
                inquiries=_inquiries(query),
            )
        )
    subscriber = InquirySubscriberLoop(
        traces=[] if query.dependent else [trn],
        subscriber=subscriber_name,
        inquiries=[] if query.dependent else _inquiries(query),
        dependents=dependents,
    )
    receiver = InquiryInformationReceiverLoop(
        receiver=ReceiverNameLoop(
            name=Nm1(
                entity_identifier="1P",
                entity_type=EntityTypeQualifier.ORGANIZATION,
                last_name_or_organization=query.provider_name.upper(),
                id_qualifier="XX",
                identifier=query.provider_npi,
            )
        ),
        subscribers=[subscriber],
    )
    source = InquiryInformationSourceLoop(
        source=SourceNameLoop(
            name=Nm1(
                entity_identifier="PR",
                entity_type=EntityTypeQualifier.ORGANIZATION,
                last_name_or_organization=query.payer_name.upper(),
                id_qualifier="PI",
                identifier=query.payer_id,
            )
        ),
        receivers=[receiver],
    )
    return EligibilityInquiry270(
        header=St(transaction_set_id="270", control_number="0001", implementation_reference="005010X279A1"),
        beginning=Bht(
            structure_code="0022",
            purpose_code="13",
            reference_id=trace,
            created_date=created_at.date(),
            created_time=created_at.strftime("%H%M"),
        ),
        sources=[source],
    )


def read_271(content: bytes | str, *, dependent: bool) -> Interpreted271:
    """The summary of the person asked about (the dependent when the inquiry was for one).

    Raises Invalid271 when the file is not a 271 at all; X12 errors found while reading are returned with
    the summary so the raw answer can be kept and the problem shown.
    """
    result = parse(content)
    responses = [t for t in result.transactions if isinstance(t, EligibilityResponse271)]
    if not responses:
        detail = "; ".join(e.message for e in result.errors[:3]) or "no 271 transaction set in the answer"
        raise Invalid271(detail)
    members = [m for response in responses for m in summarize_eligibility(response)]
    if not members:
        raise Invalid271("the 271 names no subscriber or dependent and gives no reason")
    # A payer that cannot answer at all (AAA 42 in 2100A/2100B) gives one summary without a member.
    wanted = [m for m in members if m.is_dependent == dependent] or members
    # Source/receiver-level AAA errors (payer down, provider not enrolled) apply to everyone in the answer.
    return Interpreted271(member=wanted[-1] if dependent else wanted[0], errors=list(result.errors))
