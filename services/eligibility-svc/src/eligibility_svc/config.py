"""eligibility-svc settings (``CLAIMFLOW_*`` environment variables)."""

from claimflow_kit.config import ServiceSettings


class EligibilitySettings(ServiceSettings):
    """Settings of the eligibility service."""

    service_name: str = "eligibility-svc"
    database_url: str = "sqlite+aiosqlite:///var/eligibility-svc.db"
