"""Alembic plumbing shared by every service: the env.py body, programmatic upgrade, and kit table DDL.

Each service keeps its own Alembic script directory (``<service>_svc/migrations``); its first revision
calls :func:`create_kit_schema_v1` so the outbox, inbox, audit log and consumer positions exist next to
the service's tables. Kit schema changes arrive as new ``kit_schema_vN`` helpers called by new service
revisions, so old revisions never change meaning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from importlib import resources

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from claimflow_kit.audit import APPEND_ONLY_TRIGGERS
from claimflow_kit.sqlite_statistics import pin_statistics
from claimflow_kit.tables import BigId


def alembic_config(package: str, url: str, folder: str = "migrations") -> Config:
    """Alembic config for the migrations ``folder`` inside ``package`` against ``url``."""
    config = Config()
    config.set_main_option("script_location", str(resources.files(package).joinpath(folder)))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(package: str, url: str, revision: str = "head", folder: str = "migrations") -> None:
    """Apply migrations synchronously (call from a thread when an event loop is running)."""
    command.upgrade(alembic_config(package, url, folder), revision)


async def upgrade_async(package: str, url: str, revision: str = "head", folder: str = "migrations") -> None:
    """Apply migrations from async code without blocking the event loop."""
    await asyncio.to_thread(upgrade, package, url, revision, folder)


def downgrade(package: str, url: str, revision: str = "base", folder: str = "migrations") -> None:
    """Revert migrations down to ``revision`` (synchronously)."""
    command.downgrade(alembic_config(package, url, folder), revision)


async def downgrade_async(package: str, url: str, revision: str = "base", folder: str = "migrations") -> None:
    """Revert migrations from async code without blocking the event loop."""
    await asyncio.to_thread(downgrade, package, url, revision, folder)


def upgrade_directory(url: str) -> None:
    """Apply the tenant directory's migrations."""
    upgrade("claimflow_kit", url, folder="directory_migrations")


def run_env(target_metadata: Sequence[MetaData]) -> None:
    """Body of every service's ``env.py``: run migrations online over an async engine."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not configured")

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=list(target_metadata),
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if connection.dialect.name == "sqlite":
                pin_statistics(connection)

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=list(target_metadata), literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run())


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def create_kit_schema_v1() -> None:
    """Create the outbox, inbox, audit log (append-only) and consumer position tables."""
    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("message_key", sa.String(255), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        _timestamp("created_at"),
        _timestamp("sent_at", nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        _timestamp("lease_until", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("kafka_partition", sa.Integer(), nullable=True),
        sa.Column("kafka_offset", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["sent_at", "id"])
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        _timestamp("processed_at"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        _timestamp("occurred_at"),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=True, index=True),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("detail", sa.String(512), nullable=True),
    )
    for statement in APPEND_ONLY_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    op.create_table(
        "consumer_position",
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("topic", sa.String(249), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("high_watermark", sa.BigInteger(), nullable=False),
        _timestamp("updated_at"),
    )


def drop_kit_schema_v1() -> None:
    """Drop what :func:`create_kit_schema_v1` created."""
    for table in ("consumer_position", "audit_log", "inbox", "outbox"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")


def create_kit_schema_v2() -> None:
    """Add the persistent X12 control-number sequences."""
    op.create_table(
        "x12_control_number",
        sa.Column("sender_id", sa.String(15), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
    )


def drop_kit_schema_v2() -> None:
    """Drop what :func:`create_kit_schema_v2` created."""
    op.drop_table("x12_control_number")


def create_kit_schema_v3() -> None:
    """Index the inbox by processing time: the worker's hourly housekeeping deletes the rows past their retention,
    and without it read the whole inbox (a dozen rows per claim, kept 14 days) inside a write transaction."""
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"])


def drop_kit_schema_v3() -> None:
    """Drop what :func:`create_kit_schema_v3` created."""
    op.drop_index("ix_inbox_processed_at", table_name="inbox")
