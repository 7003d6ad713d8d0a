"""JSON logs with correlation ids, and a filter that keeps PHI out of every log line.

Code should never log PHI; the filter is the safety net. It redacts values of PHI-named fields passed
as ``extra``/dict arguments (names, birth dates, member ids, addresses, free-text notes), and PHI-shaped
text in messages: dates, SSNs, phone numbers, e-mail addresses, and the name/address/demographic
segments of X12 (NM1, N3, N4, DMG, PER) if raw X12 ends up in a message. A name written into a message's
prose cannot be recognised, which is why messages are built from ids and codes only.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

from claimflow_kit.context import correlation_id_var, tenant_id_var

REDACTED = "[REDACTED]"

PHI_FIELD_NAMES = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "middle_name",
        "patient_name",
        "subscriber_name",
        "full_name",
        "birth_date",
        "date_of_birth",
        "dob",
        "member_id",
        "subscriber_id",
        "ssn",
        "address",
        "address_line1",
        "address_line2",
        "street",
        "city",
        "postal_code",
        "zip",
        "phone",
        "email",
        "given",
        "family",
        "birthdate",
        # free text written about a patient is PHI as a whole: names in prose cannot be recognised
        "note",
        "clinical_note",
        "narrative",
        "free_text",
        "comment",
    }
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # X12 segments that carry names, addresses, demographics and contact data: keep the segment id only.
    (re.compile(r"\b(NM1|N3|N4|DMG|PER)([*|^~:!])[^~\n]*"), rf"\1\2{REDACTED}"),
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), REDACTED),  # SSN
    (re.compile(r"\b(19|20)\d{2}-\d{2}-\d{2}\b"), REDACTED),  # ISO dates (birth dates look like this)
    (re.compile(r"\b\d{1,2}/\d{1,2}/(19|20)\d{2}\b"), REDACTED),  # US dates
    (re.compile(r"\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b"), REDACTED),  # phone numbers
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), REDACTED),  # e-mail addresses
)


def redact_text(text: str) -> str:
    """Remove PHI-shaped substrings from free text."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any, key: str | None = None) -> Any:
    """Redact a structured value: PHI-named keys are blanked, nested containers are walked."""
    if key is not None and key.lower() in PHI_FIELD_NAMES:
        return REDACTED
    if isinstance(value, Mapping):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


_PAYLOAD_LOGGERS = ("aiokafka",)


class PhiRedactingFilter(logging.Filter):
    """Rewrites each record so that neither its message nor its extra fields carry PHI."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and record.name.startswith(_PAYLOAD_LOGGERS):
            return False  # their debug lines print whole records, and events may carry billing demographics
        message = record.getMessage()
        record.msg = redact_text(message)
        record.args = None
        for attr in set(vars(record)) - _STANDARD_ATTRS:
            setattr(record, attr, redact_value(getattr(record, attr), attr))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, service, correlation and tenant ids."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        correlation_id = correlation_id_var.get()
        if correlation_id:
            document["correlation_id"] = correlation_id
        tenant_id = tenant_id_var.get()
        if tenant_id:
            document["tenant_id"] = tenant_id
        for attr in set(vars(record)) - _STANDARD_ATTRS:
            document[attr] = getattr(record, attr)
        if record.exc_text:
            document["exception"] = record.exc_text
        elif record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


def install_phi_filter(handler: logging.Handler) -> None:
    """Attach the PHI filter to a handler unless it already has one."""
    if not any(isinstance(f, PhiRedactingFilter) for f in handler.filters):
        handler.addFilter(PhiRedactingFilter())


def phi_safe_handler(service: str, stream: IO[str], *, json_output: bool = True) -> logging.Handler:
    """A stream handler that redacts PHI and writes JSON lines (or plain text)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(service) if json_output else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    install_phi_filter(handler)
    return handler


def configure_logging(
    service: str, *, level: str = "INFO", json_output: bool = True, stream: IO[str] | None = None
) -> logging.Handler:
    """Route the root logger (and uvicorn's) through one PHI-safe handler (stderr unless ``stream``)."""
    handler = phi_safe_handler(service, stream or sys.stderr, json_output=json_output)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    logging.getLogger("aiokafka").setLevel(max(logging.getLevelNamesMapping()[level.upper()], logging.WARNING))
    return handler
