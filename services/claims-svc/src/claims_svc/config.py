"""claims-svc settings (``CLAIMFLOW_*`` environment variables)."""

from pydantic import BaseModel, Field

from claimflow_connect.routing import RoutingConfig
from claimflow_kit.config import ServiceSettings
from claims_svc.domain.denials import DEFAULT_APPEAL_WINDOW_DAYS
from claims_svc.domain.scrub import PayerRules
from claims_svc.domain.status_followup import FollowupPolicy


class PayerSettings(BaseModel):
    """What the scrubber checks for one payer (JSON in CLAIMFLOW_PAYERS, keyed by payer id)."""

    name: str
    member_id_pattern: str = r"^[0-9A-Z]{2,20}$"
    timely_filing_days: int = Field(default=90, ge=1)
    prior_auth_codes: list[str] = Field(default_factory=list)
    # SBR09 claim filing indicator (CI commercial, MB Medicare Part B, MC Medicaid, HM HMO, BL Blue Cross...).
    claim_filing: str = Field(default="CI", pattern=r"^[0-9A-Z]{2}$")
    # Days from the remittance to the last day an appeal may reach the payer (Medicare redetermination: 120).
    appeal_window_days: int = Field(default=DEFAULT_APPEAL_WINDOW_DAYS, ge=1, le=730)
    # Days without a 277CA or 835 before a 276 asks where the claim is (the service default when not set).
    status_followup_after_days: int | None = Field(default=None, ge=0, le=365)
    # Corrections of some lines of an adjudicated claim: true when the payer takes a new claim with only the
    # corrected lines (the lines it paid stand); otherwise the whole claim is replaced (frequency 7, REF*F8).
    corrected_lines: bool = False


class ClaimsSettings(ServiceSettings):
    """Settings of the claims service."""

    service_name: str = "claims-svc"
    database_url: str = "sqlite+aiosqlite:///var/claims-svc.db"
    # Which connector carries each tenant's 837s to each payer (JSON in CLAIMFLOW_CONNECTOR_ROUTING).
    connector_routing: RoutingConfig = Field(default_factory=RoutingConfig)
    # Payers the clearinghouse knows, with their front-end rules (the scrubber holds claims to unknown payers).
    payers: dict[str, PayerSettings] = Field(default_factory=dict)
    # Submitter (2010A NM1*41, ETIN) and receiver (1000B) of the 837s.
    submitter_name: str = "CLAIMFLOW BILLING"
    submitter_id: str = "CLAIMFLOW"
    submitter_contact: str = "BILLING DESK"
    submitter_phone: str = "5555550100"
    receiver_name: str = "CLEARINGHOUSE"
    receiver_id: str = "PAYERSANDBOX"
    # Clean claims wait at most this long before they are sent in a batch (None: only the submit API sends).
    claims_batch_window_seconds: float | None = Field(default=60.0, ge=0)
    claims_batch_size: int = Field(default=500, ge=1, le=5000)
    # How often the background pipeline looks for drafts to scrub and acknowledgments to read.
    claims_pipeline_idle_seconds: float = Field(default=5.0, gt=0)
    # How long a replica holds the send of an interchange: one still "sending" after that lost its sender (a crash)
    # and is sent again by whichever replica takes it. Longer than the clearinghouse connector may take to answer.
    claims_resend_after_seconds: float = Field(default=120.0, gt=0)

    # Claim status follow-up: a 276 after this many days without a 277CA or 835 (the ops view's "stuck" threshold
    # too), again every retry_days; after max_inquiries without an 835 (or at once when the payer has no record
    # of it, rejected it, or did not answer) the claim is in the billers' stuck list.
    status_followup_after_days: int = Field(default=30, ge=0, le=365)
    status_followup_retry_days: int = Field(default=7, ge=0, le=365)
    status_followup_max_inquiries: int = Field(default=3, ge=1, le=20)
    # How often the background follow-up round runs (None: only on request).
    status_followup_interval_seconds: float | None = Field(default=3600.0, gt=0)
    # Real-time 276 → 277 answer time (CORE: 20 s).
    claim_status_timeout_seconds: float = Field(default=20.0, gt=0, le=120)

    def followup_policy_for(self, payer_id: str) -> FollowupPolicy:
        """When to ask the payer about an unanswered claim."""
        payer = self.payers.get(payer_id)
        after = payer.status_followup_after_days if payer and payer.status_followup_after_days is not None else None
        return FollowupPolicy(
            after_days=self.status_followup_after_days if after is None else after,
            retry_days=self.status_followup_retry_days,
            max_inquiries=self.status_followup_max_inquiries,
        )

    def payer_rules(self) -> dict[str, PayerRules]:
        """What the scrubber and corrections need to know of each configured payer."""
        return {
            payer_id: PayerRules(
                name=payer.name,
                member_id_pattern=payer.member_id_pattern,
                timely_filing_days=payer.timely_filing_days,
                prior_auth_codes=frozenset(payer.prior_auth_codes),
                claim_filing=payer.claim_filing,
                corrected_lines=payer.corrected_lines,
            )
            for payer_id, payer in self.payers.items()
        }

    def appeal_window_for(self, payer_id: str) -> int:
        """How long the payer gives for an appeal (the default window for payers not configured)."""
        payer = self.payers.get(payer_id)
        return payer.appeal_window_days if payer else DEFAULT_APPEAL_WINDOW_DAYS
