"""SandboxConnector and HttpsX12Connector against a real payer-sandbox over HTTP."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from claimflow_connect import (
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
    HttpsX12Connector,
    HttpsX12Route,
    ResponseKind,
    SandboxConnector,
    build_connector,
)
from claimflow_connect.https_x12 import payer_reason
from claimflow_x12 import parse, validate
from claimflow_x12.guides.eligibility_270_271 import EligibilityResponse271, summarize_eligibility
from payer_sandbox.samples import ClaimRequest, LineRequest, PersonRequest, claim_837p, inquiry_270, to_x12
from payer_sandbox.scenario import PayerScenario, Scenario

from .conftest import RunningSandbox

MARIA = PersonRequest("LOPEZ", "MARIA", date(1984, 3, 9), "W123456789")


def _837(pcn: str) -> bytes:
    request = ClaimRequest(pcn, "60054", MARIA, [LineRequest("99213", Decimal("150.00"))], ["J209"], date(2025, 3, 1))
    return to_x12([claim_837p([request])])


async def test_real_time_eligibility_returns_the_271(served_sandbox: RunningSandbox) -> None:
    connector = SandboxConnector(served_sandbox.url)
    try:
        answer = await connector.eligibility("tenant-a", to_x12([inquiry_270("60054", MARIA)]), timeout_seconds=5)
    finally:
        await connector.aclose()
    result = parse(answer)
    assert validate(result) == []
    (response,) = result.transactions
    assert isinstance(response, EligibilityResponse271)
    (summary,) = summarize_eligibility(response)
    assert summary.active
    assert summary.member_id == "W123456789"


async def test_submit_then_fetch_acknowledgments_then_remittance_after_the_cursor(
    served_sandbox: RunningSandbox,
) -> None:
    connector = SandboxConnector(served_sandbox.url)
    try:
        receipt = await connector.submit("tenant-a", "60054", _837("PCNC1"), "batch-1.837")
        assert receipt.filename == "batch-1.837"
        assert receipt.connector == "sandbox"
        assert await connector.submit("tenant-a", "60054", _837("PCNC1"), "batch-1.837") == receipt
        acks = await connector.fetch_responses("tenant-a")
        assert [item.kind for item in acks] == [ResponseKind.ACK_999, ResponseKind.CLAIM_ACK_277CA]
        assert all(parse(item.content).ok for item in acks)
        assert await connector.fetch_responses("tenant-a", after=acks[-1].cursor) == []
        assert await connector.fetch_responses("tenant-b") == []
        served_sandbox.sandbox.advance(7)
        remits = await connector.fetch_responses("tenant-a", after=acks[-1].cursor)
        assert [item.kind for item in remits] == [ResponseKind.REMITTANCE_835]
        await connector.acknowledge("tenant-a", [item.id for item in remits])
    finally:
        await connector.aclose()


async def test_same_file_name_with_other_bytes_is_rejected(served_sandbox: RunningSandbox) -> None:
    connector = SandboxConnector(served_sandbox.url)
    try:
        await connector.submit("tenant-a", "60054", _837("PCNX1"), "batch-x.837")
        with pytest.raises(ConnectorRejected) as raised:
            await connector.submit("tenant-a", "60054", _837("PCNX2"), "batch-x.837")
        assert raised.value.status_code == 409
    finally:
        await connector.aclose()


async def test_slow_payer_times_out_and_garbage_is_rejected(served_sandbox: RunningSandbox) -> None:
    served_sandbox.sandbox.set_scenario(Scenario(payers={"60054": PayerScenario(eligibility_delay_seconds=2.0)}))
    connector = SandboxConnector(served_sandbox.url)
    try:
        with pytest.raises(ConnectorTimeout):
            await connector.eligibility("tenant-a", to_x12([inquiry_270("60054", MARIA)]), timeout_seconds=0.3)
        with pytest.raises(ConnectorRejected) as raised:
            await connector.eligibility("tenant-a", b"not x12 at all", timeout_seconds=5)
        assert raised.value.status_code == 400
        assert "not x12 at all" not in str(raised.value)
    finally:
        await connector.aclose()


async def test_submissions_down_are_unavailable_and_a_retry_with_the_same_name_succeeds(
    served_sandbox: RunningSandbox,
) -> None:
    served_sandbox.sandbox.set_scenario(Scenario(payers={"60054": PayerScenario(submission_failure=True)}))
    connector = SandboxConnector(served_sandbox.url)
    try:
        with pytest.raises(ConnectorUnavailable):
            await connector.submit("tenant-a", "60054", _837("PCNR1"), "retry.837")
        assert await connector.fetch_responses("tenant-a") == []
        served_sandbox.sandbox.set_scenario(Scenario())
        receipt = await connector.submit("tenant-a", "60054", _837("PCNR1"), "retry.837")
        assert receipt.filename == "retry.837"
        assert [item.kind for item in await connector.fetch_responses("tenant-a")] == [
            ResponseKind.ACK_999,
            ResponseKind.CLAIM_ACK_277CA,
        ]
    finally:
        await connector.aclose()


async def test_slow_submission_times_out(served_sandbox: RunningSandbox) -> None:
    served_sandbox.sandbox.set_scenario(Scenario(payers={"60054": PayerScenario(submission_delay_seconds=1.0)}))
    connector = SandboxConnector(served_sandbox.url, timeout_seconds=0.2)
    try:
        with pytest.raises(ConnectorTimeout):
            await connector.submit("tenant-a", "60054", _837("PCNS1"), "slow.837")
    finally:
        await connector.aclose()


async def test_unreachable_endpoint_is_unavailable() -> None:
    from .conftest import _free_port

    connector = SandboxConnector(f"http://127.0.0.1:{_free_port()}", timeout_seconds=2)
    try:
        with pytest.raises(ConnectorUnavailable):
            await connector.fetch_responses("tenant-a")
    finally:
        await connector.aclose()


async def test_https_connector_speaks_the_same_contract_with_configured_paths(served_sandbox: RunningSandbox) -> None:
    route = HttpsX12Route(
        base_url=served_sandbox.url,
        allow_insecure_http=True,
        submit_path="/v1/submissions",
        mailbox_path="/v1/mailbox",
        eligibility_path="/v1/eligibility",
        tenant_parameter="tenant",
        auth_header_value="Bearer local-test-token",
    )
    connector = build_connector(route)
    assert isinstance(connector, HttpsX12Connector)
    try:
        receipt = await connector.submit("tenant-h", "60054", _837("PCNH1"), "h.837")
        assert receipt.connector == "https-x12"
        kinds = [item.kind for item in await connector.fetch_responses("tenant-h")]
        assert kinds == [ResponseKind.ACK_999, ResponseKind.CLAIM_ACK_277CA]
    finally:
        await connector.aclose()


def test_https_route_refuses_plain_http_unless_allowed() -> None:
    with pytest.raises(ValueError, match="https"):
        HttpsX12Route(base_url="http://clearinghouse.example")
    assert HttpsX12Route(base_url="https://clearinghouse.example").base_url.startswith("https://")


async def test_an_egress_proxy_named_in_the_environment_carries_the_exchange(
    served_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forward proxy (one request per connection) records what it relays; NO_PROXY would bypass it."""
    seen: list[bytes] = []

    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        head = await client_reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        body = await client_reader.readexactly(length)
        seen.append(head.split(b"\r\n")[0])
        target = urlsplit(head.split(b" ")[1].decode())
        reader, writer = await asyncio.open_connection(target.hostname, target.port)
        writer.write(head.replace(b" HTTP/1.1\r\n", b" HTTP/1.1\r\nConnection: close\r\n", 1) + body)
        client_writer.write(await reader.read())
        writer.close()
        await client_writer.drain()
        client_writer.close()

    proxy = await asyncio.start_server(relay, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    connector = SandboxConnector(served_sandbox.url)
    try:
        answer = await connector.eligibility("tenant-a", to_x12([inquiry_270("60054", MARIA)]), timeout_seconds=5)
    finally:
        await connector.aclose()
        proxy.close()
        await proxy.wait_closed()
    assert seen == [f"POST {served_sandbox.url}/v1/eligibility?tenant=tenant-a HTTP/1.1".encode()]
    (response,) = parse(answer).transactions
    assert isinstance(response, EligibilityResponse271)
    (summary,) = summarize_eligibility(response)
    assert summary.active

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    direct = SandboxConnector(served_sandbox.url)
    try:
        await direct.eligibility("tenant-a", to_x12([inquiry_270("60054", MARIA)]), timeout_seconds=5)
    finally:
        await direct.aclose()
    assert len(seen) == 1, "NO_PROXY sends the exchange straight to the host"


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (b'{"detail": "file name batch-x.837 was already received with other content"}', True),
        (b'{"error": "unknown payer"}', True),
        (b'{"detail": "rejected: NM1*IL*1*LOPEZ*MARIA****MI*W123456789~"}', False),  # an echoed segment
        (b'{"detail": "member 19840309 not found"}', False),  # a birth date or an id
        (b"ISA*00*...~ST*837*0001~NM1*QC*1*LOPEZ*LUCAS~", False),  # not JSON at all
        (b'{"detail": "' + b"x" * 200 + b'"}', False),
    ],
)
def test_a_payers_error_body_reaches_logs_only_as_a_short_reason(body: bytes, shown: bool) -> None:
    reason = payer_reason(body)
    assert (reason in body.decode()) is shown, reason
    if not shown:
        assert reason == f"(the answer's {len(body)}-byte body is not shown: it may carry patient data)"
