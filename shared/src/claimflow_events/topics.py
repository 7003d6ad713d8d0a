"""Kafka topic names, defined once. One topic per event family, keyed by the aggregate id."""

from enum import StrEnum


class Topic(StrEnum):
    """Event-family topics. A claim's or an encounter's events share one topic so they stay ordered."""

    ENCOUNTERS = "claimflow.encounters"
    ELIGIBILITY = "claimflow.eligibility"
    CLAIMS = "claimflow.claims"
    PATIENT_ACCOUNTS = "claimflow.patient-accounts"

    @property
    def dead_letter(self) -> str:
        """The dead-letter topic that takes this topic's poison messages."""
        return dead_letter_topic(self.value)


DLQ_SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    """Name of the dead-letter topic for ``topic`` (``<topic>.dlq``)."""
    return f"{topic}{DLQ_SUFFIX}"
