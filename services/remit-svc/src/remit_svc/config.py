"""remit-svc settings (``CLAIMFLOW_*`` environment variables)."""

from pydantic import Field

from claimflow_connect.routing import RoutingConfig
from claimflow_kit.config import ServiceSettings


class RemitSettings(ServiceSettings):
    """Settings of the remittance service."""

    service_name: str = "remit-svc"
    database_url: str = "sqlite+aiosqlite:///var/remit-svc.db"
    # Where each tenant's 835s arrive (JSON in CLAIMFLOW_CONNECTOR_ROUTING; the same routing claims-svc submits by).
    connector_routing: RoutingConfig = Field(default_factory=RoutingConfig)
    # How often connector mailboxes are read for new 835s.
    remit_poll_seconds: float = Field(default=10.0, gt=0)
