"""``claimflow x12 ...``: parse, validate and acknowledge X12 files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from claimflow_x12.ack import build_999, build_ta1
from claimflow_x12.envelope import (
    Envelope,
    InMemoryControlNumberAllocator,
    Interchange,
    allocate_envelope,
)
from claimflow_x12.errors import ErrorLevel, X12ParseError
from claimflow_x12.jsonable import to_jsonable
from claimflow_x12.parser import ParseResult, parse
from claimflow_x12.validate import validate
from claimflow_x12.writer import build_interchange, serialize

__all__ = ["app"]

app = typer.Typer(help="Read, validate and acknowledge ASC X12 5010 health care files.", no_args_is_help=True)

FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="X12 file")]


def _parse(path: Path) -> ParseResult:
    try:
        with path.open("rb") as stream:
            result = parse(stream)
    except X12ParseError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if not result.interchanges:
        messages = [str(error) for error in result.errors] or ["no interchange found"]
        for message in messages:
            typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2)
    return result


def _party(value: str) -> str:
    """An id usable in ISA06/08 and GS02/03 (2-15 characters), echoing the original when it fits."""
    return value if 2 <= len(value) <= 15 else "UNKNOWN"


def _qualifier(value: str) -> str:
    return value if len(value) == 2 else "ZZ"


@app.command("parse")
def parse_command(file: FileArgument) -> None:
    """Print the typed transaction sets of FILE as JSON (amounts as strings)."""
    result = _parse(file)
    transactions = []
    for group in result.groups:
        for parsed in group.transactions:
            transactions.append(
                {
                    "interchange_control_number": f"{group.interchange.control_number:09d}",
                    "group_control_number": str(group.header.control_number),
                    "transaction_set_id": parsed.header.transaction_set_id,
                    "control_number": parsed.header.control_number,
                    "implementation_reference": parsed.header.implementation_reference or group.header.version,
                    "model": type(parsed.transaction).__name__ if parsed.transaction is not None else None,
                    "transaction": to_jsonable(parsed.transaction),
                }
            )
    payload = {"transactions": transactions, "errors": [e.model_dump(mode="json") for e in result.errors]}
    typer.echo(json.dumps(payload, indent=2))


@app.command("validate")
def validate_command(
    file: FileArgument,
    as_json: Annotated[bool, typer.Option("--json", help="print errors as JSON")] = False,
) -> None:
    """Check FILE against the implementation guide rules; exit 1 when there is any error."""
    errors = validate(_parse(file))
    if as_json:
        typer.echo(json.dumps([e.model_dump(mode="json") for e in errors], indent=2))
    else:
        for error in errors:
            typer.echo(str(error))
        typer.echo(f"{len(errors)} error(s)" if errors else "valid: no errors")
    if errors:
        raise typer.Exit(1)


ControlNumbersOption = Annotated[
    str | None,
    typer.Option(
        "--control-numbers",
        envvar="CLAIMFLOW_DATABASE_URL",
        help="database whose persistent sequences number the acknowledgment (sqlite:///acks.db, "
        "postgresql://...); without it, or --control-number, numbering starts at 1 on every run",
    ),
]


def _async_url(url: str) -> str:
    """The URL with the async driver the kit's database layer uses (sqlite → aiosqlite, postgresql → asyncpg)."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
    parsed = parsed.set(drivername=driver.get(parsed.drivername, parsed.drivername))
    return parsed.render_as_string(hide_password=False)


class _UsageError(Exception):
    """A problem with the command's options or environment, shown as ``error: ...`` with exit code 2."""


async def _persistent_envelope(url: str, *, sender_id: str, receiver_id: str, count: int, **fields: Any) -> Envelope:
    """Allocate ISA13, GS06 and the ST02s from the control-number sequences in the database at ``url``.

    A database of its own (no Alembic history) gets the sequence table on first use; a service database
    must already have it from its migrations (kit schema v2), so this never creates tables Alembic manages.
    """
    # Imported here: the kit (SQL, settings) is only needed by this option, and claimflow_kit imports this library.
    from claimflow_kit.control_numbers import SqlControlNumberAllocator
    from claimflow_kit.db import Database
    from claimflow_kit.tables import ControlNumberSequence

    database = Database(_async_url(url), pool_size=1)
    try:
        async with database.engine.begin() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            table = ControlNumberSequence.__table__  # type: ignore[attr-defined]
            if table.name not in tables:
                if "alembic_version" in tables:
                    raise _UsageError(
                        f"{make_url(url).render_as_string()} has no {table.name} table: "
                        "apply the service's migrations first (claimflow migrate SERVICE)"
                    )
                await connection.run_sync(table.create)
        allocator = SqlControlNumberAllocator(database)
        return await allocate_envelope(
            allocator, sender_id=sender_id, receiver_id=receiver_id, transaction_count=count, **fields
        )
    finally:
        await database.dispose()


@app.command("ack")
def ack_command(
    file: FileArgument,
    out: Annotated[Path | None, typer.Option("--out", help="write the acknowledgment here instead of stdout")] = None,
    control_number: Annotated[
        int | None, typer.Option(help="ISA13/GS06 of the acknowledgment (wins over --control-numbers)", min=1)
    ] = None,
    control_numbers: ControlNumbersOption = None,
) -> None:
    """Write the 999 (and a TA1 when the interchange has envelope errors or asked for one) for FILE."""
    result = _parse(file)
    errors = validate(result)
    original = result.interchanges[0]
    isa = original.header
    source_group = result.groups[0].header if result.groups else None
    acknowledgments = build_999(result, [e for e in errors if e not in result.errors])
    sender_id = _party(isa.receiver_id)
    receiver_id = _party(isa.sender_id)
    fields: dict[str, Any] = {
        "sender_id_qualifier": _qualifier(isa.receiver_id_qualifier),
        "receiver_id_qualifier": _qualifier(isa.sender_id_qualifier),
        "application_sender_code": _party(source_group.application_receiver_code) if source_group else None,
        "application_receiver_code": _party(source_group.application_sender_code) if source_group else None,
        "usage_indicator": "T" if isa.usage_indicator == "T" else "P",
    }
    count = len(acknowledgments)
    if control_numbers and control_number is None:
        allocation = _persistent_envelope(
            control_numbers, sender_id=sender_id, receiver_id=receiver_id, count=count, **fields
        )
    else:
        allocator = InMemoryControlNumberAllocator(start=control_number or 1)
        allocation = allocate_envelope(
            allocator, sender_id=sender_id, receiver_id=receiver_id, transaction_count=count, **fields
        )
    try:
        envelope = asyncio.run(allocation)
    except (_UsageError, SQLAlchemyError, OSError) as exc:
        typer.echo(f"error: control numbers: {exc}", err=True)
        raise typer.Exit(2) from exc
    if acknowledgments:
        interchange = build_interchange(envelope, acknowledgments, original.separators)
    else:
        interchange = Interchange(header=envelope.isa(), separators=original.separators)
    interchange_errors = [e for e in errors if e.level is ErrorLevel.INTERCHANGE]
    if interchange_errors or isa.acknowledgment_requested:
        interchange.acknowledgments.append(build_ta1(isa, interchange_errors))
    text = serialize(interchange)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        typer.echo(f"wrote {out}", err=True)
