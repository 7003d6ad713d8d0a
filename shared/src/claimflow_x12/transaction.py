"""Base class and registry of typed transaction sets (one root loop per implementation guide)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, TypeVar

from claimflow_x12.model import At, Loop
from claimflow_x12.segments import St

__all__ = ["Transaction", "UnknownTransaction", "register_transaction", "transaction_class"]


@dataclass(slots=True, kw_only=True)
class Transaction(Loop):
    """An ST...SE transaction set; SE is computed by the writer."""

    loop_id: ClassVar[str] = "HEADER"
    transaction_set_id: ClassVar[str] = ""  # ST01
    implementation_reference: ClassVar[str] = ""  # ST03 / GS08
    functional_id_code: ClassVar[str] = ""  # GS01
    # Segment ids the guide allows but this model does not type: kept without raising an error.
    passthrough_segments: ClassVar[frozenset[str]] = frozenset()
    header: Annotated[St, At(0)]  # ST

    @property
    def control_number(self) -> str:
        """ST02 transaction set control number."""
        return self.header.control_number


@dataclass(slots=True, kw_only=True)
class UnknownTransaction(Transaction):
    """A transaction set no guide model covers; every segment is kept in ``extra_segments``."""


_REGISTRY: dict[tuple[str, str], type[Transaction]] = {}
_T = TypeVar("_T", bound=type[Transaction])


def register_transaction(cls: _T) -> _T:
    """Class decorator: parse transactions with this ST01 and ST03/GS08 into ``cls``."""
    _REGISTRY[(cls.transaction_set_id, cls.implementation_reference)] = cls
    return cls


def transaction_class(transaction_set_id: str, version: str | None) -> type[Transaction]:
    """The model class for an ST01 and implementation reference, or ``UnknownTransaction``."""
    return _REGISTRY.get((transaction_set_id, version or ""), UnknownTransaction)
