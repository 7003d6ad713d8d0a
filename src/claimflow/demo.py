"""A day of a billing company, played against running services over their REST APIs.

An EHR integration posts the day's encounters for several client practices (some with coding problems, some
with a mistyped member id), the front desk checks eligibility for the schedule, coders fix what the edits held,
billers submit the clean claims, the payer-sandbox acknowledges them and — once its clock moves past the payers'
adjudication time — remits (with denials, partial payments, patient responsibility and a provider-level
recoupment), remit-svc posts the ERAs, claims-svc classifies the denials, and the day ends with the KPIs.

The same code drives the embedded stack of ``claimflow up`` (real ports) and the end-to-end test (in-process
apps): it only needs one HTTP client per service.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

from claimflow.sandbox_config import SANDBOX_PAYERS

# (procedure, charge) for an office day, and diagnoses every procedure here may be billed with.
PROCEDURES = [("99213", "125.00"), ("99214", "185.00"), ("99212", "85.00"), ("36415", "20.00"), ("81002", "25.00")]
# Hospital outpatient visits (837I / UB-04): an emergency department visit, sometimes with imaging or a lab test,
# each line under the revenue code of the department that provided it.
HOSPITAL_VISIT = ("99284", "0450", "850.00")
HOSPITAL_EXTRAS = [("71046", "0320", "300.00"), ("85025", "0300", "45.00")]
OUTPATIENT_BILL = {
    "type_of_bill": "131",
    "admission_type_code": "1",
    "admission_source_code": "7",
    "patient_status_code": "01",
    "attending_last_name": "Okafor",
    "attending_first_name": "Chidi",
}
DIAGNOSES = ["J20.9", "R05.9", "I10", "E11.9", "E78.5", "M54.50", "K21.9", "J45.909", "F41.1", "N39.0"]
HOME = {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "627011234"}
STAGES = (
    "encounters", "eligibility", "coding", "claims", "acknowledged", "remitted", "secondary", "denials", "statements",
)  # fmt: skip
FINAL = ("paid", "partially_paid", "denied")


@dataclass(frozen=True)
class DayOptions:
    """How big a day, and which one (the same seed plays the same day)."""

    encounters: int = 200
    seed: int = 7
    coding_problem_rate: float = 0.08
    eligibility_problem_rate: float = 0.05
    denial_rate: float = 0.08
    hospital_rate: float = 0.1
    within_seconds: float = 300.0
    page_size: int = 500  # items per list request (the APIs' largest page)


@dataclass(frozen=True)
class DemoTenant:
    """The demo tenant's practices and one API key per role."""

    tenant_id: str
    practice_ids: list[str]
    keys: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        """Authorization for ``role``."""
        return {"Authorization": f"Bearer {self.keys[role]}"}


@dataclass
class DaySummary:
    """What the day produced, stage by stage, and the KPIs at the end."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    kpis: dict[str, Any] = field(default_factory=dict)
    aging: dict[str, Any] = field(default_factory=dict)
    denial_reasons: dict[str, int] = field(default_factory=dict)
    patient_responsibility: Decimal = Decimal("0")
    statement_run_id: str | None = None
    seconds: float = 0.0


Report = Callable[[str, dict[str, int]], None]


def print_progress(stage: str, counts: dict[str, int]) -> None:
    """The default progress display: one line per stage update."""
    detail = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"  [{stage:<12}] {detail}", flush=True)


def _encounter(rng: random.Random, member: dict[str, Any], practice_id: str, npi: str, day: date) -> dict[str, Any]:
    lines = rng.sample(PROCEDURES, rng.randint(1, 3))
    diagnoses = rng.sample(DIAGNOSES, rng.randint(1, 3))
    return {
        "practice_id": practice_id,
        "ehr_encounter_id": f"DEMO-{uuid.uuid4().hex[:10]}",
        "patient": {
            "ehr_patient_id": f"{member['payer_id']}-{member['member_id']}",
            "first_name": member["first_name"],
            "last_name": member["last_name"],
            "birth_date": member["birth_date"],
            "sex": member["sex"],
            "member_id": member["member_id"],
            "address": HOME,
        },
        "payer_id": member["payer_id"],
        "group_number": member.get("group_number"),
        "date_of_service": day.isoformat(),
        "place_of_service": "11",
        "rendering_provider_npi": npi,
        "billing_provider_npi": npi,
        "diagnoses": diagnoses,
        "lines": [
            {"procedure_code": code, "units": "1", "diagnosis_pointers": [1], "charge": charge}
            for code, charge in lines
        ],
        "other_coverages": _other_coverages(member),
    }


def _other_coverages(member: dict[str, Any]) -> list[dict[str, Any]]:
    """The patient's further plans as the front desk copies them from the other insurance cards."""
    coverages = []
    for sequence, plan in zip(("secondary", "tertiary"), member.get("next_coverages") or (), strict=False):
        coverage: dict[str, Any] = {
            "payer_sequence": sequence,
            "payer_id": plan["payer_id"],
            "member_id": plan["member_id"],
            "group_number": plan.get("group_number"),
        }
        if plan["relationship"] != "18":  # covered as someone else's dependent on that plan
            coverage["subscriber"] = {
                "relationship": plan["relationship"],
                "first_name": plan["subscriber_first_name"],
                "last_name": plan["subscriber_last_name"],
                "birth_date": plan["subscriber_birth_date"],
                "sex": plan["subscriber_sex"],
                "address": HOME,
            }
        coverages.append(coverage)
    return coverages


