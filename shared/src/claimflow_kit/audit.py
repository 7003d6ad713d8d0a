"""Append-only audit log of reads and changes of patient data (HIPAA), written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_kit.auth import Principal
from claimflow_kit.bulk import insert_at_commit
from claimflow_kit.context import correlation_id_var
from claimflow_kit.tables import AuditLogEntry, utcnow

_AUDIT_LOG: Table = AuditLogEntry.__table__  # type: ignore[attr-defined]


class AuditAction(StrEnum):
    """What was done to the resource."""

    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


def audit(
    session: AsyncSession,
    principal: Principal,
    action: AuditAction,
    resource_type: str,
    resource_id: str,
    *,
    patient_id: str | None = None,
    detail: str | None = None,
) -> None:
    """Record who did what to which patient's data; written as the request's transaction commits, with its other
    entries in one multi-row INSERT."""
    insert_at_commit(session, _AUDIT_LOG, _entry(principal, action, resource_type, resource_id, patient_id, detail))


def _entry(
    principal: Principal,
    action: AuditAction,
    resource_type: str,
    resource_id: str,
    patient_id: str | None,
    detail: str | None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """The columns of one audit entry (``occurred_at``: now when not given)."""
    return {
        "tenant_id": principal.tenant_id,
        "occurred_at": occurred_at or utcnow(),
        "actor": principal.client_id,
        "actor_role": principal.role.value,
        "action": action.value,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "patient_id": patient_id,
        "correlation_id": correlation_id_var.get(),
        "detail": detail,
    }


async def audit_many(
    session: AsyncSession,
    principal: Principal,
    action: AuditAction,
    resource_type: str,
    resources: Sequence[tuple[str, str | None]],
    *,
    detail: str | None = None,
) -> None:
    """Record ``action`` on each ``(resource id, patient id)``, as ``audit`` does (for lists: an entry per patient
    record read)."""
    now = utcnow()
    for resource_id, patient_id in resources:
        insert_at_commit(
            session, _AUDIT_LOG, _entry(principal, action, resource_type, resource_id, patient_id, detail, now)
        )


APPEND_ONLY_TRIGGERS: dict[str, list[str]] = {
    "sqlite": [
        """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
           BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
        """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
           BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    ],
    "postgresql": [
        """CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
           FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    ],
}
"""DDL that makes the audit log append-only, per dialect (applied by the kit's migration helper)."""
