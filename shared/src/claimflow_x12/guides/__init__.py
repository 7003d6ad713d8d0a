"""One module per implementation guide; importing this package registers every typed transaction set."""

from claimflow_x12.guides import (
    ack_999,
    claim_837i,
    claim_837p,
    claim_ack_277ca,
    claim_status_276_277,
    eligibility_270_271,
    remittance_835,
)

__all__ = [
    "ack_999",
    "claim_837i",
    "claim_837p",
    "claim_ack_277ca",
    "claim_status_276_277",
    "eligibility_270_271",
    "remittance_835",
]
