"""Per-tenant, per-payer routing and the connector factory."""

from __future__ import annotations

import pytest

from claimflow_connect import (
    ConnectorNotConfigured,
    ConnectorRouter,
    DropFolderConnector,
    RoutingConfig,
    SandboxConnector,
)

CONFIG = RoutingConfig.model_validate(
    {
        "default": {"kind": "sandbox", "base_url": "http://127.0.0.1:8010"},
        "tenants": {
            "acme-billing": {
                "default": {
                    "kind": "https-x12",
                    "base_url": "https://clearinghouse.example",
                    "auth_header_value": "Bearer secret",
                },
                "payers": {
                    "MCAID": {"kind": "drop-folder", "outbound_dir": "/x/out", "inbound_dir": "/x/in",
                              "archive_dir": "/x/archive"},
                },
            },
            "no-default": {"payers": {"MCARE": {"kind": "sandbox", "base_url": "http://127.0.0.1:8011"}}},
        },
    }
)  # fmt: skip


def test_payer_override_then_tenant_default_then_deployment_default() -> None:
    assert CONFIG.route("acme-billing", "MCAID").kind == "drop-folder"
    assert CONFIG.route("acme-billing", "60054").kind == "https-x12"
    assert CONFIG.route("someone-else", "60054").kind == "sandbox"
    assert CONFIG.route("no-default", "60054").kind == "sandbox"


def test_missing_route_is_a_clear_error() -> None:
    with pytest.raises(ConnectorNotConfigured, match="tenant t1 and payer 60054"):
        RoutingConfig().route("t1", "60054")


def test_secrets_are_not_shown_in_the_config() -> None:
    assert "secret" not in repr(CONFIG)
    assert "secret" not in CONFIG.model_dump_json()


async def test_router_builds_each_route_once_and_lists_a_tenants_mailboxes() -> None:
    router = ConnectorRouter(CONFIG)
    try:
        first = router.for_payer("acme-billing", "60054")
        assert router.for_payer("acme-billing", "HMO01") is first
        assert isinstance(router.for_payer("acme-billing", "MCAID"), DropFolderConnector)
        assert isinstance(router.for_payer("someone-else", "60054"), SandboxConnector)
        assert [c.kind for c in router.for_tenant("acme-billing")] == ["https-x12", "drop-folder"]
        assert [c.kind for c in router.for_tenant("no-default")] == ["sandbox", "sandbox"]
    finally:
        await router.aclose()
