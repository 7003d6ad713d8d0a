"""Payment posting: 835 files in, ledger entries and events out.

Each ERA (835 transaction set) posts in one transaction: its claim payments, its provider-level adjustments, the
claims' new standing and the outbox events. Duplicates are recognised by the ERA's fingerprint (payer, trace number,
amounts) under a unique constraint, so a file read twice — uploaded again, redelivered by a mailbox, or posted by
two processes at once — never posts twice, and a file whose posting was cut short by a crash posts the ERAs it had
not posted when it is read again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import String, Table, and_, func, literal
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_connect.errors import ConnectorError
from claimflow_connect.models import ResponseKind
from claimflow_connect.routing import ConnectorRouter
from claimflow_events import ClaimDenied, ClaimResubmitted, PatientBalanceUpdated, PaymentPosted
from claimflow_events.payloads import EventPayload, LineAdjudication
from claimflow_events.types import Adjustment, ClaimAdjustmentGroup, PayerSequence
from claimflow_kit.app import ServiceContext
from claimflow_kit.bulk import insert_rows
from claimflow_kit.db import is_transient
from claimflow_kit.errors import Conflict, InvalidInput, NotFound
from claimflow_kit.identifiers import new_id
from claimflow_kit.mailbox_cursor import read_cursor, save_cursor
from claimflow_kit.outbox import Outbox
from claimflow_kit.tables import distinct_values, utcnow
from claimflow_x12 import parse
from claimflow_x12.guides.remittance_835 import Remittance835
from claimflow_x12.parser import ParsedTransaction
from claimflow_x12.validate import validate_transaction
from remit_svc.adapters.tables import (
    ClaimPaymentRecord,
    EarlyCorrection,
    LedgerEntry,
    MailboxCursor,
    OpenClaim,
    Remittance,
    RemittanceFile,
)
from remit_svc.domain.era import NOT_OUR_CLAIM, PREDETERMINATION, ZERO, CasAmount, ClaimPayment, Era, era_from_835
from remit_svc.domain.ledger import (
    Account,
    EntryKind,
    Outcome,
    Posting,
    Transferred,
    Unsettled,
    adjudicated,
    charge_postings,
    claim_payment_postings,
    classify_adjustment,
    cob_hand_back,
    cob_take_over,
    next_payer_postings,
    provider_adjustment_postings,
    unapplied_postings,
)
from remit_svc.domain.matching import BilledLine, LineMatch, match_lines

logger = logging.getLogger(__name__)

_SEQUENCES = {"2": PayerSequence.SECONDARY, "20": PayerSequence.SECONDARY, "3": PayerSequence.TERTIARY}
_SEQUENCES["21"] = PayerSequence.TERTIARY


@dataclass(frozen=True)
class EraReport:
    """What became of one ERA of a file."""

    status: str  # posted, held, duplicate, unreadable
    remittance_id: str | None = None
    payer_id: str | None = None
    trace_number: str | None = None
    payment_amount: Decimal | None = None
    claims: int = 0
    posted: int = 0
    unmatched: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class IngestReport:
    """What became of a file."""

    file_id: str
    remittances: list[EraReport] = field(default_factory=list)

    @property
    def new(self) -> bool:
        """True when anything in the file was not seen before."""
        return any(r.status != "duplicate" for r in self.remittances)


def billed_lines(claim: OpenClaim) -> list[BilledLine]:
    """The claim's lines as claim-submitted billed them."""
    return [
        BilledLine(
            line_item_control_number=line["line_item_control_number"],
            procedure_code=line["procedure_code"],
            modifiers=tuple(m for m in line.get("modifiers", "").split(":") if m),
            charge=Decimal(line["charge"]),
            service_date=date.fromisoformat(line["service_date"]),
        )
        for line in claim.lines
    ]


def ledger_values(
    postings: Sequence[Posting],
    *,
    tenant_id: str,
    journal_id: str,
    effective_date: date,
    claim: OpenClaim | None = None,
    payer_id: str | None = None,
    patient_id: str | None = None,
    guarantor_id: str | None = None,
    remittance_id: str | None = None,
) -> list[dict[str, Any]]:
    """Ledger row values for ``postings``, carrying the claim's keys so AR is read without joins."""
    journal = {
        "tenant_id": tenant_id,
        "journal_id": journal_id,
        "claim_id": claim.id if claim else None,
        "patient_id": claim.patient_id if claim else patient_id,
        "guarantor_id": claim.guarantor_id if claim else guarantor_id,
        "payer_id": claim.payer_id if claim else payer_id,
        "practice_id": claim.practice_id if claim else None,
        "remittance_id": remittance_id,
        "effective_date": effective_date,
        "posted_at": utcnow(),
    }
    return [
        {
            **journal,
            "account": _ACCOUNTS[p.account],
            "kind": _KINDS[p.kind],
            "amount": p.amount,
            "line_item_control_number": p.line_item_control_number,
            "group_code": p.group_code,
            "carc": p.carc,
            "memo": p.memo,
        }
        for p in postings
    ]


# Column values of the ledger's enums, looked up once (``member.value`` is a descriptor call per row).
_ACCOUNTS = {account: account.value for account in Account}
_KINDS = {kind: kind.value for kind in EntryKind}


