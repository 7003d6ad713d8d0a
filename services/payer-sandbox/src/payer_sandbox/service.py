"""The sandbox itself: population, clock, scenario, mailbox and claims, with the handlers the HTTP API calls.

State is kept in the process (the sandbox is a test and demo tool, never production). Every handler that reads
or changes it runs under one lock and never awaits inside it, so concurrent requests see consistent
accumulators: a deductible is never spent twice. Dates come from the payer clock, which only moves when told
to (``advance``), and control numbers from counters: the same seed and the same requests give the same bytes.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from claimflow_connect.models import ResponseKind
from claimflow_kit.errors import Conflict, InvalidInput, NotFound
from claimflow_x12 import Envelope, X12Error, build_999, parse, validate, write_interchange
from claimflow_x12.errors import ElementErrorCode
from claimflow_x12.guides.ack_999 import AcknowledgmentCode
from claimflow_x12.guides.claim_837i import Claim837I
from claimflow_x12.guides.claim_837i import iter_claims as iter_institutional_claims
from claimflow_x12.guides.claim_837p import Claim837P
from claimflow_x12.guides.claim_837p import iter_claims as iter_professional_claims
from claimflow_x12.guides.claim_status_276_277 import ClaimStatusRequest276
from claimflow_x12.guides.eligibility_270_271 import EligibilityInquiry270
from claimflow_x12.guides.remittance_835 import ProviderAdjustment
from claimflow_x12.parser import ParseResult
from claimflow_x12.transaction import Transaction
from payer_sandbox.config import SandboxSettings
from payer_sandbox.domain.acknowledgment import SANDBOX_ID, AcknowledgedBatch, ClaimOutcome, build_277ca
from payer_sandbox.domain.adjudication import (
    Adjudication,
    DuplicateKey,
    adjudicate,
    coordinate,
    crossover,
    reverse,
    scenario_denial,
)
from payer_sandbox.domain.benefits import Accumulator, AccumulatorBook
from payer_sandbox.domain.claim_status import ClaimOnFile, Remitted, StatusContext, answer_status_request
from payer_sandbox.domain.claims import ReceivedClaim, front_end_edits, received_claim
from payer_sandbox.domain.codes import Network
from payer_sandbox.domain.eligibility import EligibilityContext, answer_inquiry
from payer_sandbox.domain.population import Member, Population, generate_population
from payer_sandbox.domain.remittance import EraDraft, build_835, era_total
from payer_sandbox.mailbox import Mailbox, MailboxEntry
from payer_sandbox.scenario import Scenario

__all__ = ["CheckRun", "Sandbox", "SubmissionResult"]

_INTEREST_RATE = Decimal("0.10")  # yearly prompt-pay interest rate (PLB L6)


@dataclass(frozen=True, slots=True)
class SubmissionResult:
    """The receipt of one submitted file and what the clearinghouse made of it."""

    submission_id: str
    filename: str
    received_at: datetime
    acknowledgment: str  # AK901 of the (first) 999: A accepted, P partially, R rejected
    claims_accepted: int
    claims_rejected: int


@dataclass(slots=True)
class _PendingClaim:
    tenant_id: str
    submitter_id: str
    usage_indicator: str
    claim: ReceivedClaim
    member: Member
    payer_claim_control_number: str
    received_on: date
    due_on: date


@dataclass(frozen=True, slots=True)
class _Payee:
    """Who an ERA pays and where its file goes (kept so a PLB-only ERA can be sent later)."""

    name: str
    tax_id: str | None
    receiver_id: str  # ISA08 of the 835: the submitter of the claims
    usage_indicator: str


@dataclass(frozen=True, slots=True)
class CheckRun:
    """What one day's check runs released."""

    day: date
    eras: int
    claims: int
    mailbox_ids: list[str] = field(default_factory=list)


