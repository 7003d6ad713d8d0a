"""The schemathesis driver of ``test_api_fuzz.py``: every operation of an OpenAPI, per caller, checked and counted.

Imported by the test's fixture only (importing schemathesis patches Hypothesis process-wide; the fixture undoes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisDeprecationWarning, Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.schemas import OpenApiSchema

Operation = APIOperation[Any, Any, Any, Any]
AnyCase = Case[Any]
UNAUTHENTICATED_SERVICES = frozenset({"payer-sandbox"})  # a test tool without credentials: fuzzed once, as is


@dataclass(frozen=True)
class Budget:
    """Examples per operation for tenant A's admin and for the callers who must be turned away."""

    admin: int
    intruders: int


BUDGETS = {"default": Budget(admin=5, intruders=2), "long": Budget(admin=30, intruders=15)}


@dataclass(frozen=True)
class Identity:
    """Who sends a request: a name for the figures and the headers that say it."""

    name: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Pass:
    """One sweep over every operation; each example is sent as one of ``identities``."""

    identities: tuple[Identity, ...]
    modes: tuple[GenerationMode, ...]
    examples: int
    harvest: bool  # collect identifiers from the answers (tenant A's objects)


def passes(budget: Budget, admin: dict[str, str], other_tenant: dict[str, str], ops: dict[str, str]) -> list[Pass]:
    """Tenant A's admin (positive and negative data), then the intruders: tenant B's admin, tenant A's ops key,
    no credentials, a forged API key, a forged access token."""
    intruders = (
        Identity("other-tenant", other_tenant),
        Identity("ops-role", ops),
        Identity("anonymous", {}),
        Identity("forged-key", {"Authorization": "Bearer cfk_0000000000000000_forged"}),
        Identity("forged-token", {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged"}),
    )
    return [
        Pass((Identity("admin", admin),), (GenerationMode.POSITIVE, GenerationMode.NEGATIVE), budget.admin, True),
        Pass(intruders, (GenerationMode.POSITIVE,), budget.intruders, harvest=False),
    ]


@dataclass
class Tally:
    """What a run tried and saw."""

    inputs: Counter[tuple[str, str]] = field(default_factory=Counter)  # (service, identity) -> requests sent
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (service, status) -> responses
    operations: dict[str, int] = field(default_factory=dict)  # service -> operations in its OpenAPI
    failures: list[str] = field(default_factory=list)
    ungenerated: list[str] = field(default_factory=list)  # operations no case could be generated for
    identifiers: set[str] = field(default_factory=set)
    seconds: dict[str, float] = field(default_factory=dict)  # operation -> time spent on it

    def record_failure(self, service: str, identity: str, case: AnyCase, message: str) -> None:
        """Keep the first failure of each (operation, identity); one is enough to reproduce it."""
        key = f"{service} {case.operation.label} as {identity}"
        if not any(failure.startswith(key) for failure in self.failures):
            self.failures.append(f"{key}: {message}")
            print(f"[api-fuzz] FAILURE {self.failures[-1]}", flush=True)

    def summary(self, label: str) -> Iterator[str]:
        """Lines of the printed report."""
        operations = sum(self.operations.values())
        yield (
            f"[api-fuzz] {label}: {operations} operations, {sum(self.inputs.values())} requests, "
            f"{len(self.failures)} failures"
        )
        for service, count in sorted(self.operations.items()):
            sent = {identity: n for (svc, identity), n in sorted(self.inputs.items()) if svc == service}
            statuses = {status: n for (svc, status), n in sorted(self.statuses.items()) if svc == service}
            yield f"[api-fuzz]   {service}: {count} operations, requests {sent}, statuses {statuses}"
        ranked = sorted(self.seconds.items(), key=lambda item: -item[1])[:5]
        slowest = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in ranked)
        yield f"[api-fuzz]   slowest operations: {slowest}"


@dataclass
class Target:
    """One service under test: where it answers and its OpenAPI as schemathesis reads it."""

    name: str
    url: str
    schema: OpenApiSchema


async def target(name: str, url: str) -> Target:
    """A service under test, with the OpenAPI document the running service serves."""
    response = await asyncio.to_thread(requests.get, f"{url}/openapi.json", timeout=10)
    response.raise_for_status()
    schema = schemathesis.openapi.from_dict(response.json())
    assert isinstance(schema, OpenApiSchema)
    return Target(name, url, schema)


def collect_identifiers(document: Any, into: set[str]) -> None:
    """Every string value of an ``id`` or ``*_id`` key in a JSON answer."""
    if isinstance(document, dict):
        for key, value in document.items():
            if isinstance(value, str) and value and (key == "id" or key.endswith("_id")) and len(value) < 100:
                into.add(value)
            else:
                collect_identifiers(value, into)
    elif isinstance(document, list):
        for item in document:
            collect_identifiers(item, into)


def _cases(operation: Operation, modes: tuple[GenerationMode, ...]) -> st.SearchStrategy[AnyCase] | None:
    """Cases of ``operation`` in the given generation modes (None when no mode can generate any)."""
    strategies = []
    for mode in modes:
        try:
            strategies.append(operation.as_strategy(generation_mode=mode))
        except Unsatisfiable:
            continue
    return st.one_of(strategies) if strategies else None


def fuzz_operation(target: Target, operation: Operation, sweep: Pass, session: requests.Session, tally: Tally) -> None:
    """Send generated requests to one operation and check each answer (runs in a worker thread)."""
    cases = _cases(operation, sweep.modes)
    if cases is None:
        tally.ungenerated.append(f"{target.name} {operation.label}")
        return
    path_names = [parameter.name for parameter in operation.path_parameters]
    identifiers = sorted(tally.identifiers)  # tenant A's objects, for every caller

    @settings(
        max_examples=sweep.examples,
        deadline=None,
        database=None,
        # The default run replays the same requests (CI fails on a change, not on a draw); the long one explores.
        derandomize=os.environ.get("CLAIMFLOW_LONG_TESTS") != "1",
        phases=[Phase.generate],  # no shrinking: failures are collected, and the curl reproduces them
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, data=st.data())
    def run(case: AnyCase, data: st.DataObject) -> None:
        if path_names and identifiers and data.draw(st.booleans(), label="use a real identifier"):
            case.path_parameters = {
                **(case.path_parameters or {}),
                **{name: data.draw(st.sampled_from(identifiers), label=name) for name in path_names},
            }
        identity = data.draw(st.sampled_from(sweep.identities), label="identity")
        response = case.call(base_url=target.url, session=session, headers=identity.headers, timeout=60)
        tally.inputs[(target.name, identity.name)] += 1
        tally.statuses[(target.name, response.status_code)] += 1
        if sweep.harvest and 200 <= response.status_code < 300:
            with contextlib.suppress(ValueError):  # not a JSON answer (X12, PDF, metrics)
                collect_identifiers(response.json(), tally.identifiers)
        try:
            case.validate_response(
                response,
                checks=[schemathesis.checks.not_a_server_error, schemathesis.checks.response_schema_conformance],
            )
        except FailureGroup as failures:
            curl = case.as_curl_command(headers=identity.headers)
            message = f"{response.status_code} {response.text[:300]}\n{curl}\n{failures}"
            tally.record_failure(target.name, identity.name, case, message)

    run()


def fuzz_all(targets: list[Target], sweeps: list[Pass], tally: Tally) -> None:
    """Every operation of every service, for each pass in turn (runs in a worker thread)."""
    with warnings.catch_warnings(), requests.Session() as session:
        # The services on the event loop (main thread) draw from the global `random` (retry jitter, the payers'
        # scenario) while a strategy draws here; Hypothesis cannot tell that from a strategy using `random` itself.
        warnings.filterwarnings(
            "ignore", message="Do not use the `random` module inside strategies", category=HypothesisDeprecationWarning
        )
        for sweep in sweeps:
            for service in targets:
                if service.name in UNAUTHENTICATED_SERVICES and not sweep.harvest:
                    continue
                operations = []
                for result in service.schema.get_all_operations():
                    if isinstance(result, Err):
                        tally.failures.append(
                            f"{service.name}: an operation of the OpenAPI is unreadable: {result.err()}"
                        )
                    else:
                        operations.append(result.ok())
                tally.operations[service.name] = len(operations)
                for operation in operations:
                    started = time.perf_counter()
                    fuzz_operation(service, operation, sweep, session, tally)
                    label = f"{service.name} {operation.label}"
                    tally.seconds[label] = tally.seconds.get(label, 0.0) + time.perf_counter() - started