async def add_ledger(
    session: AsyncSession,
    postings: Sequence[Posting],
    *,
    tenant_id: str,
    journal_id: str,
    effective_date: date,
    claim: OpenClaim | None = None,
    payer_id: str | None = None,
    patient_id: str | None = None,
    guarantor_id: str | None = None,
) -> None:
    """Write the ledger rows of ``postings`` now, in one multi-row INSERT (SQLite gives the ORM no ids for one, so it
    wrote an INSERT per row; the ids are never needed)."""
    values = ledger_values(
        postings, tenant_id=tenant_id, journal_id=journal_id, effective_date=effective_date, claim=claim,
        payer_id=payer_id, patient_id=patient_id, guarantor_id=guarantor_id,
    )  # fmt: skip
    await insert_rows(session, _table(LedgerEntry), values)


async def guarantor_balances(session: AsyncSession, tenant_id: str, guarantor_ids: set[str]) -> dict[str, Decimal]:
    """What each guarantor owes now (patient AR)."""
    rows = await session.exec(
        select(LedgerEntry.guarantor_id, func.sum(LedgerEntry.amount))
        .where(
            LedgerEntry.tenant_id == tenant_id,
            LedgerEntry.account == Account.PATIENT_AR.value,
            col(LedgerEntry.guarantor_id).in_(sorted(guarantor_ids)),
        )
        .group_by(col(LedgerEntry.guarantor_id))
    )
    return {str(guarantor): Decimal(total).quantize(Decimal("0.01")) for guarantor, total in rows.all()}


async def guarantor_balance(session: AsyncSession, tenant_id: str, guarantor_id: str) -> Decimal:
    """What one guarantor owes now (patient AR)."""
    return (await guarantor_balances(session, tenant_id, {guarantor_id})).get(guarantor_id, Decimal("0.00"))


def _contract(items: Sequence[tuple[CasAmount, str | None]]) -> tuple[Adjustment, ...]:
    """CAS amounts as the event contract carries them."""
    return tuple(
        Adjustment(
            group_code=ClaimAdjustmentGroup(cas.group_code),
            carc=cas.carc,
            amount=cas.amount,
            line_item_control_number=control_number,
        )
        for cas, control_number in items
    )


def _line_adjudications(payment: ClaimPayment, assigned: Sequence[str | None]) -> tuple[LineAdjudication, ...]:
    """Each matched line's adjudication as the event contract carries it (the next payer's 837 reports it)."""
    return tuple(
        LineAdjudication(
            line_item_control_number=control_number,
            procedure_code=line.procedure_code,
            modifiers=line.modifiers,
            charge=line.charge,
            paid_amount=line.paid,
            units=line.units,
        )
        for line, control_number in zip(payment.lines, assigned, strict=True)
        if control_number is not None
    )


SUPERSEDED = ("replaced", "voided", "resubmitted")  # "resubmitted": rejected, then sent again as new


async def close_superseded(
    session: AsyncSession,
    claim: OpenClaim,
    effective_date: date,
    *,
    lines: Sequence[str] = (),
    outbox: Outbox | None = None,
) -> None:
    """A replaced or voided claim owes nothing: whatever insurance or denied AR it still carries (its charges when
    the payer had not answered yet, a denial being corrected, or what the payer's reversal reopened) goes back
    against charges — the replacement claim carries the charges now. With ``lines`` (line item control numbers),
    only those lines leave: a claim of corrected lines only carries them now, and the rest of the claim stands.

    A whole next-payer claim (secondary, tertiary) is different: its charge was booked with the first payer's
    claim, so it gives the prior claim back the balance it took over instead (``_hand_back_to_prior``)."""
    if claim.prior_claim_id and not lines:
        await _hand_back_to_prior(session, outbox, claim, effective_date)
        return
    # Per line when only some lines leave (so each line's balance closes), per account for the whole claim.
    line = col(LedgerEntry.line_item_control_number) if lines else literal(None, String)
    query = select(line, LedgerEntry.account, func.sum(LedgerEntry.amount)).where(
        LedgerEntry.tenant_id == claim.tenant_id,
        LedgerEntry.claim_id == claim.id,
        col(LedgerEntry.account).in_([Account.INSURANCE_AR.value, Account.DENIED_AR.value]),
    )
    if lines:
        query = query.where(line.in_(list(lines))).group_by(line, col(LedgerEntry.account))
        memo = "lines corrected on another claim"
    else:
        query = query.group_by(col(LedgerEntry.account))
        memo = f"claim {claim.status}"
    reversal: list[Posting] = []
    for licn, account, total in (await session.exec(query)).all():
        amount = Decimal(total).quantize(Decimal("0.01"))
        if amount:
            reversal += [
                Posting(Account.CHARGES, amount, EntryKind.CHARGE_REVERSAL, licn, memo=memo),
                Posting(Account(account), -amount, EntryKind.CHARGE_REVERSAL, licn, memo=memo),
            ]
    if reversal:
        await add_ledger(
            session,
            reversal,
            tenant_id=claim.tenant_id,
            journal_id=_journal(),
            effective_date=effective_date,
            claim=claim,
        )


