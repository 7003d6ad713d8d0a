"""ClaimFlow's shared event contract: envelope, topics, payload models, catalog and upcasters."""

from claimflow_events.catalog import EventCatalog, EventContractError, default_catalog, event_type_name
from claimflow_events.envelope import STRUCTURED_CONTENT_TYPE, EventEnvelope
from claimflow_events.payloads import (
    ALL_PAYLOADS,
    ClaimAccepted,
    ClaimDenied,
    ClaimLineSubmitted,
    ClaimRejected,
    ClaimResubmitted,
    ClaimSubmitted,
    CodingFinding,
    CodingReviewRequired,
    EligibilityChecked,
    EligibilityStatus,
    EncounterCoded,
    EncounterReceived,
    EventPayload,
    PatientBalanceUpdated,
    PaymentPosted,
    RejectionReason,
)
from claimflow_events.topics import Topic, dead_letter_topic
from claimflow_events.types import Adjustment, ClaimKind, PayerSequence, ServiceLine

__all__ = [
    "ALL_PAYLOADS",
    "STRUCTURED_CONTENT_TYPE",
    "Adjustment",
    "ClaimAccepted",
    "ClaimDenied",
    "ClaimKind",
    "ClaimLineSubmitted",
    "ClaimRejected",
    "ClaimResubmitted",
    "ClaimSubmitted",
    "CodingFinding",
    "CodingReviewRequired",
    "EligibilityChecked",
    "EligibilityStatus",
    "EncounterCoded",
    "EncounterReceived",
    "EventCatalog",
    "EventContractError",
    "EventEnvelope",
    "EventPayload",
    "PatientBalanceUpdated",
    "PayerSequence",
    "PaymentPosted",
    "RejectionReason",
    "ServiceLine",
    "Topic",
    "dead_letter_topic",
    "default_catalog",
    "event_type_name",
]
