"""Tables the kit adds to every service database: outbox, inbox, audit log, consumer positions."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    DateTime,
    Dialect,
    Index,
    Integer,
    Text,
    cast,
    func,
    select,
)
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel
from sqlmodel import select as select_of
from sqlmodel._compat import finish_init, is_table_model_class
from sqlmodel.sql.expression import SelectOfScalar

kit_registry = registry()

BigId = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit identity on PostgreSQL; SQLite needs INTEGER for its rowid autoincrement."""


def utcnow() -> datetime:
    """Timezone-aware current UTC time."""
    return datetime.now(UTC)


def empty_list() -> list[Any]:
    """``default_factory`` of a table's list column. Not the builtin ``list``: SQLModel fills a new row's defaults
    through pydantic's ``FieldInfo.get_default``, which inspects the factory's signature on every call, and for a
    builtin that means parsing its text signature (about 100 µs a field, against 5 for a Python function)."""
    return []


def json_present(column: Any) -> ColumnElement[bool]:
    """True where a JSON column holds a document: SQLModel writes every field, so a ``None`` is stored as JSON
    ``null``, which ``IS NOT NULL`` lets through (SQL NULL is not equal to anything either, so it is left out too)."""
    return cast(column, Text) != "null"


def distinct_values(column: Any) -> SelectOfScalar[Any]:
    """``SELECT DISTINCT column`` as one index probe per value: each step asks for the least value above the last.

    For a column with an index and few values in many rows (the tenants of a table of claims). ``DISTINCT`` reads
    every entry of the index, so it costs as much as the table is long; neither SQLite nor PostgreSQL skips through
    an index on its own here. Values come in order, without NULL.
    """
    values = select(func.min(column).label("value")).cte("distinct_values", recursive=True)
    following = select(func.min(column)).where(column > values.c.value).scalar_subquery()
    values = values.union_all(select(following).where(values.c.value.is_not(None)))
    return select_of(values.c.value).where(values.c.value.is_not(None))


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite keeps no offset, so UTC is restored on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def Timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    """A timezone-aware timestamp column (SQLite stores the offset in the text)."""
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


_IMMUTABLE = (type(None), str, int, float, bool, Decimal, date, datetime, Enum, tuple, frozenset, bytes)

_Defaults = list[tuple[str, Callable[[], Any]]]


def _keep(value: Any) -> Callable[[], Any]:
    return lambda: value


def _copy(value: Any) -> Callable[[], Any]:
    return lambda: copy.deepcopy(value)


@cache
def _defaults_plan(cls: type[SQLModel]) -> _Defaults | None:
    """How to fill each field a new row was not given (its default), or None when the fast path does not apply."""
    if (
        not is_table_model_class(cls)
        or cls.__sqlmodel_relationships__
        or cls.__pydantic_post_init__
        or cls.model_config.get("extra") == "allow"
    ):
        return None
    plan: _Defaults = []
    for name, field in cls.model_fields.items():
        if field.alias not in (None, name) or field.default_factory_takes_validated_data:
            return None
        if field.default_factory is not None:
            plan.append((name, field.default_factory))  # type: ignore[arg-type]  # takes no argument: checked above
        elif not field.is_required():
            plan.append((name, _keep(field.default) if isinstance(field.default, _IMMUTABLE) else _copy(field.default)))
    return plan


class TableModel(SQLModel):
    """Base of every table of the services and the kit: a new row is built in a fraction of SQLModel's time.

    SQLModel does not validate a table model's fields either; it sets them one by one, each through pydantic's and
    SQLAlchemy's ``__setattr__``, and asks pydantic for every default, which inspects the signature of each default
    factory on every call: 131.5 µs for a claim's 40 columns, against 15.7 µs here (a py-spy sample put it at 14 %
    of the claims worker's CPU; bench/e2e session 16). This fills the instance's dictionary directly, as SQLAlchemy
    does when it loads a row: the same values, defaults and ``model_fields_set`` as SQLModel's constructor
    (tests/test_table_models.py compares the two); a new object's INSERT is built from that dictionary. Models with
    relationships, private attributes, aliases or extra fields keep SQLModel's constructor.
    """

    def __init__(__pydantic_self__, **data: Any) -> None:
        self = __pydantic_self__
        plan = _defaults_plan(type(self))
        if plan is None or not finish_init.get():
            super().__init__(**data)
            return
        fields = type(self).model_fields
        values = self.__dict__
        for name, default in plan:
            if name not in data:
                values[name] = default()
        given = {name: value for name, value in data.items() if name in fields}
        values.update(given)
        object.__setattr__(self, "__pydantic_fields_set__", set(given))


class KitTable(TableModel, registry=kit_registry):
    """Base of the kit's tables; their metadata is added to each service's migrations."""


class OutboxMessage(KitTable, table=True):
    """An event written in the same transaction as the state change it announces; the relay sends it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    event_id: str = Field(unique=True, max_length=36)
    tenant_id: str = Field(index=True, max_length=64)
    event_type: str = Field(max_length=128)
    topic: str = Field(max_length=249)
    message_key: str = Field(max_length=255)
    envelope: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    sent_at: datetime | None = Timestamp(nullable=True)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Timestamp(nullable=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    kafka_partition: int | None = None
    kafka_offset: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class InboxRecord(KitTable, table=True):
    """Marks one event as processed by one consumer; written in the transaction of its effects."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_processed_at", "processed_at"),)  # housekeeping deletes by age

    consumer: str = Field(primary_key=True, max_length=128)
    event_id: str = Field(primary_key=True, max_length=36)
    event_type: str = Field(max_length=128)
    processed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class AuditLogEntry(KitTable, table=True):
    """Who read or changed which patient's data, when, from which request. Append-only (DB triggers)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    tenant_id: str = Field(index=True, max_length=64)
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    actor: str = Field(max_length=128, description="API key id, OAuth client id or consumer name.")
    actor_role: str = Field(max_length=32)
    action: str = Field(max_length=16, description="read | create | update | delete")
    resource_type: str = Field(max_length=64)
    resource_id: str = Field(max_length=64)
    patient_id: str | None = Field(default=None, index=True, max_length=64)
    correlation_id: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(default=None, max_length=512)


class ConsumerPosition(KitTable, table=True):
    """Last reported position and high watermark of a consumer per partition (for lag metrics)."""

    __tablename__ = "consumer_position"

    consumer: str = Field(primary_key=True, max_length=128)
    topic: str = Field(primary_key=True, max_length=249)
    partition: int = Field(primary_key=True)
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    high_watermark: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class ControlNumberSequence(KitTable, table=True):
    """The next control number of one kind for one sender id."""

    __tablename__ = "x12_control_number"

    sender_id: str = Field(primary_key=True, max_length=15)
    kind: str = Field(primary_key=True, max_length=8)
    next_value: int = Field(sa_column=Column(BigInteger, nullable=False))


kit_metadata = kit_registry.metadata
