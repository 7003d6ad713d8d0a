"""``claimflow``: the one command-line entry point (runtime, services, admin, dead letters, X12, contract)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from claimflow.services import SERVICES, service
from claimflow_x12.cli import app as x12_app

T = TypeVar("T")

app = typer.Typer(help="ClaimFlow: event-driven medical claims processing.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (billing companies).", no_args_is_help=True)
practice_app = typer.Typer(help="Client practices of a tenant.", no_args_is_help=True)
key_app = typer.Typer(help="API keys / OAuth2 clients.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead-letter topics: list and replay.", no_args_is_help=True)
events_app = typer.Typer(help="The event contract: JSON Schemas and AsyncAPI.", no_args_is_help=True)
sandbox_app = typer.Typer(help="The payer-sandbox: a simulated clearinghouse and payers (never production).")
ops_app = typer.Typer(help="The ops view: the event flow of the installation in a browser.", no_args_is_help=True)
codesets_app = typer.Typer(
    help="Code-set releases (ICD-10-CM, CPT, HCPCS, NCCI, MUE) for coding-svc.", no_args_is_help=True
)
app.add_typer(tenant_app, name="tenant")
app.add_typer(practice_app, name="practice")
app.add_typer(key_app, name="apikey")
app.add_typer(dlq_app, name="dlq")
app.add_typer(events_app, name="events")
app.add_typer(sandbox_app, name="sandbox", no_args_is_help=True)
app.add_typer(codesets_app, name="codesets")
app.add_typer(ops_app, name="ops")
app.add_typer(x12_app, name="x12", help="X12 5010: parse, validate and acknowledge files.")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    from claimflow_kit.errors import ClaimFlowError

    try:
        return asyncio.run(coroutine)
    except ClaimFlowError as exc:
        typer.echo(f"error: {exc.error_code}: {exc.detail}", err=True)
        raise typer.Exit(2) from None


@app.command()
def up(
    data_dir: Annotated[Path, typer.Option(help="Where SQLite files, logs and demo credentials live.")] = Path("var"),
    port_base: Annotated[int, typer.Option(help="Port of the first service; the others follow.")] = 8001,
    broker_port: Annotated[int, typer.Option(help="Port of the embedded broker (a free one if taken).")] = 9092,
    smoke: Annotated[bool, typer.Option(help="Start, check everything is ready, then stop.")] = False,
    encounters: Annotated[int, typer.Option(help="Size of the demo day (0: no demo, just run).")] = 200,
    seed: Annotated[int, typer.Option(help="The same seed plays the same day.")] = 7,
    keep_running: Annotated[bool, typer.Option(help="Keep the services up after the demo day.")] = False,
    postgres: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Put every service's database on this PostgreSQL server instead of SQLite files, e.g. "
            "postgresql+asyncpg://postgres@127.0.0.1:5432 (created on first start, named after the data directory).",
        ),
    ] = None,
) -> None:
    """Run everything locally (embedded Kafka-compatible broker, all services and workers on SQLite) and play a day
    of a billing company against it: encounters in, claims out, remittances posted, KPIs printed."""
    from claimflow.demo import DayOptions
    from claimflow.runtime import run_embedded

    day = DayOptions(encounters=encounters, seed=seed) if encounters > 0 else None
    code = run_embedded(
        data_dir, port_base=port_base, broker_port=broker_port, smoke=smoke, day=day,
        keep_running=keep_running or day is None, postgres=postgres,
    )  # fmt: skip
    raise typer.Exit(code)


@app.command()
def run(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICES)}")],
    role: Annotated[str, typer.Argument(help="api or worker")] = "api",
    host: Annotated[str, typer.Option(help="Interface the API listens on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="API port (default: the service's own).")] = None,
) -> None:
    """Run one service's API (uvicorn) or its worker (consumers + outbox relay)."""
    spec = service(name)
    settings = spec.settings()
    if role == "worker":
        from claimflow_kit.worker import run_worker

        run_worker(settings, spec.subscriptions(settings), migrations_package=spec.package)
        return
    if role != "api":
        raise typer.BadParameter("role must be 'api' or 'worker'")
    import uvicorn

    from claimflow_kit.logging import configure_logging

    configure_logging(settings.service_name, level=settings.log_level, json_output=settings.log_json)
    uvicorn.run(
        spec.create_app(settings),
        host=host,
        port=port or spec.default_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


@app.command()
def migrate(
    name: Annotated[str, typer.Argument(help="A service name, 'directory' or 'all'.")] = "all",
) -> None:
    """Apply database migrations (each service's database and the tenant directory)."""
    import os

    from claimflow_kit.config import ServiceSettings
    from claimflow_kit.migrations import upgrade, upgrade_directory

    if name == "all" and os.environ.get("CLAIMFLOW_DATABASE_URL"):
        raise typer.BadParameter(
            "CLAIMFLOW_DATABASE_URL names one database; migrate each service with its own URL "
            "(`claimflow migrate coding-svc`, ...), or unset it to use the embedded defaults"
        )
    if name in ("all", "directory"):
        upgrade_directory(ServiceSettings().directory_url)
        typer.echo("directory: up to date")
    for spec in SERVICES.values():
        if name in ("all", spec.name):
            upgrade(spec.package, spec.settings().database_url)
            typer.echo(f"{spec.name}: up to date")


async def _directory_call(action: Any) -> Any:
    from claimflow_kit.config import ServiceSettings
    from claimflow_kit.db import Database
    from claimflow_kit.directory import Directory

    database = Database(ServiceSettings().directory_url)
    try:
        async with database.transaction() as session:
            return await action(Directory(session))
    finally:
        await database.dispose()


@tenant_app.command("create")
def tenant_create(tenant_id: str, name: str) -> None:
    """Register a billing company."""
    _run(_directory_call(lambda d: d.create_tenant(tenant_id, name)))
    typer.echo(f"tenant {tenant_id} created")


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants."""
    for tenant in _run(_directory_call(lambda d: d.tenants())):
        typer.echo(f"{tenant.id}\t{tenant.name}")


@practice_app.command("add")
def practice_add(
    tenant_id: str,
    name: str,
    npi: Annotated[str, typer.Option(help="Billing NPI (10 digits).")],
    tax_id: Annotated[str, typer.Option(help="Tax id / EIN (9 digits).")],
    street: Annotated[str | None, typer.Option(help="Billing address street (claims need it).")] = None,
    city: Annotated[str | None, typer.Option(help="Billing address city.")] = None,
    state: Annotated[str | None, typer.Option(help="Billing address state (2 letters).")] = None,
    zip_code: Annotated[str | None, typer.Option("--zip", help="Billing address ZIP (5 or 9 digits).")] = None,
    taxonomy: Annotated[str | None, typer.Option(help="Billing provider taxonomy code.")] = None,
) -> None:
    """Add a client practice to a tenant."""
    parts = (street, city, state, zip_code)
    if any(parts) and not all(parts):
        raise typer.BadParameter("give the whole address: --street, --city, --state and --zip")
    address = (street, city, state, zip_code) if street and city and state and zip_code else None
    practice = _run(
        _directory_call(lambda d: d.add_practice(tenant_id, name, npi, tax_id, address=address, taxonomy_code=taxonomy))
    )
    typer.echo(practice.id)


@practice_app.command("add-provider")
def practice_add_provider(
    tenant_id: str,
    practice_id: str,
    npi: Annotated[str, typer.Option(help="Rendering provider NPI (10 digits).")],
    last_name: Annotated[str, typer.Option()],
    first_name: Annotated[str, typer.Option()],
    taxonomy: Annotated[str, typer.Option(help="NUCC taxonomy code, e.g. 207Q00000X.")],
) -> None:
    """Add a rendering provider to a practice."""
    provider = _run(
        _directory_call(lambda d: d.add_provider(tenant_id, practice_id, npi, last_name, first_name, taxonomy))
    )
    typer.echo(provider.id)


@key_app.command("create")
def key_create(
    tenant_id: str,
    role: Annotated[str, typer.Argument(help="ehr-integration, coder, biller, ops or admin")],
    label: Annotated[str, typer.Option(help="What the key is for.")] = "",
) -> None:
    """Issue an API key (shown once; only its digest is stored)."""
    from claimflow_kit.directory import Role

    issued = _run(_directory_call(lambda d: d.issue_key(tenant_id, Role(role), label or role)))
    typer.echo(json.dumps({"key_id": issued.key_id, "client_secret": issued.secret, "api_key": issued.token}))


@key_app.command("revoke")
def key_revoke(key_id: str) -> None:
    """Revoke an API key."""
    _run(_directory_call(lambda d: d.revoke_key(key_id)))
    typer.echo(f"key {key_id} revoked")


@dlq_app.command("list")
def dlq_list(topic: Annotated[str, typer.Argument(help="Event topic or its .dlq topic.")]) -> None:
    """List dead letters with their errors (JSON lines)."""
    from claimflow_kit.config import ServiceSettings
    from claimflow_kit.dlq import list_dead_letters

    dlq_topic = topic if topic.endswith(".dlq") else f"{topic}.dlq"
    for letter in _run(list_dead_letters(ServiceSettings(), dlq_topic)):
        typer.echo(
            json.dumps(
                {
                    "partition": letter.partition,
                    "offset": letter.offset,
                    "event_id": letter.event_id,
                    "event_type": letter.event_type,
                    "consumer": letter.consumer,
                    "error_code": letter.error_code,
                    "error": letter.error_message.splitlines()[0] if letter.error_message else "",
                    "failed_at": letter.failed_at,
                    "replayed": letter.replayed,
                }
            )
        )


@dlq_app.command("replay")
def dlq_replay(
    topic: Annotated[str, typer.Argument(help="Event topic or its .dlq topic.")],
    event_id: Annotated[str | None, typer.Option(help="Replay only this event.")] = None,
    include_replayed: Annotated[bool, typer.Option(help="Also replay what was replayed before.")] = False,
) -> None:
    """Re-publish dead letters to their original topic (after the cause is fixed)."""
    from claimflow_kit.config import ServiceSettings
    from claimflow_kit.dlq import replay_dead_letters

    dlq_topic = topic if topic.endswith(".dlq") else f"{topic}.dlq"
    replayed = _run(
        replay_dead_letters(ServiceSettings(), dlq_topic, event_id=event_id, include_replayed=include_replayed)
    )
    typer.echo(f"replayed {len(replayed)} message(s)")
    if event_id and not replayed:
        raise typer.Exit(1)


@codesets_app.command("load")
def codesets_load(
    kind: Annotated[str, typer.Argument(help="icd10cm, cpt, hcpcs, ncci-ptp or mue")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The official file (see LOADING.md).")],
    fiscal_year: Annotated[int | None, typer.Option(help="ICD-10-CM fiscal year (FY2027 starts 2026-10-01).")] = None,
    quarter: Annotated[str | None, typer.Option(help="Quarter the release applies to, e.g. 2027Q1.")] = None,
    effective: Annotated[str | None, typer.Option(help="Or an open-ended start date (YYYY-MM-DD).")] = None,
    loaded_by: Annotated[str, typer.Option(help="Who loads it (kept with the release).")] = "cli",
) -> None:
    """Check and store a code-set release; running coding-svc processes pick it up without a restart."""
    from datetime import date

    from coding_svc.codesets.releases import Release, ReleaseError, ReleaseKind, check_release, release_period

    try:
        release_kind = ReleaseKind(kind)
    except ValueError:
        raise typer.BadParameter(f"kind must be one of: {', '.join(k.value for k in ReleaseKind)}") from None
    try:
        start = date.fromisoformat(effective) if effective else None
        period, label = release_period(release_kind, fiscal_year=fiscal_year, quarter=quarter, effective=start)
    except (ReleaseError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    release = Release(release_kind, period, file.name, file.read_bytes(), label)

    async def store() -> Any:
        from claimflow_kit.db import Database
        from claimflow_kit.migrations import upgrade_async
        from coding_svc.service.codesets import store_release

        settings = service("coding-svc").settings()
        await upgrade_async("coding_svc", settings.database_url)
        database = Database(settings.database_url, pool_size=1)
        try:
            return await store_release(database, release, loaded_by=loaded_by, check=check_release)
        finally:
            await database.dispose()

    try:
        stored = _run(store())
    except ReleaseError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"release {stored.id}: {stored.kind} {stored.label} ({stored.period_start}.."
        f"{stored.period_end or 'open'}) from {stored.filename}, sha256 {stored.sha256[:12]}"
    )


@codesets_app.command("list")
def codesets_list() -> None:
    """The releases stored for coding-svc, oldest first (JSON lines)."""

    async def releases() -> Any:
        from claimflow_kit.db import Database
        from coding_svc.service.codesets import list_releases

        database = Database(service("coding-svc").settings().database_url, pool_size=1)
        try:
            return await list_releases(database)
        finally:
            await database.dispose()

    for stored in _run(releases()):
        typer.echo(
            json.dumps(
                {
                    "id": stored.id,
                    "kind": stored.kind,
                    "label": stored.label,
                    "effective_from": stored.period_start.isoformat(),
                    "effective_to": stored.period_end.isoformat() if stored.period_end else None,
                    "filename": stored.filename,
                    "sha256": stored.sha256,
                    "loaded_by": stored.loaded_by,
                }
            )
        )


@events_app.command("schemas")
def events_schemas(
    write: Annotated[bool, typer.Option(help="Regenerate the committed files.")] = False,
) -> None:
    """Check (or with --write regenerate) the committed JSON Schemas and AsyncAPI document."""
    from claimflow_events import default_catalog
    from claimflow_events.schema import contract_dir, generated_files, write_contract

    catalog = default_catalog()
    root = contract_dir()
    if write:
        for path in write_contract(catalog, root):
            typer.echo(f"wrote {path}")
        return
    stale = [
        p for p, text in generated_files(catalog).items() if not (root / p).exists() or (root / p).read_text() != text
    ]
    for path in stale:
        typer.echo(f"out of date: {path}")
    raise typer.Exit(1 if stale else 0)


@sandbox_app.command("serve")
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8010,
    seed: Annotated[int | None, typer.Option(help="Population seed (default: CLAIMFLOW_SANDBOX_SEED or 1).")] = None,
    clock_start: Annotated[
        str | None,
        typer.Option(help="The payers' starting date, YYYY-MM-DD (default: today); fix it for identical files."),
    ] = None,
) -> None:
    """Serve the payer-sandbox (270/271, 837 → 999/277CA, 835 after `POST /v1/clock/advance`)."""
    from datetime import date

    import uvicorn

    from claimflow_kit.logging import configure_logging
    from payer_sandbox.config import SandboxSettings
    from payer_sandbox.main import create_app

    overrides: dict[str, Any] = {}
    if seed is not None:
        overrides["seed"] = seed
    if clock_start is not None:
        overrides["clock_start"] = date.fromisoformat(clock_start)
    settings = SandboxSettings(**overrides)
    configure_logging(settings.service_name, level=settings.log_level, json_output=settings.log_json)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


@ops_app.command("serve")
def ops_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8020,
) -> None:
    """Serve the ops view (rates, lag, outbox backlog, dead letters with replay, stuck claims, payer latency,
    claim timelines). It reads the broker and each service's /ops endpoints with CLAIMFLOW_OPS_TOKEN."""
    import uvicorn

    from claimflow.opsview.app import create_app
    from claimflow.opsview.config import OpsViewSettings
    from claimflow_kit.logging import configure_logging

    settings = OpsViewSettings()
    if settings.ops_token is None:
        typer.echo("warning: CLAIMFLOW_OPS_TOKEN is not set: the ops view refuses every request", err=True)
    configure_logging(settings.service_name, level=settings.log_level, json_output=settings.log_json)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it calls every API each few seconds: no line per call
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False, proxy_headers=True)


def main() -> None:
    """Console-script entry point."""
    app()
