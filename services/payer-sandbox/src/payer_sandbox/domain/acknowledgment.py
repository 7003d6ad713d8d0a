"""277CA claim acknowledgment built from the front-end edit results of one 837 transaction set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from claimflow_x12.guides.claim_ack_277ca import (
    BillingProviderLevelLoop,
    ClaimAcknowledgment277CA,
    ClaimStatusTrackingLoop,
    InformationReceiverLevelLoop,
    InformationSourceLevelLoop,
    PatientLevelLoop,
    ProviderTrackingLoop,
    ReceiverTrackingLoop,
    SourceTrackingLoop,
)
from claimflow_x12.guides.claim_status_common import Stc
from claimflow_x12.segments import Amt, Bht, DateFormatQualifier, Dtp, EntityTypeQualifier, Nm1, Qty, Ref, St, Trn
from claimflow_x12.validate import npi_is_valid
from payer_sandbox.domain.benefits import ZERO
from payer_sandbox.domain.claims import ReceivedClaim
from payer_sandbox.domain.codes import ClaimStatusCategory

__all__ = ["SANDBOX_ID", "SANDBOX_NAME", "AcknowledgedBatch", "ClaimOutcome", "build_277ca"]

SANDBOX_ID = "PAYERSANDBOX"  # ISA06/ISA08 and ETIN of the sandbox clearinghouse
SANDBOX_NAME = "CLAIMFLOW PAYER SANDBOX"


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """One claim's front-end result: accepted with a payer claim number, or its problems."""

    claim: ReceivedClaim
    payer_claim_control_number: str | None  # None when rejected

    @property
    def accepted(self) -> bool:
        """True when the claim goes on to adjudication."""
        return self.payer_claim_control_number is not None


@dataclass(frozen=True, slots=True)
class AcknowledgedBatch:
    """The 837 transaction being acknowledged: who sent it and its batch id."""

    submitter: Nm1  # 1000A NM1*41
    batch_id: str  # BHT03 of the 837
    receipt_id: str  # the sandbox's submission id
    received_on: date
    processed_on: date


def _quantities(outcomes: Sequence[ClaimOutcome], accepted_code: str, rejected_code: str) -> list[Qty]:
    accepted = sum(1 for o in outcomes if o.accepted)
    rejected = len(outcomes) - accepted
    quantities = []
    if accepted:
        quantities.append(Qty(qualifier=accepted_code, quantity=Decimal(accepted)))
    if rejected:
        quantities.append(Qty(qualifier=rejected_code, quantity=Decimal(rejected)))
    return quantities


def _amounts(outcomes: Sequence[ClaimOutcome]) -> list[Amt]:
    accepted = sum((o.claim.total_charge for o in outcomes if o.accepted), ZERO)
    rejected = sum((o.claim.total_charge for o in outcomes if not o.accepted), ZERO)
    amounts = []
    if any(o.accepted for o in outcomes):
        amounts.append(Amt(qualifier="YU", amount=accepted))
    if not all(o.accepted for o in outcomes):
        amounts.append(Amt(qualifier="YY", amount=rejected))
    return amounts


def _claim_loop(outcome: ClaimOutcome, today: date) -> ClaimStatusTrackingLoop:
    claim = outcome.claim
    if outcome.accepted:
        statuses = [
            Stc(
                category_code=ClaimStatusCategory.ACCEPTED.value,
                status_code="20",
                entity_code="PR",
                status_date=today,
                action_code="WQ",
                total_charge=claim.total_charge,
            )
        ]
    else:
        statuses = [
            Stc(
                category_code=problem.category.value,
                status_code=problem.status_code,
                entity_code=problem.entity_code,
                status_date=today,
                action_code="U",
                total_charge=claim.total_charge,
                message=problem.message,
            )
            for problem in claim.problems
        ]
    return ClaimStatusTrackingLoop(
        trace=Trn(trace_type_code="2", reference_id=claim.patient_control_number),
        statuses=statuses,
        references=[Ref(qualifier="1K", value=number)] if (number := outcome.payer_claim_control_number) else [],
        dates=[
            Dtp(
                qualifier="472",
                date_format=DateFormatQualifier.RANGE,
                start=claim.first_service_date,
                end=claim.last_service_date,
            )
        ],
    )


