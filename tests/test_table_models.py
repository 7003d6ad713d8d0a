"""Every table model is built by the kit's fast constructor exactly as SQLModel's own constructor builds it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import UnionType
from typing import Any, Union, get_args, get_origin

import pytest
from sqlalchemy import JSON, Column
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel
from sqlmodel._compat import partial_init, sqlmodel_init

from claimflow_kit.directory import directory_registry
from claimflow_kit.tables import TableModel, kit_registry
from claims_svc.adapters.tables import claims_registry
from coding_svc.adapters.tables import coding_registry
from eligibility_svc.adapters.tables import eligibility_registry
from remit_svc.adapters.tables import remit_registry

REGISTRIES: list[registry] = [
    kit_registry,
    directory_registry,
    coding_registry,
    eligibility_registry,
    claims_registry,
    remit_registry,
]
MODELS = sorted(
    (mapper.class_ for reg in REGISTRIES for mapper in reg.mappers),
    key=lambda cls: f"{cls.__module__}.{cls.__name__}",
)


SAMPLES: list[tuple[type, Any]] = [
    (bool, True),  # before int: a bool is an int
    (datetime, datetime(2026, 11, 24, 12, 0, tzinfo=UTC)),  # before date: a datetime is a date
    (date, date(2026, 11, 24)),
    (Decimal, Decimal("12.50")),
    (int, 7),
    (float, 1.5),
    (bytes, b"x"),
    (list, ["a"]),
    (dict, {"k": "v"}),
]


def _sample(annotation: Any) -> Any:
    """A value of the field's type (the constructor does not validate; any value of the right kind does)."""
    if get_origin(annotation) in (Union, UnionType):  # X | None
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    kind = get_origin(annotation) or annotation
    for sample_type, value in SAMPLES:
        if isinstance(kind, type) and issubclass(kind, sample_type):
            return value
    return "value"


def _with_sqlmodel(cls: type[SQLModel], data: dict[str, Any]) -> SQLModel:
    with partial_init():
        instance = cls()  # SQLAlchemy's state only
    sqlmodel_init(self=instance, data=dict(data))
    return instance


def _comparable(instance: SQLModel) -> dict[str, Any]:
    """The row's values; a default factory's value (a timestamp, an id) by its type, as two calls differ."""
    fields = type(instance).model_fields
    return {
        name: type(value) if fields[name].default_factory is not None else value
        for name, value in instance.__dict__.items()
        if name in fields
    }


def test_every_table_model_takes_the_fast_constructor() -> None:
    assert len(MODELS) > 30
    for cls in MODELS:
        assert issubclass(cls, TableModel), cls


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_same_row_as_sqlmodel_builds(cls: type[SQLModel]) -> None:
    every_field = {name: _sample(field.annotation) for name, field in cls.model_fields.items()}
    for data in ({}, every_field, {**every_field, "not_a_field": 1}):
        fast = cls(**data)
        reference = _with_sqlmodel(cls, data)
        assert _comparable(fast) == _comparable(reference)
        assert fast.model_fields_set == reference.model_fields_set
        assert "not_a_field" not in fast.__dict__
    # Every field given: no default is drawn, so the two rows are equal value for value.
    fast, reference = cls(**every_field), _with_sqlmodel(cls, every_field)
    assert fast.model_dump(warnings=False) == reference.model_dump(warnings=False) == every_field


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_mutable_defaults_are_not_shared(cls: type[SQLModel]) -> None:
    first, second = cls(), cls()
    for name in cls.model_fields:
        value = first.__dict__.get(name)
        if isinstance(value, list | dict):
            assert value is not second.__dict__.get(name), f"{cls.__name__}.{name} shares its default"


class _TestTable(TableModel, registry=registry()):
    """Base of this module's table (SQLModel maps the subclasses of the class naming the registry)."""


class _Row(_TestTable, table=True):
    """A table with a plain mutable default (the services' tables use default factories instead)."""

    id: int = Field(primary_key=True)
    tags: list[str] = Field(default=["new"], sa_column=Column(JSON, nullable=False))
    note: str = "none"


def test_a_plain_mutable_default_is_copied_for_each_row() -> None:
    first, second = _Row(id=1), _Row(id=2)
    first.tags.append("seen")
    assert second.tags == ["new"]
    assert _comparable(first) == _comparable(_with_sqlmodel(_Row, {"id": 1})) | {"tags": ["new", "seen"]}
    assert first.note == "none"
    assert first.model_fields_set == {"id"}