def charge_rows(claim: OpenClaim) -> list[dict[str, Any]]:
    """Ledger rows putting the charges of a newly submitted claim on the ledger, in a journal of their own."""
    return ledger_values(
        charge_postings(billed_lines(claim)),
        tenant_id=claim.tenant_id,
        journal_id=_journal(),
        effective_date=claim.service_date or claim.submitted_at.date(),
        claim=claim,
    )


def _table(model: type[SQLModel]) -> Table:
    """The Core table of a model: multi-row inserts through it skip the ORM's per-row bookkeeping."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def _journal() -> str:
    return new_id("jnl")


class _Writes:
    """What one posting will write: ledger rows, claims whose standing changed, events, patient balance changes.

    Rows are gathered first and written in bulk (one multi-row INSERT per table), which is what makes posting a
    thousand-claim ERA take a fraction of a second instead of one round trip per row.
    """

    def __init__(self, remittance: Remittance, era: Era) -> None:
        self.remittance = remittance
        self.era = era
        self.now = utcnow()
        self.ledger: list[dict[str, Any]] = []
        self.claims: dict[str, OpenClaim] = {}
        self.events: list[tuple[OpenClaim, EventPayload]] = []
        self.patient_changes: list[tuple[OpenClaim, Decimal, bool]] = []

    def unapplied(self, amount: Decimal, *, applying: bool = False) -> None:
        """Hold (or release) cash of a claim payment nobody has matched."""
        self.ledger += ledger_values(
            unapplied_postings(amount, applying=applying), tenant_id=self.remittance.tenant_id,
            journal_id=_journal(), effective_date=self.era.payment_date, payer_id=self.era.payer_id,
            remittance_id=self.remittance.id,
        )  # fmt: skip

    def post_claim(self, payment: ClaimPayment, claim: OpenClaim, match: LineMatch, matched_by: str) -> dict[str, Any]:
        """Ledger rows and events for one matched claim payment; returns the claim payment's new fields."""
        era, remittance, now = self.era, self.remittance, self.now
        self.ledger += ledger_values(
            claim_payment_postings(payment, match.assigned), tenant_id=claim.tenant_id, journal_id=_journal(),
            effective_date=era.payment_date, claim=claim, remittance_id=remittance.id,
        )  # fmt: skip
        facts = adjudicated(payment)
        if claim.status not in SUPERSEDED:  # a replaced or voided claim stays so; its AR is closed in _write
            claim.status = facts.outcome.value
        if facts.paid > 0 and claim.first_paid_at is None:
            claim.first_paid_at = now
        claim.updated_at = now
        self.claims[claim.id] = claim
        adjustments = [
            (cas, control_number)
            for line, control_number in zip(payment.lines, match.assigned, strict=True)
            for cas in line.adjustments
        ] + [(cas, None) for cas in payment.adjustments]
        if facts.outcome is not Outcome.DENIED:
            self.events.append(
                (
                    claim,
                    PaymentPosted(
                        claim_id=claim.id,
                        patient_control_number=claim.patient_control_number,
                        payer_id=claim.payer_id,
                        payer_sequence=_SEQUENCES.get(payment.status_code, PayerSequence.PRIMARY),
                        era_id=remittance.id,
                        trace_number=era.trace_number,
                        payer_claim_control_number=payment.payer_claim_control_number,
                        claim_status_code=payment.status_code,
                        total_charge=payment.charge,
                        paid_amount=payment.paid,
                        patient_responsibility=facts.patient_responsibility,
                        deductible=facts.deductible,
                        coinsurance=facts.coinsurance,
                        copay=facts.copay,
                        adjustments=_contract(adjustments),
                        is_reversal=payment.is_reversal,
                        crossed_over_to=payment.crossover_payer,
                        lines=_line_adjudications(payment, match.assigned),
                        adjudicated_on=era.payment_date,
                        posted_at=now,
                    ),
                )
            )
        if facts.denied > 0:
            denials = [(cas, n) for cas, n in adjustments if classify_adjustment(cas)[1] is EntryKind.DENIAL]
            remarks = payment.remark_codes + tuple(r for line in payment.lines for r in line.remark_codes)
            self.events.append(
                (
                    claim,
                    ClaimDenied(
                        claim_id=claim.id,
                        patient_control_number=claim.patient_control_number,
                        payer_id=claim.payer_id,
                        era_id=remittance.id,
                        payer_claim_control_number=payment.payer_claim_control_number,
                        claim_status_code=payment.status_code,
                        total_charge=payment.charge,
                        denied_amount=facts.denied,
                        adjustments=_contract(denials or [(c, n) for c, n in adjustments if c.group_code != "PR"]),
                        remark_codes=tuple(dict.fromkeys(remarks)),
                        denied_at=now,
                    ),
                )
            )
        if facts.patient_responsibility:
            self.patient_changes.append((claim, facts.patient_responsibility, payment.is_reversal))
        return {
            "claim_id": claim.id,
            "state": "posted",
            "outcome": facts.outcome.value,
            "denied_amount": facts.denied,
            "matched_by": matched_by,
            "posted_at": now,
        }


