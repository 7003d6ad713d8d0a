"""payer-sandbox settings (``CLAIMFLOW_SANDBOX_*`` environment variables)."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SandboxSettings(BaseSettings):
    """Settings of the sandbox. It has no database or broker: its state lives in the process (a test tool)."""

    model_config = SettingsConfigDict(env_prefix="CLAIMFLOW_SANDBOX_", env_file=None, extra="ignore")

    service_name: str = "payer-sandbox"
    seed: int = Field(default=1, description="Seed of the generated population and of scenario randomness.")
    clock_start: date | None = Field(
        default=None, description="The payers' 'today' at start (default: the real date). Fix it for identical files."
    )
    subscribers_per_payer: int = Field(default=20, ge=0, le=10_000)
    log_level: str = "INFO"
    log_json: bool = True