def _as_hospital_outpatient(rng: random.Random, body: dict[str, Any]) -> None:
    """Make the encounter a hospital outpatient (emergency department) visit, billed on an 837I."""
    lines = [HOSPITAL_VISIT, *rng.sample(HOSPITAL_EXTRAS, rng.randint(0, 1))]
    body.update(
        claim_kind="institutional",
        place_of_service="23",
        institutional={**OUTPATIENT_BILL, "attending_provider_npi": body["rendering_provider_npi"]},
        lines=[
            {"procedure_code": code, "revenue_code": revenue, "units": "1", "diagnosis_pointers": [1], "charge": charge}
            for code, revenue, charge in lines
        ],
    )


_DAYS_BACK = 5  # encounters of the last five days, as an EHR sends what was documented since


def plan_day(
    members: list[dict[str, Any]], practices: list[tuple[str, str]], today: date, options: DayOptions
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The day's encounters (deterministic for a seed) and the eligibility schedule that goes with them.

    ``practices`` are (practice id, NPI). A patient has one visit on a date while the members and the last five
    days allow it; a bigger day repeats patient-dates (their second claims are held or denied as duplicates). A
    share of encounters points a line at a diagnosis that does not exist (the coding edits hold it for a coder);
    another share carries a mistyped member id (the payer rejects it).
    """
    rng = random.Random(options.seed)
    encounters, schedule = [], []
    visits: set[tuple[str, date]] = set()  # a patient seen once a day, while the population allows it
    for index in range(options.encounters):
        member = rng.choice(members)
        practice_id, npi = practices[index % len(practices)]
        day = today - timedelta(days=rng.randint(1, _DAYS_BACK))
        while (member["member_id"], day) in visits and len(visits) < len(members) * _DAYS_BACK:
            member, day = rng.choice(members), today - timedelta(days=rng.randint(1, _DAYS_BACK))
        visits.add((member["member_id"], day))
        body = _encounter(rng, member, practice_id, npi, day)
        if rng.random() < options.hospital_rate:
            _as_hospital_outpatient(rng, body)
        if rng.random() < options.coding_problem_rate:
            body["lines"][0]["diagnosis_pointers"] = [9]
        if rng.random() < options.eligibility_problem_rate:
            mistyped = member["member_id"][:-1] + str((int(member["member_id"][-1]) + 1) % 10)
            body["patient"]["member_id"] = mistyped
        encounters.append(body)
        schedule.append(
            {
                "practice_id": practice_id,
                "provider_npi": npi,
                "payer_id": body["payer_id"],
                "ehr_patient_id": body["patient"]["ehr_patient_id"],
                "subscriber": {k: body["patient"][k] for k in ("first_name", "last_name", "birth_date", "member_id")},
                "date_of_service": body["date_of_service"],
            }
        )
    return encounters, schedule


class DayOfBilling:
    """Plays one day against the services."""

    def __init__(
        self,
        clients: dict[str, httpx.AsyncClient],
        tenant: DemoTenant,
        options: DayOptions,
        report: Report = print_progress,
    ) -> None:
        self.clients = clients
        self.tenant = tenant
        self.options = options
        self.report = report
        self.summary = DaySummary()
        self._limit = asyncio.Semaphore(8)
        self._with_next_plan: set[str] = set()  # encounters of patients with a secondary plan

    async def _call(self, service: str, method: str, path: str, role: str | None, **kwargs: Any) -> httpx.Response:
        async with self._limit:
            headers = {**(self.tenant.headers(role) if role else {}), **kwargs.pop("headers", {})}
            response = await self.clients[service].request(method, path, headers=headers, **kwargs)
        if response.status_code >= 500:
            raise RuntimeError(f"{service} {method} {path}: {response.status_code} {response.text[:300]}")
        return response

    async def _json(self, service: str, path: str, role: str) -> Any:
        response = await self._call(service, "GET", path, role)
        response.raise_for_status()
        return response.json()

    async def _all(self, service: str, path: str, role: str) -> list[dict[str, Any]]:
        """Every item of a paged list, following each page's Link rel="next" (a day of more than 500 encounters
        has more claims than one page holds)."""
        items: list[dict[str, Any]] = []
        url: str | None = f"{path}{'&' if '?' in path else '?'}limit={self.options.page_size}"
        while url is not None:
            response = await self._call(service, "GET", url, role)
            response.raise_for_status()
            items += response.json()
            url = response.links.get("next", {}).get("url")
        return items

    def _stage(self, stage: str, counts: dict[str, int]) -> None:
        self.summary.counts[stage] = counts
        self.report(stage, counts)

    async def _until(self, stage: str, probe: Callable[[], Awaitable[tuple[bool, dict[str, int]]]]) -> None:
        """Poll ``probe`` until it says done, reporting its counts whenever they change."""
        deadline = time.monotonic() + self.options.within_seconds
        last: dict[str, int] | None = None
        while True:
            done, counts = await probe()
            if counts != last:
                self._stage(stage, counts)
                last = counts
            if done:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"stage {stage} did not finish within {self.options.within_seconds}s: {counts}")
            await asyncio.sleep(0.5)

    async def play(self) -> DaySummary:
        """The whole day."""
        started = time.monotonic()
        sandbox = self.clients["payer-sandbox"]
        today = date.fromisoformat((await sandbox.get("/v1/clock")).json()["today"])
        members = [
            m
            for m in (await sandbox.get("/v1/population/members?status=active&limit=5000")).json()
            if m["payer_id"] in SANDBOX_PAYERS and m["person_code"] == "00"
        ]
        scenario = (await sandbox.get("/v1/scenario")).json()
        scenario["default"] = {**scenario["default"], "denial_rate": self.options.denial_rate}
        await sandbox.put("/v1/scenario", json=scenario)
        npis = ["1234567893", "1245319599", "1497758544"]
        practices = [(p, npis[i % len(npis)]) for i, p in enumerate(self.tenant.practice_ids)]
        encounters, schedule = plan_day(members, practices, today, self.options)

        encounter_ids = await self._post_encounters(encounters)
        await self._check_eligibility(schedule)
        await self._fix_coding()
        claim_ids = await self._build_and_submit(len(encounter_ids))
        await self._acknowledge(claim_ids)
        await self._remit(sandbox)
        await self._bill_next_payers(sandbox)
        await self._denials_and_statements()
        self.summary.seconds = time.monotonic() - started
        return self.summary

    async def _post_encounters(self, encounters: list[dict[str, Any]]) -> list[str]:
        statuses: Counter[str] = Counter()

        async def post(body: dict[str, Any]) -> str:
            response = await self._call("coding-svc", "POST", "/v1/encounters", "ehr-integration", json=body)
            if response.status_code != 201:
                statuses["refused"] += 1
                return ""
            statuses[response.json()["status"]] += 1
            if body.get("other_coverages"):
                self._with_next_plan.add(str(response.json()["id"]))
            return str(response.json()["id"])

        ids = [i for i in await asyncio.gather(*(post(b) for b in encounters)) if i]
        self._stage("encounters", {"received": len(ids), **dict(statuses)})
        return ids

    async def _check_eligibility(self, schedule: list[dict[str, Any]]) -> None:
        batches = []
        for practice_id in self.tenant.practice_ids:
            items = [
                {k: v for k, v in s.items() if k != "practice_id"} for s in schedule if s["practice_id"] == practice_id
            ]
            if not items:
                continue
            response = await self._call(
                "eligibility-svc", "POST", "/v1/eligibility-batches", "biller",
                json={"practice_id": practice_id, "items": items},
            )  # fmt: skip
            response.raise_for_status()
            batches.append(response.json()["id"])

        async def probe() -> tuple[bool, dict[str, int]]:
            totals: Counter[str] = Counter()
            done = True
            for batch_id in batches:
                batch = await self._json("eligibility-svc", f"/v1/eligibility-batches/{batch_id}", "biller")
                totals.update(batch["by_status"])
                done = done and batch["done"]
            return done, dict(totals)

        await self._until("eligibility", probe)

    async def _fix_coding(self) -> None:
        """Coders take the held encounters, point the lines at real diagnoses and finish the review."""
        fixed = 0

        async def probe() -> tuple[bool, dict[str, int]]:
            nonlocal fixed
            items = await self._json("coding-svc", "/v1/work-queue?limit=500", "coder")
            for item in items:
                encounter = (await self._json("coding-svc", f"/v1/encounters/{item['encounter_id']}", "coder"))[
                    "document"
                ]
                await self._call("coding-svc", "POST", f"/v1/work-queue/{item['id']}/claim", "coder")
                lines = [{**line, "diagnosis_pointers": [1]} for line in encounter["lines"]]
                corrected = await self._call(
                    "coding-svc", "PUT", f"/v1/work-queue/{item['id']}/codes", "coder",
                    json={"diagnoses": encounter["diagnoses"], "lines": lines, "reason": "pointer to documented dx"},
                )  # fmt: skip
                if corrected.status_code == 200:
                    resolved = await self._call("coding-svc", "POST", f"/v1/work-queue/{item['id']}/resolve", "coder")
                    fixed += resolved.status_code == 200
            return not items, {"fixed by a coder": fixed, "waiting": len(items)}

        await self._until("coding", probe)

    async def _claims(self, status: str) -> list[dict[str, Any]]:
        claims: list[dict[str, Any]] = await self._all("claims-svc", f"/v1/claims?status={status}", "biller")
        return claims

    async def _build_and_submit(self, expected: int) -> list[str]:
        async def built() -> tuple[bool, dict[str, int]]:
            ready, held = await self._claims("ready"), await self._claims("held")
            return len(ready) + len(held) >= expected, {"ready": len(ready), "held by the scrubber": len(held)}

        await self._until("claims", built)
        ready_claims = await self._claims("ready")
        ready = [c["id"] for c in ready_claims]
        institutional = sum(1 for c in ready_claims if c["claim_kind"] == "institutional")
        if ready:
            response = await self._call(
                "claims-svc", "POST", "/v1/claim-submissions", "biller",
                json={"claim_ids": ready}, headers={"Idempotency-Key": f"demo-{uuid.uuid4().hex}"},
            )  # fmt: skip
            response.raise_for_status()
        self._stage(
            "claims",
            {
                "submitted": len(ready),
                "institutional (837I)": institutional,
                "held by the scrubber": len(await self._claims("held")),
            },
        )
        return ready

    async def _acknowledge(self, claim_ids: list[str]) -> None:
        async def probe() -> tuple[bool, dict[str, int]]:
            accepted, rejected = await self._claims("accepted"), await self._claims("rejected")
            return len(accepted) + len(rejected) >= len(claim_ids), {
                "accepted": len(accepted),
                "rejected": len(rejected),
            }

        await self._until("acknowledged", probe)

    async def _remit(self, sandbox: httpx.AsyncClient) -> None:
        """Move the payers' clock past their adjudication time; remit-svc reads and posts the ERAs."""
        payers = (await sandbox.get("/v1/population/payers")).json()
        days = max(int(p["adjudication_days"]) for p in payers) + 1
        advanced = (await sandbox.post("/v1/clock/advance", json={"days": days})).json()
        files = sum(len(run["mailbox_ids"]) for run in advanced["check_runs"])

        async def probe() -> tuple[bool, dict[str, int]]:
            remittances = await self._all("remit-svc", "/v1/remittances", "biller")
            claims = await self._all("remit-svc", "/v1/open-claims", "biller")
            waiting = [c for c in claims if c["status"] == "open" and c["acknowledgment"] != "rejected"]
            statuses = Counter(c["status"] for c in claims if c["acknowledgment"] != "rejected")
            counts = {"835 files": files, "ERAs posted": len(remittances), **dict(statuses)}
            return bool(remittances) and not waiting, counts

        await self._until("remitted", probe)
        await self._recoup(sandbox)

    async def _bill_next_payers(self, sandbox: httpx.AsyncClient) -> None:
        """claims-svc bills the patients' secondary plans as the primaries' payments post; the billers submit those
        claims and the secondary payers pay on what the primaries left to the patient."""

        async def built() -> tuple[bool, dict[str, int]]:
            claims = await self._all("claims-svc", "/v1/claims", "biller")
            primaries = [
                c for c in claims if c["payer_sequence"] == "primary" and c["encounter_id"] in self._with_next_plan
            ]
            secondaries = {c["prior_claim_id"]: c for c in claims if c["payer_sequence"] == "secondary"}
            settled = [c for c in primaries if c["status"] in FINAL or c["status"] in ("held", "rejected")]
            owed = [c for c in settled if c["status"] != "denied" and not c["crossed_over_to"]]
            done = len(settled) == len(primaries) and all(
                c["id"] in secondaries and secondaries[c["id"]]["status"] != "draft" for c in owed
            )
            return done, {"patients with a second plan": len(primaries), "secondary claims": len(secondaries)}

        await self._until("secondary", built)
        ready = [
            c["id"] for c in await self._all("claims-svc", "/v1/claims?payer_sequence=secondary&status=ready", "biller")
        ]
        if not ready:
            return
        response = await self._call(
            "claims-svc", "POST", "/v1/claim-submissions", "biller",
            json={"claim_ids": ready}, headers={"Idempotency-Key": f"demo-secondary-{uuid.uuid4().hex}"},
        )  # fmt: skip
        response.raise_for_status()
        payers = (await sandbox.get("/v1/population/payers")).json()
        days = max(int(p["adjudication_days"]) for p in payers) + 1
        advanced = False

        async def adjudicated() -> tuple[bool, dict[str, int]]:
            nonlocal advanced
            claims = await self._all("claims-svc", "/v1/claims?payer_sequence=secondary", "biller")
            mine = [c for c in claims if c["id"] in ready]
            statuses = Counter(c["status"] for c in mine)
            if not advanced and not statuses.get("submitted") and not statuses.get("submitting"):
                await sandbox.post("/v1/clock/advance", json={"days": days})
                advanced = True
            done = advanced and all(c["status"] in (*FINAL, "rejected") for c in mine)
            return done, {"submitted": len(ready), **dict(statuses)}

        await self._until("secondary", adjudicated)

    async def _recoup(self, sandbox: httpx.AsyncClient) -> None:
        """The payer takes back an overpayment on one paid claim: a PLB WO on the next ERA, posted to the
        provider's account."""
        remittances = await self._all("remit-svc", "/v1/remittances?status=posted", "biller")
        paid: list[str] = []
        for remittance in remittances:
            detail = await self._json("remit-svc", f"/v1/remittances/{remittance['id']}", "biller")
            paid += [
                p["payer_claim_control_number"]
                for p in detail["claim_payments"]
                if p["outcome"] == "paid" and p["payer_claim_control_number"] and Decimal(p["paid"]) > 10
            ]
            if paid:
                break
        if not paid:
            return
        before = len(await self._all("remit-svc", "/v1/remittances", "biller"))
        body = {"tenant": self.tenant.tenant_id, "payer_claim_control_number": paid[0]}
        queued = await sandbox.post("/v1/recoupments", json={**body, "amount": "10.00"})
        if queued.status_code != 202:
            raise RuntimeError(f"the payer-sandbox refused the recoupment: {queued.text[:300]}")
        await sandbox.post("/v1/clock/advance", json={"days": 1})

        async def probe() -> tuple[bool, dict[str, int]]:
            after = len(await self._all("remit-svc", "/v1/remittances", "biller"))
            return after > before, {"ERAs posted": after, "recouped claims": 1}

        await self._until("recoupment", probe)

    async def _denials_and_statements(self) -> None:
        denials: list[dict[str, Any]] = []  # the work queue pages by offset (it is ordered by urgency, not by age)
        page_size = self.options.page_size
        while page := await self._json("claims-svc", f"/v1/denials?limit={page_size}&offset={len(denials)}", "biller"):
            denials += page
        reasons = Counter(str(d.get("root_cause", "other")) for d in denials)
        self.summary.denial_reasons = dict(reasons)
        self._stage("denials", {"classified": len(denials), **dict(reasons)})
        # The payers' clock ran ahead of the wall clock (adjudication time): report as of the payers' today.
        today = date.fromisoformat((await self.clients["payer-sandbox"].get("/v1/clock")).json()["today"])
        period = f"from={(today - timedelta(days=30)).isoformat()}&to={today.isoformat()}"
        # The day's statement run: one statement (figures and PDF, kept in the guarantor's history) per balance due.
        response = await self._call(
            "remit-svc", "POST", "/v1/statement-runs", "biller", json={"statement_date": today.isoformat()}
        )
        response.raise_for_status()
        run = response.json()
        self.summary.patient_responsibility = Decimal(str(run["total_due"]))
        self.summary.statement_run_id = str(run["id"])
        self._stage("statements", {"issued": int(run["statements"])})
        self.summary.kpis = await self._json("remit-svc", f"/v1/kpis?{period}", "biller")
        self.summary.aging = await self._json("remit-svc", f"/v1/ar/aging?by=payer&as_of={today.isoformat()}", "biller")


