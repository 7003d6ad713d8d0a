"""Per-tenant, per-payer routing: which connector carries a tenant's files for a payer, and building it.

A billing company (tenant) usually sends everything through one clearinghouse, with a few payers connected
directly (a Medicare contractor's own gateway, a state Medicaid SFTP). So a tenant has a default route plus
overrides by payer id; a deployment may give every tenant the same default (e.g. the sandbox in a demo).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from claimflow_connect.base import Connector
from claimflow_connect.drop_folder import DropFolderConnector
from claimflow_connect.errors import ConnectorNotConfigured
from claimflow_connect.https_x12 import HttpsX12Connector, SandboxConnector

__all__ = [
    "ConnectorConfig",
    "ConnectorRouter",
    "DropFolderRoute",
    "HttpsX12Route",
    "RoutingConfig",
    "SandboxRoute",
    "TenantRouting",
    "build_connector",
    "route_key",
]


class _Route(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SandboxRoute(_Route):
    """The payer-sandbox at ``base_url`` (demos and tests only)."""

    kind: Literal["sandbox"] = "sandbox"
    base_url: str
    timeout_seconds: float = Field(default=30.0, gt=0)


class HttpsX12Route(_Route):
    """A clearinghouse HTTPS endpoint speaking the ClaimFlow X12-over-HTTPS contract."""

    kind: Literal["https-x12"] = "https-x12"
    base_url: str
    auth_header_name: str = "Authorization"
    auth_header_value: SecretStr | None = None  # e.g. "Bearer ..." or an API key; never logged
    submit_path: str = "/x12/submissions"
    mailbox_path: str = "/x12/mailbox"
    eligibility_path: str = "/x12/eligibility"
    claim_status_path: str = "/x12/claim-status"
    tenant_parameter: str | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)
    allow_insecure_http: bool = False  # only for a local stand-in; PHI never travels over plain HTTP

    @model_validator(mode="after")
    def _require_https(self) -> HttpsX12Route:
        if not self.base_url.startswith("https://") and not self.allow_insecure_http:
            raise ValueError("https-x12 base_url must use https:// (PHI must be encrypted in transit)")
        return self


class DropFolderRoute(_Route):
    """Outbound/inbound/archive folders (SFTP mount); paths may contain ``{tenant_id}``."""

    kind: Literal["drop-folder"] = "drop-folder"
    outbound_dir: str
    inbound_dir: str
    archive_dir: str


ConnectorConfig = Annotated[SandboxRoute | HttpsX12Route | DropFolderRoute, Field(discriminator="kind")]


class TenantRouting(_Route):
    """One tenant's routes: a default and overrides by payer id."""

    default: ConnectorConfig | None = None
    payers: dict[str, ConnectorConfig] = Field(default_factory=dict)


class RoutingConfig(_Route):
    """Routes of every tenant, with an optional deployment-wide default."""

    default: ConnectorConfig | None = None
    tenants: dict[str, TenantRouting] = Field(default_factory=dict)

    def route(self, tenant_id: str, payer_id: str) -> SandboxRoute | HttpsX12Route | DropFolderRoute:
        """The route for a tenant's files to a payer: payer override, tenant default, deployment default."""
        tenant = self.tenants.get(tenant_id)
        if tenant is not None:
            override = tenant.payers.get(payer_id)
            if override is not None:
                return override
            if tenant.default is not None:
                return tenant.default
        if self.default is not None:
            return self.default
        raise ConnectorNotConfigured(f"no connector configured for tenant {tenant_id} and payer {payer_id}")

    def tenant_routes(self, tenant_id: str) -> list[SandboxRoute | HttpsX12Route | DropFolderRoute]:
        """Every distinct route a tenant uses (each has a mailbox to poll)."""
        tenant = self.tenants.get(tenant_id)
        candidates = [tenant.default, *tenant.payers.values()] if tenant is not None else []
        if self.default is not None and (tenant is None or tenant.default is None):
            candidates.append(self.default)
        routes: list[SandboxRoute | HttpsX12Route | DropFolderRoute] = []
        for route in candidates:
            if route is not None and route not in routes:
                routes.append(route)
        return routes


def route_key(route: SandboxRoute | HttpsX12Route | DropFolderRoute) -> str:
    """A short stable name of a route (secrets are masked before hashing), e.g. for mailbox cursors."""
    return f"{route.kind}:{hashlib.sha256(route.model_dump_json().encode()).hexdigest()[:32]}"


def build_connector(route: SandboxRoute | HttpsX12Route | DropFolderRoute) -> Connector:
    """A connector for one route."""
    if isinstance(route, SandboxRoute):
        return SandboxConnector(route.base_url, timeout_seconds=route.timeout_seconds)
    if isinstance(route, HttpsX12Route):
        headers = (
            {route.auth_header_name: route.auth_header_value.get_secret_value()} if route.auth_header_value else {}
        )
        return HttpsX12Connector(
            route.base_url,
            submit_path=route.submit_path,
            mailbox_path=route.mailbox_path,
            eligibility_path=route.eligibility_path,
            claim_status_path=route.claim_status_path,
            headers=headers,
            tenant_parameter=route.tenant_parameter,
            timeout_seconds=route.timeout_seconds,
        )
    return DropFolderConnector(route.outbound_dir, route.inbound_dir, route.archive_dir)


class ConnectorRouter:
    """Builds connectors from a routing config on first use and reuses them (one HTTP pool per route)."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self._connectors: dict[SandboxRoute | HttpsX12Route | DropFolderRoute, Connector] = {}

    def _connector(self, route: SandboxRoute | HttpsX12Route | DropFolderRoute) -> Connector:
        connector = self._connectors.get(route)
        if connector is None:
            connector = build_connector(route)
            self._connectors[route] = connector
        return connector

    def for_payer(self, tenant_id: str, payer_id: str) -> Connector:
        """The connector that carries this tenant's files to this payer."""
        return self._connector(self.config.route(tenant_id, payer_id))

    def mailboxes(self, tenant_id: str) -> list[tuple[str, Connector]]:
        """Every (route key, connector) whose mailbox holds this tenant's responses; the key names a cursor."""
        return [(route_key(route), self._connector(route)) for route in self.config.tenant_routes(tenant_id)]

    def for_tenant(self, tenant_id: str) -> list[Connector]:
        """Every connector whose mailbox holds responses for this tenant."""
        return [self._connector(route) for route in self.config.tenant_routes(tenant_id)]

    async def aclose(self) -> None:
        """Close every connector built so far."""
        for connector in self._connectors.values():
            await connector.aclose()
        self._connectors.clear()
