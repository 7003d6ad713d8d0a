"""remit-svc settings (``CLAIMFLOW_*`` environment variables)."""

from claimflow_kit.config import ServiceSettings


class RemitSettings(ServiceSettings):
    """Settings of the remittance service."""

    service_name: str = "remit-svc"
    database_url: str = "sqlite+aiosqlite:///var/remit-svc.db"
