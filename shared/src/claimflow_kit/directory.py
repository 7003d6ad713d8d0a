"""The tenant directory: billing companies (tenants), their practices and providers, and API credentials.

It is a small database of its own (like an identity provider), written by the admin CLI and read by
every service to authenticate callers. API key secrets are stored only as SHA-256 digests: the keys are
256-bit random values, so a slow password hash adds nothing but latency.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column
from sqlalchemy.orm import registry
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_kit.db import Database
from claimflow_kit.errors import Conflict, InvalidInput, NotFound
from claimflow_kit.tables import TableModel, UtcDateTime, utcnow

directory_registry = registry()

KEY_PREFIX = "cfk"


class Role(StrEnum):
    """What a credential may do. ``admin`` may do everything within its tenant."""

    EHR_INTEGRATION = "ehr-integration"
    CODER = "coder"
    BILLER = "biller"
    OPS = "ops"
    ADMIN = "admin"


class DirectoryTable(TableModel, registry=directory_registry):
    """Base of the directory tables."""


class Tenant(DirectoryTable, table=True):
    """A billing company."""

    __tablename__ = "tenant"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class Practice(DirectoryTable, table=True):
    """A client practice of a billing company, with its billing NPI and tax id."""

    __tablename__ = "practice"

    id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=64)
    name: str = Field(max_length=200)
    npi: str = Field(max_length=10)
    tax_id: str = Field(max_length=9)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    # Where payers send mail and what the practice is (837 2010AA N3/N4 and PRV); a claim without them is held.
    address_line1: str | None = Field(default=None, max_length=55)
    city: str | None = Field(default=None, max_length=30)
    state: str | None = Field(default=None, max_length=2)
    postal_code: str | None = Field(default=None, max_length=9)
    taxonomy_code: str | None = Field(default=None, max_length=10)


class Provider(DirectoryTable, table=True):
    """A rendering provider of a practice."""

    __tablename__ = "provider"

    id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=64)
    practice_id: str = Field(foreign_key="practice.id", index=True, max_length=64)
    npi: str = Field(max_length=10)
    last_name: str = Field(max_length=100)
    first_name: str = Field(max_length=100)
    taxonomy_code: str = Field(max_length=10)


class ApiKey(DirectoryTable, table=True):
    """An API credential (also the OAuth2 client id/secret pair). Only the secret's digest is kept."""

    __tablename__ = "api_key"

    id: str = Field(primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenant.id", index=True, max_length=64)
    role: str = Field(max_length=32)
    label: str = Field(max_length=200)
    secret_sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


directory_metadata = directory_registry.metadata


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key; ``token`` is shown once and never stored."""

    key_id: str
    secret: str
    tenant_id: str
    role: Role

    @property
    def token(self) -> str:
        """The bearer token form: ``cfk_<key id>_<secret>``."""
        return f"{KEY_PREFIX}_{self.key_id}_{self.secret}"


def digest(secret: str) -> str:
    """SHA-256 hex digest of a key secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a ``cfk_`` token, or None when it is not one."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    return parts[1], parts[2]


class Directory:
    """Reads and writes the tenant directory inside a caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create_tenant(self, tenant_id: str, name: str) -> Tenant:
        """Register a billing company."""
        if await self.session.get(Tenant, tenant_id) is not None:
            raise Conflict(f"tenant {tenant_id} already exists")
        tenant = Tenant(id=tenant_id, name=name)
        self.session.add(tenant)
        return tenant

    async def tenant(self, tenant_id: str) -> Tenant:
        """A tenant by id."""
        tenant = await self.session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound("Tenant", tenant_id)
        return tenant

    async def tenants(self) -> list[Tenant]:
        """Every tenant."""
        return list((await self.session.exec(select(Tenant).order_by(col(Tenant.id)))).all())

    async def add_practice(
        self,
        tenant_id: str,
        name: str,
        npi: str,
        tax_id: str,
        *,
        address: tuple[str, str, str, str] | None = None,
        taxonomy_code: str | None = None,
    ) -> Practice:
        """Add a client practice to a tenant; ``address`` is (street, city, state, ZIP) for the 837."""
        await self.tenant(tenant_id)
        if len(npi) != 10 or not npi.isdigit():
            raise InvalidInput("NPI must be 10 digits")
        if len(tax_id) != 9 or not tax_id.isdigit():
            raise InvalidInput("tax id must be 9 digits")
        street, city, state, postal_code = address or (None, None, None, None)
        if state is not None and (len(state) != 2 or not state.isalpha()):
            raise InvalidInput("state must be a 2-letter code")
        if postal_code is not None and (len(postal_code) not in (5, 9) or not postal_code.isdigit()):
            raise InvalidInput("ZIP code must be 5 or 9 digits")
        practice = Practice(
            id=f"prac_{uuid.uuid4().hex[:16]}",
            tenant_id=tenant_id,
            name=name,
            npi=npi,
            tax_id=tax_id,
            address_line1=street,
            city=city,
            state=state.upper() if state else None,
            postal_code=postal_code,
            taxonomy_code=taxonomy_code,
        )
        self.session.add(practice)
        return practice

    async def practices(self, tenant_id: str) -> list[Practice]:
        """A tenant's practices."""
        query = select(Practice).where(Practice.tenant_id == tenant_id).order_by(col(Practice.name))
        return list((await self.session.exec(query)).all())

    async def add_provider(
        self, tenant_id: str, practice_id: str, npi: str, last_name: str, first_name: str, taxonomy_code: str
    ) -> Provider:
        """Add a rendering provider to one of the tenant's practices."""
        practice = await self.session.get(Practice, practice_id)
        if practice is None or practice.tenant_id != tenant_id:
            raise NotFound("Practice", practice_id)
        if len(npi) != 10 or not npi.isdigit():
            raise InvalidInput("NPI must be 10 digits")
        if len(taxonomy_code) != 10:
            raise InvalidInput("taxonomy code must be 10 characters (NUCC)")
        provider = Provider(
            id=f"prov_{uuid.uuid4().hex[:16]}",
            tenant_id=tenant_id,
            practice_id=practice_id,
            npi=npi,
            last_name=last_name,
            first_name=first_name,
            taxonomy_code=taxonomy_code,
        )
        self.session.add(provider)
        return provider

    async def issue_key(self, tenant_id: str, role: Role, label: str) -> IssuedKey:
        """Create an API key / OAuth2 client for a tenant and role."""
        await self.tenant(tenant_id)
        issued = IssuedKey(
            key_id=secrets.token_hex(8), secret=secrets.token_urlsafe(32), tenant_id=tenant_id, role=role
        )
        self.session.add(
            ApiKey(
                id=issued.key_id, tenant_id=tenant_id, role=role.value, label=label, secret_sha256=digest(issued.secret)
            )
        )
        return issued

    async def revoke_key(self, key_id: str) -> None:
        """Revoke a key; requests with it fail from the next cache expiry on."""
        key = await self.session.get(ApiKey, key_id)
        if key is None:
            raise NotFound("ApiKey", key_id)
        key.revoked_at = utcnow()
        self.session.add(key)

    async def verify(self, key_id: str, secret: str) -> ApiKey | None:
        """The active key matching id and secret, else None (constant-time digest comparison)."""
        key = await self.session.get(ApiKey, key_id)
        if key is None or key.revoked_at is not None:
            return None
        if not hmac.compare_digest(key.secret_sha256, digest(secret)):
            return None
        return key


class PracticeCache:
    """A tenant's practices from the directory, kept ``ttl`` seconds per tenant. Intake, eligibility checks and the
    scrubber need them for every encounter, check and claim, and they change rarely; a read of the directory (a
    database shared by every service) each time cost a transaction per request.

    A practice id not among the kept ones makes a fresh read at once, so a practice just added is found; a practice
    changed or removed may be seen as it was for up to ``ttl`` seconds.
    """

    def __init__(self, directory: Database, *, ttl: float = 30.0) -> None:
        self.directory = directory
        self.ttl = ttl
        self._kept: dict[str, tuple[float, list[Practice]]] = {}

    async def practices(self, tenant_id: str) -> list[Practice]:
        """The tenant's practices (a copy of the kept list)."""
        kept = self._kept.get(tenant_id)
        if kept is not None and kept[0] > time.monotonic():
            return list(kept[1])
        return list(await self._read(tenant_id))

    async def practice(self, tenant_id: str, practice_id: str) -> Practice | None:
        """The tenant's practice ``practice_id``; None for an unknown one or another tenant's."""
        found = next((p for p in await self.practices(tenant_id) if p.id == practice_id), None)
        if found is None:
            found = next((p for p in await self._read(tenant_id) if p.id == practice_id), None)
        return found

    async def _read(self, tenant_id: str) -> list[Practice]:
        async with self.directory.transaction() as session:
            practices = await Directory(session).practices(tenant_id)
        self._kept[tenant_id] = (time.monotonic() + self.ttl, practices)
        return practices
