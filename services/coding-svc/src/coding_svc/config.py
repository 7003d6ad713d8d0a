"""coding-svc settings (``CLAIMFLOW_*`` environment variables)."""

from claimflow_kit.config import ServiceSettings


class CodingSettings(ServiceSettings):
    """Settings of the coding service."""

    service_name: str = "coding-svc"
    database_url: str = "sqlite+aiosqlite:///var/coding-svc.db"
    # How often each API process looks for code-set releases loaded with `claimflow codesets load`.
    codeset_refresh_seconds: float = 30.0
