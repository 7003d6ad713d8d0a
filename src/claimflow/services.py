"""The services that make up ClaimFlow, described once for the CLI, the embedded runtime and the tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from claimflow_kit.config import ServiceSettings
from claimflow_kit.consumer import Subscription
from claims_svc.config import ClaimsSettings
from claims_svc.consumers.handlers import subscriptions as claims_subscriptions
from claims_svc.main import create_app as claims_app
from coding_svc.config import CodingSettings
from coding_svc.consumers.handlers import subscriptions as coding_subscriptions
from coding_svc.main import create_app as coding_app
from eligibility_svc.config import EligibilitySettings
from eligibility_svc.consumers.handlers import subscriptions as eligibility_subscriptions
from eligibility_svc.main import create_app as eligibility_app
from remit_svc.config import RemitSettings
from remit_svc.consumers.handlers import subscriptions as remit_subscriptions
from remit_svc.main import create_app as remit_app


@dataclass(frozen=True)
class ServiceSpec:
    """How to configure, serve and run the worker of one service."""

    name: str
    package: str
    settings_type: type[ServiceSettings]
    create_app: Callable[[Any], FastAPI]
    subscriptions: Callable[[Any], list[Subscription]]  # the worker's consumers, given the service's settings
    default_port: int

    def settings(self, **overrides: Any) -> ServiceSettings:
        """Settings from the environment, with explicit overrides."""
        return self.settings_type(**overrides)


def _without_settings(subscriptions: Callable[[], list[Subscription]]) -> Callable[[Any], list[Subscription]]:
    """For a service whose consumers need none of its settings."""
    return lambda _settings: subscriptions()


SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec(
            "coding-svc", "coding_svc", CodingSettings, coding_app, _without_settings(coding_subscriptions), 8001
        ),
        ServiceSpec(
            "eligibility-svc",
            "eligibility_svc",
            EligibilitySettings,
            eligibility_app,
            _without_settings(eligibility_subscriptions),
            8002,
        ),
        ServiceSpec("claims-svc", "claims_svc", ClaimsSettings, claims_app, claims_subscriptions, 8003),
        ServiceSpec("remit-svc", "remit_svc", RemitSettings, remit_app, _without_settings(remit_subscriptions), 8004),
    )
}


def service(name: str) -> ServiceSpec:
    """The spec of a service by name; raises KeyError listing the known names."""
    try:
        return SERVICES[name]
    except KeyError:
        raise KeyError(f"unknown service {name!r}; known: {', '.join(SERVICES)}") from None
