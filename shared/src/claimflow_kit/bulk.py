"""Multi-row inserts for bulk work (an ERA of a thousand claims writes some 15,000 rows).

SQLAlchemy's executemany path builds a parameter dictionary per row and runs every column's bind processor on every
value; for rows that share most of their values (a journal's tenant, claim, date and timestamp) that costs about as
much as SQLite's own work. ``insert_rows`` compiles the INSERT once, converts each distinct value of a column once
with the same processors SQLAlchemy would use, and hands the driver ready-made parameter tuples: what is stored is
exactly what the ORM or Core would store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (all with the same keys, column names of ``table``) in the session's transaction."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    compiled = table.insert().compile(dialect=dialect, column_keys=keys)
    order = list(compiled.positiontup) if compiled.positional and compiled.positiontup else keys
    converters = [(key, _converter(table.c[key].type, dialect)) for key in order]
    if compiled.positional:
        params: list[Any] = [
            tuple(row[key] if convert is None else convert(row[key]) for key, convert in converters) for row in rows
        ]
    else:
        params = [
            {key: row[key] if convert is None else convert(row[key]) for key, convert in converters} for row in rows
        ]
    await connection.exec_driver_sql(compiled.string, params)
