"""How the embedded runtime and the tests point ClaimFlow at the payer-sandbox (never used in production)."""

from __future__ import annotations

from typing import Any

# The sandbox's payers as a clearinghouse payer list would describe them (front-end rules for the scrubber).
SANDBOX_PAYERS: dict[str, dict[str, Any]] = {
    "60054": {"name": "Sandbox Commercial PPO", "member_id_pattern": r"^W[0-9]{9}$", "timely_filing_days": 90},
    "HMO01": {
        "name": "Sandbox HMO",
        "member_id_pattern": r"^H[0-9]{8}$",
        "timely_filing_days": 180,
        "claim_filing": "HM",
    },
    "MCARE": {
        "name": "Sandbox Medicare",
        "member_id_pattern": r"^[1-9][A-Z0-9]{10}$",
        "timely_filing_days": 365,
        "appeal_window_days": 120,  # redetermination: 120 days from the initial determination
        "claim_filing": "MB",
        # Lines it denied are billed again on a new claim of their own; the lines it paid are not re-adjudicated.
        "corrected_lines": True,
    },
    "MCAID": {
        "name": "Sandbox Medicaid",
        "member_id_pattern": r"^[0-9]{12}$",
        "timely_filing_days": 365,
        "claim_filing": "MC",
    },
}


def sandbox_routing(base_url: str) -> dict[str, Any]:
    """Every tenant's files go to the sandbox at ``base_url``."""
    return {"default": {"kind": "sandbox", "base_url": base_url, "timeout_seconds": 10}}


def connector_settings(service: str, base_url: str) -> dict[str, Any]:
    """Settings overrides that connect one service to the sandbox (empty for services without a connector)."""
    if service in ("eligibility-svc", "remit-svc"):
        return {"connector_routing": sandbox_routing(base_url)}
    if service == "claims-svc":
        return {"connector_routing": sandbox_routing(base_url), "payers": SANDBOX_PAYERS}
    return {}
