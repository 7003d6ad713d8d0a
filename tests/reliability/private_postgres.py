"""A throwaway PostgreSQL server of the test's own, so that a test may stop and crash the whole server.

The local server at 127.0.0.1:5432 is shared with other test runs and is never stopped. This one lives in a
temporary directory (data, Unix socket and log), listens on 127.0.0.1 at a free port and trusts every local
connection. PostgreSQL refuses to run as root, so under root (as in CI) ``initdb`` and ``pg_ctl`` run as the
``postgres`` OS user, who owns the directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

from claimflow_kit.embedded import free_port

StopMode = Literal["smart", "fast", "immediate"]


def postgres_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl`` (newest Debian-style install first, then ``pg_config``)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major_version, reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            candidates.append(
                subprocess.run([pg_config, "--bindir"], capture_output=True, check=True, text=True).stdout
            )
    for candidate in candidates:
        path = Path(candidate.strip())
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


def _major_version(bindir: str) -> int:
    name = Path(bindir).parent.name  # /usr/lib/postgresql/15/bin
    return int(name) if name.isdigit() else 0


def unavailable_reason() -> str | None:
    """Why a private server cannot be started on this machine, or None when it can."""
    if postgres_bindir() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or pg_config --bindir"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' OS user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and there is no runuser to run the server as 'postgres'"
    return None


class PrivatePostgres:
    """One PostgreSQL server in a temporary directory: ``start``, ``stop`` (a crash by default), ``start`` again
    on the same port and data (crash recovery), ``remove`` at the end. The methods block: from async code, call them
    with ``asyncio.to_thread``."""

    def __init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            raise RuntimeError(unavailable_reason())
        self.bindir = bindir
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0  # the server refuses to run as root
        self.root = Path(tempfile.mkdtemp(prefix="claimflow-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        if self.as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            for parent in self.root.parents:  # the postgres user must be able to reach its directory
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    self.remove()
                    raise RuntimeError(f"{parent} is not traversable by the postgres user; set TMPDIR elsewhere")
        self._initialized = False

    @property
    def url(self) -> str:
        """Server URL in the form ``DatabaseFactory`` takes (async driver, maintenance database)."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *arguments: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / program), *arguments]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=timeout, check=False)

    def _check(self, result: subprocess.CompletedProcess[str], what: str) -> None:
        if result.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise RuntimeError(f"{what} failed ({result.returncode}): {result.stdout}{result.stderr}\n{log}")

    def _initialize(self) -> None:
        result = self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"
        )
        self._check(result, "initdb")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",  # not /var/run/postgresql: that is the shared server's
            "max_connections": "200",  # every service's pools and worker processes of one stack
            "fsync": "off",  # a test server: the data only has to survive a crash of the server, not of the machine
            "logging_collector": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        self._initialized = True

    def start(self) -> None:
        """Start the server (initializing its data directory the first time) and wait until it accepts connections."""
        if not self._initialized:
            self._initialize()
        result = self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", "90")
        self._check(result, "pg_ctl start")

    def stop(self, mode: StopMode = "immediate") -> None:
        """Stop the server; ``immediate`` is a crash (no checkpoint, clients cut), recovered at the next start."""
        self._check(self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "60"), "pg_ctl stop")

    @property
    def running(self) -> bool:
        """True while the server's postmaster runs."""
        return self._initialized and self._run("pg_ctl", "status", "-D", str(self.data)).returncode == 0

    def log_text(self) -> str:
        """What the server has logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def remove(self, log_copy: Path | None = None) -> None:
        """Stop the server if it runs and delete its directory (its log copied to ``log_copy`` first, if given)."""
        try:
            if self.running:
                self.stop("immediate")
        finally:
            try:
                if log_copy is not None:
                    log_copy.write_text(self.log_text())
            finally:
                shutil.rmtree(self.root, ignore_errors=True)


@contextlib.asynccontextmanager
async def private_postgres(log_copy: Path | None = None) -> AsyncIterator[PrivatePostgres]:
    """A running private server, stopped and deleted at the end (its log copied to ``log_copy`` first, if given).

    Starting and stopping run in a thread: the event loop keeps serving the services meanwhile.
    """
    server = PrivatePostgres()
    try:
        await asyncio.to_thread(server.start)
        yield server
    finally:
        await asyncio.to_thread(server.remove, log_copy)