def _is_npi_error(error: X12Error) -> bool:
    """NPI check-digit failures: left to the 277CA so one bad NPI rejects its claim, not the whole file."""
    return (
        error.code is ElementErrorCode.PATTERN_MATCH_FAILURE
        and error.segment_id in ("NM1", "N1")
        and error.element_position in (9, 4)
        and "NPI" in error.message
    )


class Sandbox:
    """One simulated clearinghouse with its payers."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.today: date = settings.clock_start or datetime.now(UTC).date()
        self.population: Population = generate_population(
            settings.seed, self.today.year, settings.subscribers_per_payer
        )
        self.scenario = Scenario()
        self.accumulators = AccumulatorBook()
        self.mailbox = Mailbox()
        self._lock = threading.RLock()
        self._rng = random.Random(settings.seed)
        self._counters: dict[str, int] = {}
        self._submissions: dict[tuple[str, str], tuple[str, SubmissionResult]] = {}
        self._pending: list[_PendingClaim] = []
        self._accepted: list[_PendingClaim] = []  # every claim accepted, oldest first (what a 276 can ask about)
        self._remitted: dict[str, Remitted] = {}  # payer claim control number → the ERA that finalized it
        self._adjudicated: dict[str, tuple[_PendingClaim, Adjudication]] = {}
        self._paid_keys: set[DuplicateKey] = set()
        self._provider_adjustments: dict[tuple[str, str, str], list[ProviderAdjustment]] = {}
        self._payees: dict[tuple[str, str, str], _Payee] = {}

    # ------------------------------------------------------------------ helpers

    def _next(self, counter: str) -> int:
        value = self._counters.get(counter, 0) + 1
        self._counters[counter] = value
        return value

    @property
    def now(self) -> datetime:
        """The payer clock as a timestamp (noon UTC of the sandbox's today)."""
        return datetime.combine(self.today, time(12, 0), UTC)

    def _write(self, transactions: Sequence[Transaction], receiver_id: str, usage: str) -> bytes:
        """Wrap typed transactions in a new interchange from the sandbox to ``receiver_id``."""
        number = self._next("interchange")
        envelope = Envelope(
            sender_id=SANDBOX_ID,
            receiver_id=(receiver_id or "UNKNOWN")[:15].ljust(2, "0"),
            interchange_control_number=number,
            group_control_number=number,
            transaction_control_numbers=list(range(1, len(transactions) + 1)),
            created_at=self.now,
            usage_indicator="T" if usage == "T" else "P",
        )
        return write_interchange(envelope, transactions).encode()

    @staticmethod
    def _read(body: bytes) -> ParseResult:
        result = parse(body)
        if not result.interchanges:
            detail = "; ".join(e.message for e in result.errors[:3]) or "no ISA segment"
            raise InvalidInput(f"not an X12 interchange: {detail}")
        return result

    # ------------------------------------------------------------------ scenario and clock

    def set_scenario(self, scenario: Scenario) -> Scenario:
        """Replace the scenario (unknown payer ids are refused so typos do not silently do nothing)."""
        unknown = sorted(set(scenario.payers) - set(self.population.payers))
        if unknown:
            raise InvalidInput(f"unknown payer id(s) in scenario: {', '.join(unknown)}")
        with self._lock:
            self.scenario = scenario
        return scenario

    def submission_behaviour(self, body: bytes) -> tuple[float, list[str]]:
        """Seconds to wait before answering this file and the payers it is for that the scenario says are down."""
        payer_ids = self._payer_ids_of_file(body)
        delay = max((self.scenario.for_payer(p).submission_delay_seconds for p in payer_ids), default=0.0)
        return delay, sorted(p for p in payer_ids if self.scenario.for_payer(p).submission_failure)

    @staticmethod
    def _payer_ids_of_file(body: bytes) -> set[str]:
        """Payer ids named in a batch file: 837 2010BB (NM1*PR) and 276 2100A (NM1*PR)."""
        try:
            result = parse(body)
        except Exception:  # a body the submission step will reject with a proper error
            return set()
        found: set[str] = set()
        for transaction in result.transactions:
            if isinstance(transaction, Claim837P):
                found.update(c.subscriber.payer.name.identifier or "" for c in iter_professional_claims(transaction))
            elif isinstance(transaction, Claim837I):
                found.update(c.subscriber.payer.name.identifier or "" for c in iter_institutional_claims(transaction))
            elif isinstance(transaction, ClaimStatusRequest276):
                found.update(source.payer.identifier or "" for source in transaction.sources)
        return found

    def eligibility_delay(self, body: bytes) -> float:
        """Seconds the scenario says to wait before answering this 270 (the slowest payer asked)."""
        payer_ids = self._payer_ids_270(body)
        return max((self.scenario.for_payer(p).eligibility_delay_seconds for p in payer_ids), default=0.0)

    @staticmethod
    def _payer_ids_270(body: bytes) -> list[str]:
        try:
            result = parse(body)
        except Exception:  # a body the answer step will reject with a proper error
            return []
        return [
            source.source.name.identifier or ""
            for t in result.transactions
            if isinstance(t, EligibilityInquiry270)
            for source in t.sources
        ]

    def _unable_to_respond(self, payer_id: str) -> bool:
        behaviour = self.scenario.for_payer(payer_id)
        if behaviour.unable_to_respond:
            return True
        return (
            behaviour.unable_to_respond_probability > 0 and self._rng.random() < behaviour.unable_to_respond_probability
        )

    # ------------------------------------------------------------------ 270 → 271

    def eligibility(self, body: bytes) -> bytes:
        """Answer a real-time 270 with a 271 interchange."""
        result = self._read(body)
        errors = validate(result)
        inquiries = [t for t in result.transactions if isinstance(t, EligibilityInquiry270)]
        if errors or not inquiries:
            problems = [f"{e.segment_id or ''}@{e.segment_position or ''}: {e.message}" for e in errors[:10]]
            raise InvalidInput("the 270 could not be read: " + ("; ".join(problems) or "no 270 transaction set"))
        interchange = result.interchanges[0].header
        with self._lock:
            context = EligibilityContext(self.population, self.accumulators, self.today, self._unable_to_respond)
            responses = [answer_inquiry(inquiry, context) for inquiry in inquiries]
            return self._write(responses, interchange.sender_id, interchange.usage_indicator)

    # ------------------------------------------------------------------ 276 → 277

    def claim_status(self, tenant_id: str, body: bytes) -> bytes:
        """Answer a real-time 276 with a 277 interchange (only the tenant's own claims can be found)."""
        result = self._read(body)
        errors = validate(result)
        requests = [t for t in result.transactions if isinstance(t, ClaimStatusRequest276)]
        if errors or not requests:
            problems = [f"{e.segment_id or ''}@{e.segment_position or ''}: {e.message}" for e in errors[:10]]
            raise InvalidInput("the 276 could not be read: " + ("; ".join(problems) or "no 276 transaction set"))
        interchange = result.interchanges[0].header
        with self._lock:
            answers = self._answer_276(tenant_id, requests)
            return self._write(answers, interchange.sender_id, interchange.usage_indicator)

    def _answer_276(self, tenant_id: str, requests: Sequence[ClaimStatusRequest276]) -> list[Transaction]:
        claims = [
            ClaimOnFile(
                claim=p.claim,
                member=p.member,
                payer_claim_control_number=p.payer_claim_control_number,
                received_on=p.received_on,
                adjudication=found[1] if (found := self._adjudicated.get(p.payer_claim_control_number)) else None,
                remitted=self._remitted.get(p.payer_claim_control_number),
            )
            for p in self._accepted
            if p.tenant_id == tenant_id
        ]
        context = StatusContext(self.population, claims, self.today)
        return [answer_status_request(request, context) for request in requests]

    # ------------------------------------------------------------------ 837 → 999 + 277CA

    def submit(self, tenant_id: str, filename: str, body: bytes) -> SubmissionResult:
        """Take a batch file: 999 for its syntax; per accepted 837 a 277CA and its claims queued for payment,
        per accepted 276 a 277 claim status answer."""
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            known = self._submissions.get((tenant_id, filename))
            if known is not None:
                if known[0] != digest:
                    raise Conflict(f"{filename} was already submitted with different content")
                return known[1]
            result = self._read(body)
            submission_id = f"SUB{self._next('submission'):08d}"
            rule_errors = [e for e in validate(result) if e not in result.errors and not _is_npi_error(e)]
            acknowledgments = build_999(result, rule_errors)
            interchange = result.interchanges[0].header
            submitter, usage = interchange.sender_id, interchange.usage_indicator
            # Everything is built before anything is kept: a file that fails half-way leaves no 999 in the mailbox
            # and no claim queued, so sending it again is answered as a first submission.
            files = [(ResponseKind.ACK_999, f"{submission_id}.999.x12", self._write(acknowledgments, submitter, usage))]
            queued: list[_PendingClaim] = []
            accepted = rejected = 0
            claim_acks = []
            status_requests = []
            for group, ack in zip(result.groups, acknowledgments, strict=True):
                for parsed, response in zip(group.transactions, ack.transaction_responses, strict=True):
                    transaction = parsed.transaction
                    if response.response_trailer.acknowledgment_code is not AcknowledgmentCode.ACCEPTED:
                        continue
                    if isinstance(transaction, ClaimStatusRequest276):
                        status_requests.append(transaction)
                    if not isinstance(transaction, Claim837P | Claim837I):
                        continue
                    outcomes = self._front_end(tenant_id, submitter, usage, transaction, queued)
                    accepted += sum(1 for o in outcomes if o.accepted)
                    rejected += sum(1 for o in outcomes if not o.accepted)
                    batch = AcknowledgedBatch(
                        submitter=transaction.submitter.submitter,
                        batch_id=transaction.beginning.reference_id or submission_id,
                        receipt_id=submission_id,
                        received_on=self.today,
                        processed_on=self.today,
                    )
                    claim_acks.append(build_277ca(batch, outcomes))
            if claim_acks:
                files.append((ResponseKind.CLAIM_ACK_277CA, f"{submission_id}.277ca.x12",
                              self._write(claim_acks, submitter, usage)))  # fmt: skip
            if status_requests:
                answers = self._answer_276(tenant_id, status_requests)
                files.append((ResponseKind.CLAIM_STATUS_277, f"{submission_id}.277.x12",
                              self._write(answers, submitter, usage)))  # fmt: skip
            self._pending += queued
            self._accepted += queued
            for kind, name, content in files:
                self.mailbox.put(tenant_id, kind, name, self.now, content)
            receipt = SubmissionResult(
                submission_id=submission_id,
                filename=filename,
                received_at=self.now,
                acknowledgment=acknowledgments[0].group_trailer.acknowledgment_code.value if acknowledgments else "R",
                claims_accepted=accepted,
                claims_rejected=rejected,
            )
            self._submissions[(tenant_id, filename)] = (digest, receipt)
            return receipt

    def _front_end(
        self,
        tenant_id: str,
        submitter: str,
        usage: str,
        transaction: Claim837P | Claim837I,
        queued: list[_PendingClaim],
    ) -> list[ClaimOutcome]:
        """Each claim's front-end edits; the accepted ones go to ``queued`` (for adjudication once the whole file
        is read)."""
        contexts = (
            list(iter_professional_claims(transaction))
            if isinstance(transaction, Claim837P)
            else list(iter_institutional_claims(transaction))
        )
        outcomes = []
        for context in contexts:
            claim = received_claim(context, self.today)
            claim.problems = front_end_edits(claim, self.population)
            if claim.problems or claim.member is None:
                outcomes.append(ClaimOutcome(claim, None))
                continue
            payer = self.population.payers[claim.payer_id]
            number = f"{payer.payer_id}{self.today:%y%m%d}{self._next('claim'):06d}"
            days = self.scenario.for_payer(payer.payer_id).adjudication_days
            due = self.today + timedelta(days=payer.adjudication_days if days is None else days)
            queued.append(_PendingClaim(tenant_id, submitter, usage, claim, claim.member, number, self.today, due))
            outcomes.append(ClaimOutcome(claim, number))
        return outcomes

    # ------------------------------------------------------------------ adjudication → 835

    def advance(self, days: int) -> list[CheckRun]:
        """Move the payer clock ``days`` forward, running each day's check runs (``0``: run today's again)."""
        with self._lock:
            runs = []
            if days == 0:
                runs.append(self._check_run())
            for _ in range(days):
                self.today += timedelta(days=1)
                runs.append(self._check_run())
            return runs

    def queue_recoupment(self, tenant_id: str, payer_claim_control_number: str, amount: Decimal) -> None:
        """Recover an overpayment on a paid claim through the payee's next ERA (PLB WO)."""
        with self._lock:
            found = self._adjudicated.get(payer_claim_control_number)
            if found is None or found[0].tenant_id != tenant_id:
                raise NotFound("PaidClaim", payer_claim_control_number)
            pending, adjudication = found
            if amount <= 0 or amount > adjudication.paid:
                raise InvalidInput(f"recoupment must be between 0.01 and the paid amount {adjudication.paid}")
            key = (tenant_id, pending.claim.payer_id, pending.claim.billing_npi or "")
            self._provider_adjustments.setdefault(key, []).append(
                ProviderAdjustment("WO", amount, payer_claim_control_number)
            )

    def _check_run(self) -> CheckRun:
        due = [p for p in self._pending if p.due_on <= self.today]
        self._pending = [p for p in self._pending if p.due_on > self.today]
        drafts: dict[tuple[str, str, str], EraDraft] = {}
        finalized: dict[tuple[str, str, str], list[str]] = {}  # payee → payer claim numbers its ERA finalizes
        claims = 0
        for pending in due:
            claim = pending.claim
            key = (pending.tenant_id, claim.payer_id, claim.billing_npi or "")
            self._payees[key] = _Payee(
                claim.billing_name, claim.billing_tax_id, pending.submitter_id, pending.usage_indicator
            )
            draft = drafts.get(key) or self._draft(key)
            drafts[key] = draft
            finalized.setdefault(key, []).append(pending.payer_claim_control_number)
            claims += 1
            if claim.frequency_code in ("7", "8") and claim.original_claim_number:
                original = self._adjudicated.get(claim.original_claim_number)
                if original is not None and original[0].tenant_id == pending.tenant_id and not original[1].reversed:
                    draft.adjudications.append(reverse(original[1], self.accumulators, self._paid_keys, self.today))
                if claim.frequency_code == "8":
                    continue
            adjudication = self._adjudicate(pending)
            self._adjudicated[pending.payer_claim_control_number] = (pending, adjudication)
            draft.adjudications.append(adjudication)
            self._add_interest(draft, pending, adjudication)
        for key, adjustments in self._provider_adjustments.items():
            if adjustments and key not in drafts and key in self._payees:
                drafts[key] = self._draft(key)
        files: dict[tuple[str, str, str, str], list[EraDraft]] = {}
        for key, draft in drafts.items():
            draft.provider_adjustments += self._provider_adjustments.pop(key, [])
            total = era_total(draft)
            if total < 0:
                # Never send a negative payment: pay nothing now and take the balance from the next ERA.
                draft.provider_adjustments.append(ProviderAdjustment("FB", total, draft.trace_number))
                self._provider_adjustments.setdefault(key, []).append(
                    ProviderAdjustment("FB", -total, draft.trace_number)
                )
            method = "ACH" if total > 0 else "NON"
            for number in finalized.get(key, []):
                self._remitted[number] = Remitted(draft.trace_number, draft.check_date, method)
            tenant_id, payer_id, _ = key
            payee = self._payees[key]
            files.setdefault((tenant_id, payer_id, payee.receiver_id, payee.usage_indicator), []).append(draft)
        mailbox_ids = []
        for (tenant_id, payer_id, receiver, usage), file_drafts in files.items():
            content = self._write([build_835(d) for d in file_drafts], receiver, usage)
            entry = self.mailbox.put(
                tenant_id,
                ResponseKind.REMITTANCE_835,
                f"ERA-{payer_id}-{self.today:%Y%m%d}-{self._next('era-file'):04d}.835.x12",
                self.now,
                content,
            )
            mailbox_ids.append(entry.id)
        return CheckRun(day=self.today, eras=len(drafts), claims=claims, mailbox_ids=mailbox_ids)

    def _adjudicate(self, pending: _PendingClaim) -> Adjudication:
        """A primary claim on the payer's rules, a secondary or tertiary one on what earlier payers left; a paid
        claim may then be crossed over to the member's next plan (scenario)."""
        claim = pending.claim
        behaviour = self.scenario.for_payer(claim.payer_id)
        if claim.payer_sequence != "P":
            adjudication = coordinate(
                claim,
                member=pending.member,
                payer_claim_control_number=pending.payer_claim_control_number,
                population=self.population,
                received_on=pending.received_on,
                today=self.today,
            )
        else:
            adjudication = adjudicate(
                claim,
                member=pending.member,
                payer_claim_control_number=pending.payer_claim_control_number,
                population=self.population,
                accumulators=self.accumulators,
                paid_keys=self._paid_keys,
                received_on=pending.received_on,
                today=self.today,
                denial=scenario_denial(self.settings.seed, pending.payer_claim_control_number, behaviour.denial_rate),
            )
        forwarded = crossover(adjudication, self.population, self.settings.seed, behaviour.crossover_rate)
        if forwarded is not None:
            adjudication.status, adjudication.crossed_over_to = forwarded
        return adjudication

    def _draft(self, key: tuple[str, str, str]) -> EraDraft:
        _, payer_id, npi = key
        payee = self._payees[key]
        return EraDraft(
            payer=self.population.payers[payer_id],
            payee_npi=npi,
            payee_name=payee.name,
            payee_tax_id=payee.tax_id,
            receiver_id=payee.receiver_id,
            trace_number=f"{payer_id}{self.today:%Y%m%d}{self._next('trace'):06d}",
            check_date=self.today,
        )

    def _add_interest(self, draft: EraDraft, pending: _PendingClaim, adjudication: Adjudication) -> None:
        """Prompt-pay interest (PLB L6, negative = paid to the provider) when the payer paid late."""
        payer = self.population.payers[pending.claim.payer_id]
        late_days = (self.today - pending.received_on).days - payer.prompt_pay_days
        if late_days <= 0 or adjudication.paid <= 0:
            return
        interest = (adjudication.paid * _INTEREST_RATE * late_days / 365).quantize(Decimal("0.01"))
        if interest > 0:
            draft.provider_adjustments.append(
                ProviderAdjustment("L6", -interest, adjudication.payer_claim_control_number)
            )

    def accumulator(self, member_key: str, plan_year: int, network: Network) -> Accumulator:
        """A copy of one member's accumulator."""
        with self._lock:
            live = self.accumulators.get(member_key, plan_year, network)
            return Accumulator(live.deductible_met, live.out_of_pocket_met)

    def family_accumulator(self, family_key: str, plan_year: int, network: Network) -> Accumulator:
        """A copy of one family's accumulator (what its members paid together)."""
        with self._lock:
            live = self.accumulators.family(family_key, plan_year, network)
            return Accumulator(live.deductible_met, live.out_of_pocket_met)

    # ------------------------------------------------------------------ mailbox

    def mailbox_list(self, tenant_id: str, after: str | None, limit: int) -> list[MailboxEntry]:
        """The tenant's response files after a cursor."""
        with self._lock:
            return self.mailbox.list(tenant_id, after, limit)

    def mailbox_get(self, tenant_id: str, entry_id: str) -> MailboxEntry:
        """One response file."""
        with self._lock:
            return self.mailbox.get(tenant_id, entry_id)
