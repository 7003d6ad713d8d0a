"""coding-svc worker: consumers and outbox relay."""

from __future__ import annotations

from claimflow_kit.worker import run_worker
from coding_svc.config import CodingSettings
from coding_svc.consumers.handlers import subscriptions


def main() -> None:
    """Run the coding worker until SIGINT/SIGTERM."""
    run_worker(CodingSettings(), subscriptions(), migrations_package="coding_svc")


if __name__ == "__main__":
    main()