class RemittancePoster:
    """Reads 835s (uploads and connector mailboxes) and posts them."""

    def __init__(self, context: ServiceContext, connectors: ConnectorRouter | None = None) -> None:
        self.context = context
        self.connectors = connectors

    # --- files ---------------------------------------------------------------------------------------------

    async def ingest(
        self, tenant_id: str, content: bytes, *, source: str = "upload", filename: str | None = None
    ) -> IngestReport:
        """Post every ERA of an 835 file; raise InvalidInput (nothing stored) when the file holds no readable 835."""
        if b"\x00" in content:  # not an X12 character, and no text column can hold it: refuse before posting any ERA
            raise InvalidInput("the file contains NUL (0x00) bytes, which X12 does not allow")
        result = parse(content)
        remittances = [
            pt for group in result.groups for pt in group.transactions if pt.header.transaction_set_id == "835"
        ]
        if not remittances:
            problems = "; ".join(str(e) for e in result.errors[:10]) or "the file holds no 835 transaction set"
            raise InvalidInput(
                f"not an 835 remittance file: {problems}", extra={"errors": [str(e) for e in result.errors[:50]]}
            )
        file_id = await self._store_file(tenant_id, content, source, filename, "read", [])
        reports = []
        for index, parsed in enumerate(remittances):
            reports.append(await self._post_era(tenant_id, file_id, index, parsed))
        return IngestReport(file_id, reports)

    async def _store_file(
        self, tenant_id: str, content: bytes, source: str, filename: str | None, status: str, errors: list[str]
    ) -> str:
        digest = hashlib.sha256(content).hexdigest()
        for _ in range(2):
            try:
                async with self.context.database.transaction() as session:
                    existing = (
                        await session.exec(
                            select(RemittanceFile).where(
                                RemittanceFile.tenant_id == tenant_id, RemittanceFile.sha256 == digest
                            )
                        )
                    ).first()
                    if existing is not None:
                        return existing.id
                    row = RemittanceFile(
                        id=new_id("rmf"),
                        tenant_id=tenant_id,
                        sha256=digest,
                        source=source,
                        filename=filename,
                        content=content.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
                        status=status,
                        errors=errors,
                    )
                    session.add(row)
                    return row.id
            except IntegrityError:
                continue  # the same file stored by another request a moment ago: read it back
        raise Conflict("the same remittance file is being stored concurrently; retry")

    async def _post_era(self, tenant_id: str, file_id: str, index: int, parsed: ParsedTransaction) -> EraReport:
        transaction = parsed.transaction
        if not isinstance(transaction, Remittance835):
            reason = "; ".join(str(e) for e in parsed.errors[:10]) or "the 835 could not be read"
            return EraReport("unreadable", reason=reason)
        era = era_from_835(transaction)
        problems = [str(e) for e in parsed.errors] + [str(e) for e in validate_transaction(transaction)]
        try:
            async with self.context.database.transaction() as session:
                duplicate = (
                    await session.exec(
                        select(Remittance).where(
                            Remittance.tenant_id == tenant_id, Remittance.fingerprint == era.fingerprint
                        )
                    )
                ).first()
                if duplicate is not None:
                    return self._report(duplicate, "duplicate", f"already received as {duplicate.id}")
                remittance = Remittance(
                    id=new_id("era"),
                    tenant_id=tenant_id,
                    file_id=file_id,
                    transaction_index=index,
                    fingerprint=era.fingerprint,
                    payer_id=era.payer_id,
                    payer_name=(era.payer_name or "")[:60] or None,
                    trace_number=era.trace_number,
                    payment_amount=era.payment_amount,
                    handling_code=era.handling_code,
                    payment_method=era.payment_method,
                    payment_date=era.payment_date,
                    payee_npi=era.payee_npi,
                    status="held" if problems else "posted",
                    held_reason="; ".join(problems) if problems else None,
                    claim_count=len(era.claims),
                    provider_adjustment_total=sum((p.amount for p in era.provider_adjustments), ZERO),
                )
                session.add(remittance)
                if not problems:
                    await self._post_contents(session, remittance, era)
                return self._report(remittance, remittance.status, remittance.held_reason)
        except IntegrityError:
            return EraReport(
                "duplicate", payer_id=era.payer_id, trace_number=era.trace_number, reason="posted concurrently"
            )

    @staticmethod
    def _report(remittance: Remittance, status: str, reason: str | None) -> EraReport:
        return EraReport(
            status,
            remittance.id,
            remittance.payer_id,
            remittance.trace_number,
            remittance.payment_amount,
            remittance.claim_count,
            remittance.posted_claims,
            remittance.unmatched_claims,
            reason,
        )

    async def _post_contents(self, session: AsyncSession, remittance: Remittance, era: Era) -> None:
        tenant_id = remittance.tenant_id
        writes = _Writes(remittance, era)
        writes.ledger += ledger_values(
            provider_adjustment_postings(era), tenant_id=tenant_id, journal_id=_journal(),
            effective_date=era.payment_date, payer_id=era.payer_id, remittance_id=remittance.id,
        )  # fmt: skip
        numbers = [
            c.patient_control_number for c in era.claims if c.status_code not in (NOT_OUR_CLAIM, PREDETERMINATION)
        ]
        claims = await self._open_claims(session, tenant_id, numbers)
        records: list[dict[str, Any]] = []
        posted = unmatched = 0
        for index, payment in enumerate(era.claims):
            record: dict[str, Any] = {
                "id": new_id("cpay"),
                "tenant_id": tenant_id,
                "remittance_id": remittance.id,
                "claim_index": index,
                "patient_control_number": payment.patient_control_number,
                "payer_id": era.payer_id,
                "status_code": payment.status_code,
                "charge": payment.charge,
                "paid": payment.paid,
                "patient_responsibility": payment.patient_responsibility,
                "denied_amount": ZERO,
                "payer_claim_control_number": payment.payer_claim_control_number,
                "state": "unmatched",
                "claim_id": None,
                "outcome": None,
                "unmatched_reason": None,
                "matched_by": None,
                "posted_at": None,
                "created_at": writes.now,
            }
            records.append(record)
            if payment.status_code in (NOT_OUR_CLAIM, PREDETERMINATION):
                record["state"] = "informational"
                continue
            claim = claims.get(payment.patient_control_number)
            match = match_lines(payment, billed_lines(claim)) if claim is not None else None
            if claim is None or match is None or not match.complete:
                record["claim_id"] = claim.id if claim is not None else None
                record["unmatched_reason"] = (
                    "; ".join(match.unmatched_reasons)
                    if match is not None
                    else f"no submitted claim has patient control number {payment.patient_control_number}"
                )
                unmatched += 1
                if payment.paid:
                    writes.unapplied(payment.paid)
                continue
            record.update(writes.post_claim(payment, claim, match, "fallback" if match.by_fallback else "auto"))
            posted += 1
        remittance.posted_claims, remittance.unmatched_claims = posted, unmatched
        await insert_rows(session, _table(ClaimPaymentRecord), records)
        await self._write(session, writes)

    async def _write(self, session: AsyncSession, writes: _Writes) -> None:
        await write_posting(session, self.context.outbox, writes)

    @staticmethod
    async def _open_claims(session: AsyncSession, tenant_id: str, numbers: list[str]) -> dict[str, OpenClaim]:
        """The claims of these patient control numbers, locked (in id order) until the posting commits: a
        correction or an acknowledgment handled meanwhile waits for it, and the posting sees one that committed."""
        found: dict[str, OpenClaim] = {}
        unique = sorted(set(numbers))
        for start in range(0, len(unique), 500):
            rows = await session.exec(
                select(OpenClaim)
                .where(
                    OpenClaim.tenant_id == tenant_id,
                    col(OpenClaim.patient_control_number).in_(unique[start : start + 500]),
                )
                .order_by(col(OpenClaim.id))
                .with_for_update()
            )
            found.update({c.patient_control_number: c for c in rows.all()})
        return found

    # --- the unmatched work queue ---------------------------------------------------------------------------

    async def match_manually(self, tenant_id: str, payment_id: str, claim_id: str, user: str) -> ClaimPaymentRecord:
        """Post an unmatched claim payment to the claim a biller picked; its lines still have to match."""
        async with self.context.database.transaction() as session:
            record = await session.get(ClaimPaymentRecord, payment_id, with_for_update=True)
            if record is None or record.tenant_id != tenant_id:
                raise NotFound("ClaimPayment", payment_id)
            if record.state != "unmatched":
                raise Conflict(f"claim payment {payment_id} is {record.state}, not unmatched")
            claim = await session.get(OpenClaim, claim_id)
            if claim is None or claim.tenant_id != tenant_id:
                raise NotFound("OpenClaim", claim_id)
            await apply_unmatched(session, self.context.outbox, record, claim, user[:16])
            return record

    # --- claims from claim-submitted ------------------------------------------------------------------------

    @staticmethod
    async def open_claim_postings(session: AsyncSession, *claims: OpenClaim) -> None:
        """Put the charges of newly submitted claims on the ledger (a journal each, one multi-row INSERT)."""
        rows = [row for claim in claims for row in charge_rows(claim)]
        await insert_rows(session, _table(LedgerEntry), rows)

    # --- mailboxes ------------------------------------------------------------------------------------------

    async def poll_mailboxes(self) -> int:
        """Read new 835s from every mailbox of every tenant with submitted claims; returns ERAs posted."""
        if self.connectors is None:
            return 0
        async with self.context.database.transaction() as session:
            tenants = list((await session.exec(distinct_values(col(OpenClaim.tenant_id)))).all())
        posted = 0
        for tenant_id in tenants:
            for key, connector in self.connectors.mailboxes(tenant_id):
                after = await read_cursor(self.context.database, MailboxCursor, tenant_id, key)
                try:
                    items = await connector.fetch_responses(tenant_id, after)
                except ConnectorError as exc:
                    logger.warning("mailbox unavailable: %s", exc.error_code)
                    continue
                done: list[str] = []
                for item in items:
                    if item.kind is ResponseKind.REMITTANCE_835:
                        posted += await self._ingest_delivered(tenant_id, item.content, f"mailbox:{key}", item.filename)
                        done.append(item.id)
                    await save_cursor(self.context.database, MailboxCursor, tenant_id, key, item.cursor)
                if done:
                    await connector.acknowledge(tenant_id, done)
        return posted

    async def _ingest_delivered(self, tenant_id: str, content: bytes, source: str, filename: str) -> int:
        """Post a delivered file; an unreadable one is kept with its errors (nothing is lost) and logged."""
        try:
            report = await self.ingest(tenant_id, content, source=source, filename=filename)
        except InvalidInput as exc:
            await self._store_file(tenant_id, content, source, filename, "unreadable", [exc.detail])
            logger.warning("unreadable 835 %s from %s kept for review", filename, source)
            return 0
        return sum(1 for r in report.remittances if r.status == "posted")

    async def settle_late_arrivals(self, limit: int = 200) -> int:
        """Post the payments, and apply the corrections, that wait for a claim which has arrived since; returns how
        many. claim-submitted's handler takes them when it arrives, but on PostgreSQL a posting (or a correction)
        committing while that handler runs is seen by neither side: each read before the other committed. The
        mailbox round settles those within a round."""
        settled = 0
        async with self.context.database.transaction() as session:
            waiting = await session.exec(
                select(ClaimPaymentRecord, OpenClaim)
                .join(
                    OpenClaim,
                    and_(
                        col(OpenClaim.tenant_id) == col(ClaimPaymentRecord.tenant_id),
                        col(OpenClaim.patient_control_number) == col(ClaimPaymentRecord.patient_control_number),
                    ),
                )
                .where(ClaimPaymentRecord.state == "unmatched", col(ClaimPaymentRecord.claim_id).is_(None))
                .order_by(col(ClaimPaymentRecord.id))
                .limit(limit)
                .with_for_update()
            )
            for record, claim in waiting.all():
                if record.state != "unmatched" or record.claim_id is not None:  # two claims share the number
                    continue
                await late_match(session, self.context.outbox, record, claim)
                settled += 1
            early = await session.exec(
                select(EarlyCorrection, OpenClaim)
                .join(
                    OpenClaim,
                    and_(
                        col(OpenClaim.tenant_id) == col(EarlyCorrection.tenant_id),
                        col(OpenClaim.id) == col(EarlyCorrection.original_claim_id),
                    ),
                )
                .order_by(col(EarlyCorrection.id))
                .limit(limit)
                .with_for_update()
            )
            for correction, original in early.all():
                await session.delete(correction)
                event = ClaimResubmitted.model_validate(correction.event)
                await supersede(session, self.context.outbox, original.tenant_id, original, event)
                settled += 1
        return settled

    async def run_forever(self, idle_seconds: float) -> None:
        """Keep reading mailboxes and settling what waited for its claim (errors are logged, the round retried)."""
        while True:
            try:
                await self.poll_mailboxes()
                await self.settle_late_arrivals()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_transient(exc):  # the database is away, or a deadlock with the worker: the next round redoes it
                    logger.warning("remittance mailbox round interrupted (%s); retrying", type(exc).__name__)
                else:
                    logger.exception("remittance mailbox round failed; retrying")
            await asyncio.sleep(idle_seconds)