def build_277ca(batch: AcknowledgedBatch, outcomes: Sequence[ClaimOutcome]) -> ClaimAcknowledgment277CA:
    """The 277CA: batch totals, then per billing provider and patient one status per claim."""
    today = batch.processed_on
    total = sum((o.claim.total_charge for o in outcomes), ZERO)
    providers: dict[tuple[str, str, str], list[ClaimOutcome]] = {}
    for outcome in outcomes:
        claim = outcome.claim
        key = (claim.billing_name, claim.billing_npi or "", claim.billing_tax_id or "")
        providers.setdefault(key, []).append(outcome)
    provider_loops = []
    for (name, npi, tax_id), provider_outcomes in providers.items():
        # An NPI that failed its check digit is not echoed (the 277CA itself must validate): the tax id stands in.
        id_qualifier, identifier = ("XX", npi) if npi_is_valid(npi) else ("FI", tax_id) if tax_id else (None, None)
        patients: dict[tuple[str, str, str], list[ClaimOutcome]] = {}
        for outcome in provider_outcomes:
            claim = outcome.claim
            patients.setdefault((claim.patient_last_name, claim.patient_first_name, claim.member_id), []).append(
                outcome
            )
        provider_total = sum((o.claim.total_charge for o in provider_outcomes), ZERO)
        provider_loops.append(
            BillingProviderLevelLoop(
                provider=Nm1(
                    entity_identifier="85",
                    entity_type=EntityTypeQualifier.ORGANIZATION,
                    last_name_or_organization=name or "UNKNOWN",
                    id_qualifier=id_qualifier,
                    identifier=identifier,
                ),
                tracking=ProviderTrackingLoop(
                    trace=Trn(trace_type_code="1", reference_id="0"),
                    statuses=[
                        Stc(
                            category_code="A1",
                            status_code="19",
                            entity_code="PR",
                            action_code="WQ",
                            total_charge=provider_total,
                        )
                    ],
                    quantities=_quantities(provider_outcomes, "QA", "QC"),
                    amounts=_amounts(provider_outcomes),
                ),
                patients=[
                    PatientLevelLoop(
                        patient=Nm1(
                            entity_identifier="QC",
                            entity_type=EntityTypeQualifier.PERSON,
                            last_name_or_organization=last or "UNKNOWN",
                            first_name=first or None,
                            id_qualifier="MI" if member_id else None,
                            identifier=member_id or None,
                        ),
                        claims=[_claim_loop(o, today) for o in patient_outcomes],
                    )
                    for (last, first, member_id), patient_outcomes in patients.items()
                ],
            )
        )
    return ClaimAcknowledgment277CA(
        header=St(transaction_set_id="277", control_number="0001", implementation_reference="005010X214"),
        beginning=Bht(
            structure_code="0085",
            purpose_code="08",
            reference_id=batch.receipt_id,
            created_date=today,
            created_time="1200",
            transaction_type_code="TH",
        ),
        sources=[
            InformationSourceLevelLoop(
                source=Nm1(
                    entity_identifier="AY",
                    entity_type=EntityTypeQualifier.ORGANIZATION,
                    last_name_or_organization=SANDBOX_NAME,
                    id_qualifier="46",
                    identifier=SANDBOX_ID,
                ),
                tracking=SourceTrackingLoop(
                    trace=Trn(trace_type_code="1", reference_id=batch.receipt_id),
                    dates=[
                        Dtp(qualifier="050", date_format=DateFormatQualifier.DATE, start=batch.received_on),
                        Dtp(qualifier="009", date_format=DateFormatQualifier.DATE, start=batch.processed_on),
                    ],
                ),
                receivers=[
                    InformationReceiverLevelLoop(
                        receiver=batch.submitter,
                        tracking=ReceiverTrackingLoop(
                            trace=Trn(trace_type_code="2", reference_id=batch.batch_id),
                            statuses=[
                                Stc(
                                    category_code="A1",
                                    status_code="19",
                                    entity_code="PR",
                                    status_date=today,
                                    action_code="WQ",
                                    total_charge=total,
                                )
                            ],
                            quantities=_quantities(outcomes, "90", "AA"),
                            amounts=_amounts(outcomes),
                        ),
                        providers=provider_loops,
                    )
                ],
            )
        ],
    )
