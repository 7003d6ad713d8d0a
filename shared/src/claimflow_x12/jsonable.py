"""Plain-JSON view of the models: billing field names, amounts as strings, dates as ISO dates."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from claimflow_x12.model import format_decimal

__all__ = ["to_jsonable"]

_SKIPPED = frozenset({"position"})


def to_jsonable(value: Any) -> Any:
    """Convert a model (or anything inside one) to JSON-compatible data; empty and unset fields are left out."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.name in _SKIPPED or item is None or item == [] or item == {}:
                continue
            out[f.name] = to_jsonable(item)
        return out
    return value
