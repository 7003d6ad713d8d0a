"""Fixed query-planner statistics for the SQLite databases: what a multi-tenant table looks like, not what it holds.

SQLite plans from ``sqlite_stat1`` when it has rows and from built-in guesses when not (we never run ``ANALYZE``).
The built-in guess is that an equality on an index's first column keeps about 10 rows of a million. For
``tenant_id`` that is badly wrong: one tenant may hold most of a table. With that guess, a query such as
``tenant_id = ? AND patient_control_number IN (...) ORDER BY id`` went through the index on (tenant_id, id) to skip
the sort, and so read every claim of the tenant, for each 277CA, instead of looking the claims up by number.

``ANALYZE`` would fix the estimates for the data of the moment, so plans would change as tables grow, and an empty
database (every test, every new install) would have none. Instead, after every migration, each index gets the row
estimates of a large table shared by ten tenants (SQLite documents ``sqlite_stat1`` as writable to this end):

- the table holds 1,000,000 rows;
- an equality on a column of few distinct values (:data:`COARSE`) keeps a tenth of the rows before it;
- an equality on any other column keeps SQLite's own guess: 10 rows, then 9, 8, 7, 6 and 5 for later columns;
- a unique index's whole key keeps one row.

Plans are then the same on every database, whatever it holds, and tests see the plans production gets.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

TABLE_ROWS = 1_000_000
COARSE = frozenset({"tenant_id", "status", "state", "kind", "account"})
"""Columns whose values many rows share: the tenant, and states and kinds of which there are a handful."""
_SQLITE_GUESSES = (10, 9, 8, 7, 6, 5)


def index_estimate(columns: list[str], *, unique: bool) -> str:
    """The ``sqlite_stat1`` text of an index on ``columns``: the table's rows, then the rows an equality on each
    prefix of the key keeps."""
    rows = TABLE_ROWS
    guesses = iter(_SQLITE_GUESSES)
    estimates = []
    for column in columns:
        rows = max(1, rows // 10) if column in COARSE else min(rows, next(guesses, _SQLITE_GUESSES[-1]))
        estimates.append(rows)
    if unique and estimates:
        estimates[-1] = 1
    return " ".join(str(n) for n in (TABLE_ROWS, *estimates))


def planned_statistics(connection: Connection) -> set[tuple[str, str, str]]:
    """(table, index, estimate) for every index of the database's tables."""
    tables = connection.execute(
        text("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    ).scalars()
    wanted = set()
    for table in list(tables):
        for _seq, index, unique, _origin, _partial in connection.execute(text(f'PRAGMA index_list("{table}")')):
            columns = [row[2] for row in connection.execute(text(f'PRAGMA index_info("{index}")'))]
            wanted.add((table, index, index_estimate(columns, unique=bool(unique))))
    return wanted


def pin_statistics(connection: Connection) -> bool:
    """Give every index of the SQLite database on ``connection`` its fixed estimate (in the caller's transaction);
    returns whether anything changed. Connections opened afterwards plan with them."""
    wanted = planned_statistics(connection)
    exists = connection.execute(text("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'")).first()
    held: set[tuple[str, str, str]] = set()
    if exists is not None:
        held = {(t, i, s) for t, i, s in connection.execute(text("SELECT tbl, idx, stat FROM sqlite_stat1"))}
    if held == wanted:
        return False
    if exists is None:
        connection.execute(text("ANALYZE sqlite_schema"))  # creates sqlite_stat1, which cannot be created by name
    connection.execute(text("DELETE FROM sqlite_stat1"))
    connection.execute(
        text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (:tbl, :idx, :stat)"),
        [{"tbl": t, "idx": i, "stat": s} for t, i, s in sorted(wanted)],
    )
    return True
