"""ClaimFlow connectors: one interface to clearinghouses and payers, whatever carries the X12.

Public API::

    Connector (Protocol)                  submit / fetch_responses / acknowledge / eligibility / aclose
    SandboxConnector(base_url)            the payer-sandbox over HTTP (demos, tests)
    HttpsX12Connector(base_url, ...)      a clearinghouse HTTPS endpoint with an auth header
    DropFolderConnector(out, in, archive) batch files through folders (SFTP mounts)
    RoutingConfig / TenantRouting         per-tenant default route + per-payer overrides (pydantic)
    ConnectorRouter(config)               builds and reuses connectors: for_payer(tenant, payer), for_tenant(tenant)
    SubmissionReceipt, MailboxItem, ResponseKind, detect_response_kind
    ConnectorError > ConnectorUnavailable > ConnectorTimeout; ConnectorRejected; ConnectorNotConfigured;
    ConnectorUnsupported

Services depend on ``Connector`` only; which transport a tenant's payer uses is configuration.
"""

from claimflow_connect.base import Connector
from claimflow_connect.drop_folder import DropFolderConnector
from claimflow_connect.errors import (
    ConnectorError,
    ConnectorNotConfigured,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
    ConnectorUnsupported,
)
from claimflow_connect.https_x12 import X12_MEDIA_TYPE, HttpsX12Connector, SandboxConnector
from claimflow_connect.models import MailboxItem, ResponseKind, SubmissionReceipt, detect_response_kind
from claimflow_connect.routing import (
    ConnectorConfig,
    ConnectorRouter,
    DropFolderRoute,
    HttpsX12Route,
    RoutingConfig,
    SandboxRoute,
    TenantRouting,
    build_connector,
)

__all__ = [
    "X12_MEDIA_TYPE",
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "ConnectorNotConfigured",
    "ConnectorRejected",
    "ConnectorRouter",
    "ConnectorTimeout",
    "ConnectorUnavailable",
    "ConnectorUnsupported",
    "DropFolderConnector",
    "DropFolderRoute",
    "HttpsX12Connector",
    "HttpsX12Route",
    "MailboxItem",
    "ResponseKind",
    "RoutingConfig",
    "SandboxConnector",
    "SandboxRoute",
    "SubmissionReceipt",
    "TenantRouting",
    "build_connector",
    "detect_response_kind",
]
