"""Multi-row inserts for bulk work (an ERA of a thousand claims writes some 15,000 rows).

SQLAlchemy's executemany path builds a parameter dictionary per row and runs every column's bind processor on every
value; for rows that share most of their values (a journal's tenant, claim, date and timestamp) that costs about as
much as SQLite's own work. ``insert_rows`` compiles the INSERT once, converts each distinct value of a column once
with the same processors SQLAlchemy would use, and hands the driver ready-made parameter tuples: what is stored is
exactly what the ORM or Core would store. The compiled INSERT is kept per dialect, table and column list, so a
request that writes one row (an event, an audit entry) pays for compiling it only once per process.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine
from sqlmodel.ext.asyncio.session import AsyncSession


def _converter(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column's bind processor for ``dialect``, remembering each distinct value's result (None: pass as is)."""
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = converted = process(value)
            return converted
        except TypeError:  # unhashable (a JSON document): convert every time
            return process(value)

    return convert


_Plan = tuple[str, bool, list[str]]
_plans: weakref.WeakKeyDictionary[Dialect, dict[tuple[Table, tuple[str, ...]], _Plan]] = weakref.WeakKeyDictionary()


def _insert_plan(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _Plan:
    """The INSERT's SQL, whether its parameters are positional, and their order (compiled once per engine)."""
    plans = _plans.setdefault(dialect, {})
    plan = plans.get((table, keys))
    if plan is None:
        compiled = table.insert().compile(dialect=dialect, column_keys=list(keys))
        order = list(compiled.positiontup) if compiled.positional and compiled.positiontup else list(keys)
        plan = plans[(table, keys)] = (compiled.string, compiled.positional, order)
    return plan


def _positional(
    rows: Sequence[Mapping[str, Any]], order: list[str], converters: list[Callable[[Any], Any] | None]
) -> list[tuple[Any, ...]]:
    """Parameter tuples in ``order``: values picked and columns transposed in C, only converted columns in Python."""
    pick = itemgetter(*order)
    picked = [pick(row) for row in rows] if len(order) > 1 else [(pick(row),) for row in rows]
    if all(convert is None for convert in converters):
        return picked
    columns: list[Any] = list(zip(*picked, strict=True))
    for index, convert in enumerate(converters):
        if convert is not None:
            columns[index] = map(convert, columns[index])
    return list(zip(*columns, strict=True))


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (all with the same keys, column names of ``table``) in the session's transaction."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    sql, positional, order = _insert_plan(dialect, table, tuple(rows[0]))
    converters = [(key, _converter(table.c[key].type, dialect)) for key in order]
    if positional:
        params: list[Any] = _positional(rows, order, [convert for _, convert in converters])
    else:
        params = [
            {key: row[key] if convert is None else convert(row[key]) for key, convert in converters} for row in rows
        ]
    await connection.exec_driver_sql(sql, params)


_AT_COMMIT = "claimflow.rows_at_commit"


def insert_at_commit(session: AsyncSession, table: Table, row: Mapping[str, Any]) -> None:
    """Write ``row`` as the transaction commits, with the other rows staged for ``table`` in one multi-row INSERT.

    For rows the transaction never reads back (events for the outbox, audit entries): SQLite hands back no ids for a
    multi-row INSERT the ORM could use, so the ORM writes such a row per statement. ``row`` names every column but an
    autoincrement id; rows are written in the order staged. ``Database.transaction`` calls ``write_staged_rows``.
    """
    staged: dict[Table, list[Mapping[str, Any]]] = session.info.setdefault(_AT_COMMIT, {})
    staged.setdefault(table, []).append(row)


async def write_staged_rows(session: AsyncSession) -> None:
    """INSERT the rows ``insert_at_commit`` staged in this session (a statement per table and run of equal keys)."""
    staged: dict[Table, list[Mapping[str, Any]]] | None = session.info.pop(_AT_COMMIT, None)
    for table, rows in (staged or {}).items():
        start = 0
        for end in range(1, len(rows) + 1):
            if end == len(rows) or rows[end].keys() != rows[start].keys():
                await insert_rows(session, table, rows[start:end])
                start = end
