"""claims-svc settings (``CLAIMFLOW_*`` environment variables)."""

from claimflow_kit.config import ServiceSettings


class ClaimsSettings(ServiceSettings):
    """Settings of the claims service."""

    service_name: str = "claims-svc"
    database_url: str = "sqlite+aiosqlite:///var/claims-svc.db"
