"""claims-svc worker: consumers and outbox relay."""

from __future__ import annotations

from claimflow_kit.worker import run_worker
from claims_svc.config import ClaimsSettings
from claims_svc.consumers.handlers import subscriptions


def main() -> None:
    """Run the claims worker until SIGINT/SIGTERM."""
    settings = ClaimsSettings()
    run_worker(settings, subscriptions(settings), migrations_package="claims_svc")


if __name__ == "__main__":
    main()