async def write_posting(session: AsyncSession, outbox: Outbox, writes: _Writes) -> None:
    """Store the ledger rows, the claims' new standing and the events of one posting."""
    await insert_rows(session, _table(LedgerEntry), writes.ledger)
    for claim in writes.claims.values():
        session.add(claim)
        if claim.status in SUPERSEDED:
            await close_superseded(session, claim, writes.era.payment_date)
    changed = {claim.guarantor_id for claim, _, _ in writes.patient_changes}
    balances = await guarantor_balances(session, writes.remittance.tenant_id, changed) if changed else {}
    events = list(writes.events)
    for claim, change, reversal in writes.patient_changes:
        events.append(
            (
                claim,
                PatientBalanceUpdated(
                    guarantor_id=claim.guarantor_id,
                    patient_id=claim.patient_id,
                    claim_id=claim.id,
                    change=change,
                    balance=balances.get(claim.guarantor_id, ZERO),
                    reason="reversal" if reversal else "insurance adjudication",
                    updated_at=writes.now,
                ),
            )
        )
    await outbox.add_many(
        session,
        [(payload, claim.correlation_id or claim.id) for claim, payload in events],
        tenant_id=writes.remittance.tenant_id,
    )


class _ErasRead:
    """The ERAs of the last few stored files read again, by file id and position (stored files never change).

    The payments of one ERA that waited for their claims post one by one as the claims arrive; loading and reading
    the whole file again for each made that quadratic in the file's size (20 ms of CPU per claim with 500-claim
    ERAs, bench/remit).
    """

    def __init__(self, kept: int = 8) -> None:
        self.kept = kept
        self._eras: OrderedDict[tuple[str, int], Era] = OrderedDict()

    async def era(self, session: AsyncSession, file_id: str, index: int) -> Era:
        """The ``index``-th 835 of the stored file ``file_id``."""
        key = (file_id, index)
        found = self._eras.get(key)
        if found is not None:
            self._eras.move_to_end(key)
            return found
        file = await session.get(RemittanceFile, file_id)
        assert file is not None
        parsed = [
            pt
            for group in parse(file.content.encode()).groups
            for pt in group.transactions
            if pt.header.transaction_set_id == "835"
        ]
        transaction = parsed[index].transaction
        assert isinstance(transaction, Remittance835)
        era = self._eras[key] = era_from_835(transaction)
        if len(self._eras) > self.kept:
            self._eras.popitem(last=False)
        return era


