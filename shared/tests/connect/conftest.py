"""A real payer-sandbox served by uvicorn on a free port, for the connectors to talk to over HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
import uvicorn

from claimflow_kit.testing import eventually
from payer_sandbox.main import create_app
from payer_sandbox.service import Sandbox
from payer_sandbox.testing import sandbox_settings


@dataclass
class RunningSandbox:
    """The served sandbox: its URL and its in-process state (for scenario changes without HTTP)."""

    url: str
    sandbox: Sandbox


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest_asyncio.fixture(loop_scope="session")
async def served_sandbox() -> AsyncIterator[RunningSandbox]:
    """A fresh sandbox behind a real HTTP server (timeouts and refused connections are real)."""
    app = create_app(sandbox_settings())
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started, within=10)
    try:
        yield RunningSandbox(f"http://127.0.0.1:{port}", app.state.sandbox)
    finally:
        server.should_exit = True
        await task
