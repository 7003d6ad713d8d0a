"""Scenario settings: failures and latencies the sandbox injects, per payer, so tests and demos control them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PayerScenario", "Scenario"]


class PayerScenario(BaseModel):
    """Behaviour of one payer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unable_to_respond: bool = Field(default=False, description="Answer every 270 with AAA 42 (payer system down).")
    unable_to_respond_probability: float = Field(
        default=0.0, ge=0, le=1, description="Share of 270s answered with AAA 42 (seeded: reproducible)."
    )
    eligibility_delay_seconds: float = Field(default=0.0, ge=0, le=60, description="Wait before answering a 270.")
    denial_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of otherwise payable claims denied, spread over common CARCs (16, 50, 11, 22); seeded "
        "by the payer claim number, so the same seed and requests deny the same claims.",
    )
    submission_failure: bool = Field(
        default=False, description="Answer 503 to every file for this payer (the clearinghouse is down)."
    )
    submission_delay_seconds: float = Field(
        default=0.0, ge=0, le=60, description="Wait before answering a file submitted for this payer."
    )
    crossover_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of paid claims of members with a further plan that this payer forwards to that plan "
        "itself (a crossover: CLP02 19/20 and NM1*TT on the 835); seeded by the payer claim number.",
    )
    adjudication_days: int | None = Field(
        default=None, ge=0, le=365, description="Days from receipt to the paying check run (default: the payer's own)."
    )


class Scenario(BaseModel):
    """Per-payer overrides with a default for payers not named."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: PayerScenario = PayerScenario()
    payers: dict[str, PayerScenario] = Field(default_factory=dict)

    def for_payer(self, payer_id: str) -> PayerScenario:
        """The behaviour of ``payer_id``."""
        return self.payers.get(payer_id, self.default)