_ERAS_READ = _ErasRead()


async def apply_unmatched(
    session: AsyncSession, outbox: Outbox, record: ClaimPaymentRecord, claim: OpenClaim, matched_by: str
) -> None:
    """Post a waiting (unmatched) claim payment to ``claim``; InvalidInput when its lines do not fit the claim."""
    remittance = await session.get(Remittance, record.remittance_id)
    assert remittance is not None
    era = await _ERAS_READ.era(session, remittance.file_id, remittance.transaction_index)
    payment = era.claims[record.claim_index]
    match = match_lines(payment, billed_lines(claim))
    if not match.complete:
        raise InvalidInput(f"claim {claim.id} does not fit: {'; '.join(match.unmatched_reasons)}")
    writes = _Writes(remittance, era)
    if payment.paid:
        writes.unapplied(payment.paid, applying=True)
    for field_name, value in writes.post_claim(payment, claim, match, matched_by).items():
        setattr(record, field_name, value)
    record.unmatched_reason = None
    await write_posting(session, outbox, writes)
    remittance.unmatched_claims -= 1
    remittance.posted_claims += 1
    session.add(remittance)
    session.add(record)


def _line_number(line_item_control_number: str | None) -> str:
    return (line_item_control_number or "").rsplit("-", 1)[-1]


