"""remit-svc worker: consumers and outbox relay."""

from __future__ import annotations

from claimflow_kit.worker import run_worker
from remit_svc.config import RemitSettings
from remit_svc.consumers.handlers import subscriptions


def main() -> None:
    """Run the remit worker until SIGINT/SIGTERM."""
    run_worker(RemitSettings(), subscriptions(), migrations_package="remit_svc")


if __name__ == "__main__":
    main()
