"""Settings of the ops view process (``CLAIMFLOW_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from claimflow_kit.config import ServiceSettings


def _default_service_urls() -> dict[str, str]:
    from claimflow.services import SERVICES

    return {name: f"http://127.0.0.1:{spec.default_port}" for name, spec in SERVICES.items()}


class OpsViewSettings(ServiceSettings):
    """What the ops view reads: the broker (shared settings), each service's API, and how often."""

    service_name: str = "ops-view"
    # Base URL of each service's API, whose installation-level /ops endpoints the view calls with the ops token.
    ops_service_urls: dict[str, str] = Field(default_factory=_default_service_urls)
    ops_sample_interval_seconds: float = Field(default=2.0, gt=0)
    # Rates are measured over this window (the newest sample against the oldest within it).
    ops_rate_window_seconds: float = Field(default=10.0, gt=0)
    # Real-time eligibility answers counted in the payer latency panel.
    ops_latency_window_minutes: int = Field(default=60, ge=1)
    ops_request_timeout_seconds: float = Field(default=5.0, gt=0)