async def _left_open(session: AsyncSession, claim: OpenClaim, prior: OpenClaim) -> dict[str, Unsettled]:
    """What each line of ``prior`` leaves open for the next payer now, by line number."""
    unsettled: dict[str, Unsettled] = {}
    rows = await session.exec(
        select(LedgerEntry.line_item_control_number, LedgerEntry.account, func.sum(LedgerEntry.amount))
        .where(
            LedgerEntry.tenant_id == claim.tenant_id,
            LedgerEntry.claim_id == prior.id,
            col(LedgerEntry.account).in_([Account.PATIENT_AR.value, Account.DENIED_AR.value]),
            col(LedgerEntry.line_item_control_number).is_not(None),
        )
        .group_by(col(LedgerEntry.line_item_control_number), col(LedgerEntry.account))
    )
    for licn, account, total in rows.all():
        amount = Decimal(total)
        if amount <= 0:
            continue
        left = unsettled.get(_line_number(licn), Unsettled(str(licn)))
        if account == Account.PATIENT_AR.value:
            left = Unsettled(left.line_item_control_number, amount, left.denied)
        else:
            left = Unsettled(left.line_item_control_number, left.patient, amount)
        unsettled[_line_number(licn)] = left
    return unsettled


async def _prior_of(session: AsyncSession, claim: OpenClaim, prior_claim_id: str | None) -> OpenClaim | None:
    prior = await session.get(OpenClaim, prior_claim_id) if prior_claim_id else None
    return prior if prior is not None and prior.tenant_id == claim.tenant_id else None


async def bill_next_payer(session: AsyncSession, outbox: Outbox, claim: OpenClaim, prior_claim_id: str) -> None:
    """Open a secondary (or tertiary) claim: what each prior claim line left open — the patient's share, and a
    denied amount the next plan is billed for — goes to this payer (the same line number); the guarantor's
    balance goes down by the patient's share (patient-balance-updated)."""
    prior = await _prior_of(session, claim, prior_claim_id)
    unsettled = await _left_open(session, claim, prior) if prior is not None else {}
    lines = billed_lines(claim)
    own, moved = next_payer_postings(lines, [unsettled.get(_line_number(li.line_item_control_number)) for li in lines])
    journal, effective = _journal(), claim.service_date or claim.submitted_at.date()
    await add_ledger(session, own, tenant_id=claim.tenant_id, journal_id=journal, effective_date=effective, claim=claim)
    if prior is not None and moved:
        await add_ledger(
            session, moved, tenant_id=claim.tenant_id, journal_id=journal, effective_date=effective, claim=prior
        )
        await _patient_balance_moved(session, outbox, prior, moved, "billed to the next payer")


async def take_over_from_prior(session: AsyncSession, outbox: Outbox, claim: OpenClaim, effective_date: date) -> None:
    """A next-payer claim opened before the claim it replaces gave its prior claim's balance back takes it over
    now (events of two claims arrive in any order)."""
    prior = await _prior_of(session, claim, claim.prior_claim_id)
    if prior is None:
        return
    unsettled = await _left_open(session, claim, prior)
    lines = billed_lines(claim)
    own, moved = cob_take_over(lines, [unsettled.get(_line_number(li.line_item_control_number)) for li in lines])
    if not moved:
        return
    journal = _journal()
    await add_ledger(
        session, own, tenant_id=claim.tenant_id, journal_id=journal, effective_date=effective_date, claim=claim
    )
    await add_ledger(
        session, moved, tenant_id=claim.tenant_id, journal_id=journal, effective_date=effective_date, claim=prior
    )
    await _patient_balance_moved(session, outbox, prior, moved, "billed to the next payer")