def render_summary(summary: DaySummary) -> str:
    """The end-of-day report."""
    submitted = summary.counts.get("claims", {}).get("submitted", 0)
    institutional = summary.counts.get("claims", {}).get("institutional (837I)", 0)
    acknowledged = summary.counts.get("acknowledged", {})
    remitted = summary.counts.get("remitted", {})
    lines = [
        "",
        f"The day in numbers ({summary.seconds:.0f} s):",
        f"  claims submitted        {submitted}" + (f" ({institutional} institutional, 837I)" if institutional else ""),
        f"  secondary claims        {summary.counts.get('secondary', {}).get('submitted', 0)}",
        f"  accepted / rejected     {acknowledged.get('accepted', 0)} / {acknowledged.get('rejected', 0)}",
        f"  paid / partially paid   {remitted.get('paid', 0)} / {remitted.get('partially_paid', 0)}",
        f"  denied                  {remitted.get('denied', 0)}"
        + (
            f"  ({', '.join(f'{k} {v}' for k, v in sorted(summary.denial_reasons.items()))})"
            if summary.denial_reasons
            else ""
        ),
        f"  patient statements      {summary.counts.get('statements', {}).get('issued', 0)} issued, "
        f"{summary.patient_responsibility:.2f} due"
        + (f" (remit-svc /v1/statement-runs/{summary.statement_run_id})" if summary.statement_run_id else ""),
    ]
    for name, value in sorted(summary.kpis.items()):
        if isinstance(value, dict) and "value" in value:
            shown = "n/a" if value["value"] is None else value["value"]
            if name.endswith("_rate") and value["value"] is not None:
                shown = f"{float(value['value']):.1%}"
            lines.append(f"  {name.replace('_', ' '):<24}{shown}  ({value['numerator']} / {value['denominator']})")
    if summary.aging.get("groups"):
        buckets = summary.aging["buckets"]
        lines.append(f"  AR aging by payer (date of service): {'  '.join(f'{b:>9}' for b in buckets)}")
        for group in summary.aging["groups"]:
            amounts = "  ".join(f"{Decimal(str(group['total'].get(b, 0))):>9.2f}" for b in buckets)
            lines.append(f"    {group['key']:<34}{amounts}")
    return "\n".join(lines)
