"""The one error-to-HTTP mapping, for database errors from a real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from claimflow_kit.db import Database, is_transient
from claimflow_kit.embedded import free_port
from claimflow_kit.http_errors import install_error_handlers
from claimflow_kit.testing import DatabaseFactory

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(databases: DatabaseFactory, backend: str) -> AsyncIterator[Database]:
    database = Database(await databases.create("http_errors", backend), pool_size=2)
    async with database.transaction() as session:
        await (await session.connection()).execute(
            text("CREATE TABLE item (id VARCHAR(8) PRIMARY KEY, name VARCHAR(4) NOT NULL)")
        )
    yield database
    await database.dispose()


def app_on(database: Database) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/items/{item_id}")
    async def create(item_id: str, name: str = "ok") -> dict[str, str]:
        async with database.transaction() as session:
            connection = await session.connection()
            await connection.execute(
                text("INSERT INTO item (id, name) VALUES (:id, :name)"), {"id": item_id, "name": name}
            )
        return {"id": item_id}

    return app


async def test_a_row_stored_twice_is_a_conflict_and_the_first_stays(database: Database) -> None:
    transport = httpx.ASGITransport(app=app_on(database), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.post("/items/a1")).status_code == 200
        again = await client.post("/items/a1", params={"name": "dup"})
        assert again.status_code == 409, again.text
        assert again.json()["error"] == "Conflict"
        assert "retry" in again.json()["detail"]
    async with database.transaction() as session:
        rows = (await (await session.connection()).execute(text("SELECT id, name FROM item"))).all()
    assert [tuple(r) for r in rows] == [("a1", "ok")]


async def test_another_integrity_error_stays_an_internal_error(database: Database) -> None:
    app = app_on(database)

    @app.post("/broken")
    async def broken() -> None:
        async with database.transaction() as session:
            await (await session.connection()).execute(text("INSERT INTO item (id, name) VALUES ('b1', NULL)"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/broken")
    assert (response.status_code, response.json()["error"]) == (500, "InternalError")


async def test_a_database_server_that_is_down_answers_503_database_unavailable() -> None:
    # Nothing listens on the port, as while the PostgreSQL server is stopped: the connection itself is refused.
    database = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/claimflow", pool_size=1)
    try:
        with pytest.raises(DBAPIError) as refused:
            await database.ping()
        assert is_transient(refused.value)
        transport = httpx.ASGITransport(app=app_on(database), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/items/c1")
        assert (response.status_code, response.json()["error"]) == (503, "DatabaseUnavailable")
    finally:
        await database.dispose()