async def _hand_back_to_prior(
    session: AsyncSession, outbox: Outbox | None, claim: OpenClaim, effective_date: date
) -> None:
    """Close a superseded next-payer claim: its prior claim gets back what it still holds of it (``cob_hand_back``)."""
    prior = await _prior_of(session, claim, claim.prior_claim_id)
    open_ar = {
        Account(account): Decimal(total)
        for account, total in (
            await session.exec(
                select(LedgerEntry.account, func.sum(LedgerEntry.amount))
                .where(
                    LedgerEntry.tenant_id == claim.tenant_id,
                    LedgerEntry.claim_id == claim.id,
                    col(LedgerEntry.account).in_([Account.INSURANCE_AR.value, Account.DENIED_AR.value]),
                )
                .group_by(col(LedgerEntry.account))
            )
        ).all()
    }
    transferred: list[Transferred] = []
    if prior is not None:  # COB transfers on the prior claim name this claim's line in their memo
        own_lines = [line["line_item_control_number"] for line in claim.lines]
        rows = await session.exec(
            select(
                LedgerEntry.line_item_control_number,
                LedgerEntry.account,
                LedgerEntry.memo,
                func.sum(LedgerEntry.amount),
            )
            .where(
                LedgerEntry.tenant_id == claim.tenant_id,
                LedgerEntry.claim_id == prior.id,
                LedgerEntry.kind == EntryKind.COB_TRANSFER.value,
                col(LedgerEntry.memo).in_(own_lines),
            )
            .group_by(col(LedgerEntry.line_item_control_number), col(LedgerEntry.account), col(LedgerEntry.memo))
            .order_by(col(LedgerEntry.line_item_control_number), col(LedgerEntry.account))
        )
        transferred = [
            Transferred(str(licn), Account(account), -Decimal(total), str(memo))
            for licn, account, memo, total in rows.all()
            if Decimal(total) < 0
        ]
    own, back = cob_hand_back(open_ar, transferred)
    journal = _journal()
    await add_ledger(
        session, own, tenant_id=claim.tenant_id, journal_id=journal, effective_date=effective_date, claim=claim
    )
    if prior is not None and back:
        await add_ledger(
            session, back, tenant_id=claim.tenant_id, journal_id=journal, effective_date=effective_date, claim=prior
        )
    if prior is not None and back and outbox is not None:
        await _patient_balance_moved(session, outbox, prior, back, "the next payer's claim was superseded")


async def _patient_balance_moved(
    session: AsyncSession, outbox: Outbox, prior: OpenClaim, postings: Sequence[Posting], reason: str
) -> None:
    change = sum((p.amount for p in postings if p.account is Account.PATIENT_AR), ZERO)
    if not change:
        return
    balances = await guarantor_balances(session, prior.tenant_id, {prior.guarantor_id})
    outbox.add(
        session,
        PatientBalanceUpdated(
            guarantor_id=prior.guarantor_id,
            patient_id=prior.patient_id,
            claim_id=prior.id,
            change=change,
            balance=balances.get(prior.guarantor_id, ZERO),
            reason=reason,
            updated_at=utcnow(),
        ),
        tenant_id=prior.tenant_id,
        correlation_id=prior.correlation_id or prior.id,
    )


async def post_waiting_payments(session: AsyncSession, outbox: Outbox, claim: OpenClaim) -> int:
    """Claim payments that arrived before their claim did (an ERA read before claim-submitted was consumed) post
    now; returns how many. One whose lines do not fit stays in the work queue, now naming the claim."""
    waiting = await session.exec(
        select(ClaimPaymentRecord)
        .where(
            ClaimPaymentRecord.tenant_id == claim.tenant_id,
            ClaimPaymentRecord.patient_control_number == claim.patient_control_number,
            ClaimPaymentRecord.state == "unmatched",
            col(ClaimPaymentRecord.claim_id).is_(None),
        )
        .with_for_update()
    )
    posted = 0
    for record in waiting.all():
        posted += await late_match(session, outbox, record, claim)
    return posted


async def late_match(session: AsyncSession, outbox: Outbox, record: ClaimPaymentRecord, claim: OpenClaim) -> bool:
    """Post a payment that waited for ``claim``; False when its lines do not fit (it stays in the work queue, now
    naming the claim)."""
    try:
        await apply_unmatched(session, outbox, record, claim, "late-match")
    except InvalidInput as exc:
        record.claim_id = claim.id
        record.unmatched_reason = exc.detail
        session.add(record)
        return False
    return True


SUPERSEDING = {"7": "replaced", "8": "voided"}  # claim frequency → the original's status (else "resubmitted")


async def supersede(
    session: AsyncSession, outbox: Outbox, tenant_id: str, original: OpenClaim, event: ClaimResubmitted
) -> None:
    """``event``'s claim supersedes ``original``: it leaves AR (the new claim carries the charges; a next-payer claim
    gives its prior claim's balance back, and a new claim for that payer already open takes it over). A claim of
    corrected lines only takes just those lines of the original out of AR."""
    if original.status in SUPERSEDED:
        return
    effective = event.resubmitted_at.date()
    if event.corrected_lines:
        await close_superseded(session, original, effective, lines=event.corrected_lines)
        return
    original.status = SUPERSEDING.get(event.claim_frequency_code, "resubmitted")
    original.updated_at = utcnow()
    session.add(original)
    await close_superseded(session, original, effective, outbox=outbox)
    successor = await session.get(OpenClaim, event.claim_id)
    if (
        original.prior_claim_id is not None
        and successor is not None
        and successor.tenant_id == tenant_id
        and successor.prior_claim_id == original.prior_claim_id
        and successor.status not in SUPERSEDED
    ):
        await take_over_from_prior(session, outbox, successor, effective)
