"""eligibility-svc settings (``CLAIMFLOW_*`` environment variables)."""

from pydantic import Field

from claimflow_connect.routing import RoutingConfig
from claimflow_kit.config import ServiceSettings


class EligibilitySettings(ServiceSettings):
    """Settings of the eligibility service."""

    service_name: str = "eligibility-svc"
    database_url: str = "sqlite+aiosqlite:///var/eligibility-svc.db"
    # Which connector carries each tenant's 270s to each payer (JSON in CLAIMFLOW_CONNECTOR_ROUTING).
    connector_routing: RoutingConfig = Field(default_factory=RoutingConfig)
    # CORE: a real-time answer within 20 s, "unable to respond now" answers retried with backoff until then.
    eligibility_deadline_seconds: float = Field(default=20.0, gt=0)
    eligibility_first_backoff_seconds: float = Field(default=0.5, ge=0)
    eligibility_max_backoff_seconds: float = Field(default=4.0, ge=0)
    # A result for the same member, payer, service types and date of service is reused for this long.
    eligibility_cache_minutes: float = Field(default=24 * 60.0, ge=0)
    # Pending checks (batches, pre-checks) worked at once by each API process.
    eligibility_batch_concurrency: int = Field(default=8, ge=1, le=64)
