"""The embedded runtime: local broker, every service (API + worker) on SQLite, one command, Ctrl-C stops all.

With ``postgres`` (a server URL) the services use one PostgreSQL database each on that server instead, created on
first start: the same stack on the production database engine, for measurements and trials on one machine.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from sqlalchemy.engine import make_url

from claimflow.demo import DayOptions
from claimflow.sandbox_config import connector_settings
from claimflow.services import SERVICES
from claimflow_kit.embedded import EmbeddedBroker, free_port


@dataclass
class RunningProcess:
    """A child process of the runtime and where its output goes."""

    label: str
    process: subprocess.Popen[bytes]
    log_path: Path


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _terminate(children: list[RunningProcess], grace_seconds: float = 15.0) -> None:
    """SIGTERM every child, then SIGKILL those still running after the grace period."""
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + grace_seconds
    for child in children:
        remaining = max(deadline - time.monotonic(), 0.1)
        try:
            child.process.wait(remaining)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait(5)


class EmbeddedRuntime:
    """Starts and supervises the embedded stack under ``data_dir``."""

    def __init__(
        self, data_dir: Path, *, port_base: int = 8001, broker_port: int = 9092, postgres: str | None = None
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.postgres = postgres
        self.log_dir = self.data_dir / "logs"
        self.port_base = port_base
        self.broker_port = broker_port if _port_free(broker_port) else free_port()
        self.broker = EmbeddedBroker(self.broker_port, log_path=self.log_dir / "broker.log")
        self.processes: list[RunningProcess] = []
        self.ports: dict[str, int] = {}
        self.sandbox_port = self._sandbox_port()
        self.ops_view_port = self._ops_view_port()

    def database_url(self, name: str) -> str:
        """The URL of one service's database (or the directory's): a file in the data directory, or a database
        on the PostgreSQL server named after the data directory's own prefix."""
        if self.postgres is None:
            return f"sqlite+aiosqlite:///{self.data_dir / f'{name}.db'}"
        server = make_url(self.postgres)
        return server.set(database=self.database_name(name)).render_as_string(hide_password=False)

    @functools.cached_property
    def database_prefix(self) -> str:
        """``cf`` + 8 hex digits, generated once per data directory: the names of its PostgreSQL databases."""
        path = self.data_dir / "database-prefix"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"cf{secrets.token_hex(4)}")
        return path.read_text().strip()

    def database_name(self, name: str) -> str:
        """The PostgreSQL database of ``name`` (``<database prefix>_<name>``)."""
        return f"{self.database_prefix}_{name.replace('-', '_')}"

    def database_names(self) -> list[str]:
        """Every database the stack uses (directory first)."""
        return ["directory", *SERVICES]

    def jwt_secret(self) -> str:
        """The local token-signing secret, generated once per data directory."""
        path = self.data_dir / "jwt-secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def ops_token(self) -> str:
        """The installation's ops token (ops view and the services' /ops endpoints), generated once per data
        directory."""
        path = self.data_dir / "ops-token"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def environment(self, service: str) -> dict[str, str]:
        """Environment of one service's processes."""
        env = dict(os.environ)
        env.update(
            {
                "CLAIMFLOW_ENVIRONMENT": "embedded",
                "CLAIMFLOW_DATABASE_URL": self.database_url(service),
                "CLAIMFLOW_DIRECTORY_URL": self.database_url("directory"),
                "CLAIMFLOW_KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
                "CLAIMFLOW_KAFKA_IDEMPOTENT_PRODUCER": "false",
                "CLAIMFLOW_JWT_SECRET": self.jwt_secret(),
                "CLAIMFLOW_OPS_TOKEN": self.ops_token(),
                "CLAIMFLOW_AUTO_MIGRATE": "false",
            }
        )
        # Embedded demo: every tenant's X12 goes to the local payer-sandbox (never in production).
        for setting, value in connector_settings(service, f"http://127.0.0.1:{self.sandbox_port}").items():
            env[f"CLAIMFLOW_{setting.upper()}"] = json.dumps(value)
        return env

    def _sandbox_port(self) -> int:
        """The payer-sandbox listens right after the services (or on a free port when that one is taken)."""
        candidate = self.port_base + len(SERVICES)
        return candidate if candidate != self.broker_port and _port_free(candidate) else free_port()

    def _ops_view_port(self) -> int:
        """The ops view listens right after the payer-sandbox (or on a free port when that one is taken)."""
        candidate = self.sandbox_port + 1
        taken = (self.broker_port, self.sandbox_port)
        return candidate if candidate not in taken and _port_free(candidate) else free_port()

    def prepare(self) -> None:
        """Create the data directory and apply every migration."""
        from claimflow_kit.migrations import upgrade, upgrade_directory

        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.postgres is not None:
            asyncio.run(self._create_databases())
        upgrade_directory(self.database_url("directory"))
        for name, spec in SERVICES.items():
            upgrade(spec.package, self.database_url(name))

    def _server_dsn(self) -> str:
        assert self.postgres is not None
        return make_url(self.postgres).set(drivername="postgresql", database="postgres").render_as_string(False)

    async def _create_databases(self) -> None:
        import asyncpg

        connection = await asyncpg.connect(self._server_dsn())
        try:
            existing = {row[0] for row in await connection.fetch("SELECT datname FROM pg_database")}
            for name in self.database_names():
                database = self.database_name(name)
                if database not in existing:
                    await connection.execute(f'CREATE DATABASE "{database}"')
        finally:
            await connection.close()

    def drop_databases(self) -> None:
        """Drop this stack's PostgreSQL databases (nothing to do on SQLite: the files go with the data directory)."""
        if self.postgres is None:
            return

        async def drop() -> None:
            import asyncpg

            connection = await asyncpg.connect(self._server_dsn())
            try:
                for name in self.database_names():
                    await connection.execute(f'DROP DATABASE IF EXISTS "{self.database_name(name)}" WITH (FORCE)')
            finally:
                await connection.close()

        asyncio.run(drop())

    def start(self) -> None:
        """Start the broker, then every service's API and worker."""
        self.broker.start()
        for index, name in enumerate(SERVICES):
            port = self.port_base + index
            self.ports[name] = port
            self._spawn(f"{name} api", ["run", name, "api", "--port", str(port)], name, f"{name}-api.log")
            self._spawn(f"{name} worker", ["run", name, "worker"], name, f"{name}-worker.log")
        self.ports["payer-sandbox"] = self.sandbox_port
        sandbox = ["sandbox", "serve", "--port", str(self.sandbox_port)]
        self._spawn("payer-sandbox", sandbox, "payer-sandbox", "payer-sandbox.log")
        urls = {name: f"http://127.0.0.1:{self.ports[name]}" for name in SERVICES}
        self._spawn(
            "ops-view",
            ["ops", "serve", "--port", str(self.ops_view_port)],
            "ops-view",
            "ops-view.log",
            extra_env={"CLAIMFLOW_OPS_SERVICE_URLS": json.dumps(urls)},
        )

    def _spawn(
        self, label: str, args: list[str], service: str, log_name: str, extra_env: dict[str, str] | None = None
    ) -> None:
        log_path = self.log_dir / log_name
        with open(log_path, "ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "claimflow", *args],
                env={**self.environment(service), **(extra_env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(RunningProcess(label, process, log_path))

    def wait_ready(self, within: float = 180.0) -> None:
        """Wait until every API answers /readyz with 200; raise with the failing service otherwise (or as soon as
        a process exits). Nine interpreters start at once and coding-svc loads its code sets: on a busy two-core
        machine that has taken over a minute."""
        deadline = time.monotonic() + within
        pending = {f"{name}/readyz": port for name, port in self.ports.items()}
        pending["ops-view/healthz"] = self.ops_view_port
        while pending and time.monotonic() < deadline:
            self.check_alive()
            for name, port in list(pending.items()):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/{name.split('/')[1]}", timeout=2).status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        if pending:
            raise RuntimeError(f"not ready within {within}s: {', '.join(pending)} (see {self.log_dir})")

    def check_alive(self) -> None:
        """Raise if a child process has exited."""
        for child in self.processes:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.label} exited with code {child.process.returncode}; see {child.log_path}")

    def stop(self) -> None:
        """Stop every child (SIGTERM, then SIGKILL after a grace period) and the broker.

        The ops view goes first: it calls every API, and a connection an API closes at shutdown would keep that
        API's port in TIME_WAIT after the stop.
        """
        observers = [child for child in self.processes if child.label == "ops-view"]
        _terminate(observers)
        _terminate([child for child in self.processes if child not in observers])
        self.processes.clear()
        self.broker.stop()

    def summary(self, credentials: dict[str, str]) -> str:
        """What to tell the person who started the stack."""
        databases = "SQLite" if self.postgres is None else f"PostgreSQL at {make_url(self.postgres).host}"
        lines = ["", f"ClaimFlow is running (embedded: local broker + {databases}).", ""]
        for name, port in self.ports.items():
            lines.append(f"  {name:<16} http://127.0.0.1:{port}   docs: http://127.0.0.1:{port}/docs")
        lines.append("  (payer-sandbox: simulated clearinghouse and payers; seeded members at /v1/population/members)")
        lines += [
            "",
            f"  ops view         http://127.0.0.1:{self.ops_view_port}/   (event flow, dead letters, stuck claims)",
            f"  ops token        {self.ops_token()}   (for the ops view and the services' /ops endpoints)",
        ]
        lines += [
            "",
            f"  broker           {self.broker.bootstrap_servers} (memory-only Kafka-compatible)",
            f"  data and logs    {self.data_dir}",
            "",
            "  Demo credentials (tenant 'demo'; also in demo-credentials.json):",
        ]
        lines += [f"    {role:<16} {token}" for role, token in credentials.items()]
        lines += ["", "Press Ctrl-C to stop everything.", ""]
        return "\n".join(lines)


# The demo billing company's client practices: (name, NPI, tax id, street, taxonomy).
DEMO_PRACTICES = [
    ("Demo Family Practice", "1234567893", "123456789", "100 Main Street", "207Q00000X"),
    ("Riverside Internal Medicine", "1245319599", "234567891", "200 River Road", "207R00000X"),
    ("Lakeview Pediatrics", "1497758544", "345678912", "300 Lake Avenue", "208000000X"),
]


def demo_credentials(runtime: EmbeddedRuntime) -> dict[str, str]:
    """Create the demo tenant, its three practices and one API key per role on first start; reuse them after."""

    from claimflow_kit.db import Database
    from claimflow_kit.directory import Directory, Role

    path = runtime.data_dir / "demo-credentials.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored

    async def create() -> dict[str, str]:
        database = Database(runtime.database_url("directory"))
        try:
            async with database.transaction() as session:
                directory = Directory(session)
                await directory.create_tenant("demo", "Demo Billing Company")
                practices = [
                    await directory.add_practice(
                        "demo", name, npi, tax_id, address=(street, "Springfield", "IL", "627011234"),
                        taxonomy_code=taxonomy,
                    )
                    for name, npi, tax_id, street, taxonomy in DEMO_PRACTICES
                ]  # fmt: skip
                tokens = {"practice_id": practices[0].id, "practice_ids": ",".join(p.id for p in practices)}
                for role in Role:
                    issued = await directory.issue_key("demo", role, f"demo {role.value}")
                    tokens[role.value] = issued.token
                return tokens
        finally:
            await database.dispose()

    tokens = asyncio.run(create())
    path.write_text(json.dumps(tokens, indent=2))
    path.chmod(0o600)
    return tokens


def play_demo_day(runtime: EmbeddedRuntime, credentials: dict[str, str], options: DayOptions) -> None:
    """Play a day of billing against the running stack and print what it produced."""

    from claimflow.demo import DayOfBilling, DemoTenant, render_summary

    tenant = DemoTenant(
        "demo",
        (credentials.get("practice_ids") or credentials["practice_id"]).split(","),
        {k: v for k, v in credentials.items() if not k.startswith("practice_id")},
    )

    async def play() -> str:
        clients = {
            name: httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60)
            for name, port in runtime.ports.items()
        }
        try:
            summary = await DayOfBilling(clients, tenant, options).play()
        finally:
            for client in clients.values():
                await client.aclose()
        return render_summary(summary)

    sys.stdout.write(f"Playing a day of billing: {options.encounters} encounters, seed {options.seed}...\n")
    sys.stdout.flush()
    sys.stdout.write(asyncio.run(play()) + "\n")
    ports = runtime.ports
    sys.stdout.write(
        "\nWhere to look:\n"
        f"  API docs         http://127.0.0.1:{ports['claims-svc']}/docs (each service serves /docs)\n"
        f"  denials          GET http://127.0.0.1:{ports['claims-svc']}/v1/denials\n"
        f"  ledger and AR    GET http://127.0.0.1:{ports['remit-svc']}/v1/ar/aging, /v1/kpis, /v1/remittances\n"
        f"  ops view         http://127.0.0.1:{runtime.ops_view_port}/ (token in {runtime.data_dir / 'ops-token'})\n"
        f"  files and logs   {runtime.data_dir}\n"
    )
    sys.stdout.flush()


def run_embedded(
    data_dir: Path,
    *,
    port_base: int,
    broker_port: int,
    smoke: bool,
    day: DayOptions | None = None,
    keep_running: bool = True,
    postgres: str | None = None,
) -> int:
    """Run the embedded stack: play ``day`` when given, then keep running until Ctrl-C unless told not to
    (``smoke``: stop as soon as everything is ready)."""
    runtime = EmbeddedRuntime(data_dir, port_base=port_base, broker_port=broker_port, postgres=postgres)
    stopping = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        runtime.prepare()
        credentials = demo_credentials(runtime)
        runtime.start()
        runtime.wait_ready()
        sys.stdout.write(runtime.summary(credentials) + "\n")
        sys.stdout.flush()
        if smoke:
            return 0
        if day is not None and day.encounters > 0:
            play_demo_day(runtime, credentials, day)
            if not keep_running:
                return 0
        while not stopping:
            runtime.check_alive()
            time.sleep(0.5)
        return 0
    except (RuntimeError, TimeoutError) as exc:
        sys.stderr.write(f"claimflow: {exc}\n")
        return 1
    finally:
        sys.stdout.write("Stopping ClaimFlow...\n")
        runtime.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sys.stdout.write("Stopped.\n")
