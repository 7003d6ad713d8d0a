"""eligibility-svc worker: consumers and outbox relay."""

from __future__ import annotations

from claimflow_kit.worker import run_worker
from eligibility_svc.config import EligibilitySettings
from eligibility_svc.consumers.handlers import subscriptions


def main() -> None:
    """Run the eligibility worker until SIGINT/SIGTERM."""
    run_worker(EligibilitySettings(), subscriptions(), migrations_package="eligibility_svc")


if __name__ == "__main__":
    main()
