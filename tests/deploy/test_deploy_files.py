"""Static validation of the deployment files: Dockerfile, docker-compose.yml and deploy/.

No Docker engine or cluster is needed. The files are checked against official schemas (the compose-spec
JSON schema vendored by ``check-jsonschema``; the Kubernetes OpenAPI-derived schemas shipped by
``kubernetes-validate``), against hand-written structural schemas for the CRDs (deploy/schemas/), and
against the project itself: every command must parse with the real ``claimflow`` CLI, every
``CLAIMFLOW_*`` variable must be a settings field, every topic, consumer group and metric must exist.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import typer
import yaml

from claimflow import cli
from claimflow.opsview.config import OpsViewSettings
from claimflow.services import SERVICES
from claimflow_events import Topic, dead_letter_topic
from claimflow_kit.config import ServiceSettings
from claimflow_kit.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
COMPOSE_FILE = ROOT / "docker-compose.yml"
KUBERNETES_VERSION = "1.31"
WORKER_METRICS_PORT = 9100
ENV_PREFIX = "CLAIMFLOW_"
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - containers listen on every interface
ENV_NAME = re.compile(r"\bCLAIMFLOW_[A-Z0-9_]+\b")
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?[-?+][^}]*)?\}")
CORE_KINDS = {
    "Namespace",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "Deployment",
    "Service",
    "Job",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
}
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject-v1alpha1.schema.json",
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): "strimzi-kafkatopic-v1beta2.schema.json",
}
QUANTITY = re.compile(r"\d+(\.\d+)?(m|[kMGT]|[KMGT]i)?")  # the schemas accept any string
KAFKA_TRIGGER_KEYS = {"bootstrapServers", "consumerGroup", "topic", "lagThreshold"}

Doc = dict[str, Any]


# ---------------------------------------------------------------------------------------------- loading


def load_documents(path: Path) -> list[Doc]:
    """Every non-empty YAML document of a file."""
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


@cache
def compose() -> Doc:
    docs = load_documents(COMPOSE_FILE)
    assert len(docs) == 1
    return docs[0]


def compose_services() -> dict[str, Doc]:
    services: dict[str, Doc] = compose()["services"]
    return services


def claimflow_compose_services() -> dict[str, Doc]:
    """Compose services that run the ClaimFlow image (their command is a ``claimflow`` command)."""
    return {name: svc for name, svc in compose_services().items() if str(svc.get("image", "")).startswith("claimflow:")}


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


@cache
def manifests() -> tuple[tuple[str, Doc], ...]:
    """(``file#index kind/name``, document) for every Kubernetes document under deploy/kubernetes."""
    found: list[tuple[str, Doc]] = []
    for path in manifest_files():
        for index, doc in enumerate(load_documents(path)):
            label = f"{path.relative_to(K8S)}#{index} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            found.append((label, doc))
    return tuple(found)


def of_kind(kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == kind}


def settings_env_names(settings_type: type[ServiceSettings] = ServiceSettings) -> set[str]:
    return {ENV_PREFIX + field.upper() for field in settings_type.model_fields}


def interpolate(value: str) -> str:
    """Compose-style ``${VAR}``, ``${VAR:-x}``, ``${VAR:?msg}`` replaced by a placeholder value."""
    return INTERPOLATION.sub(lambda m: f"test-{m.group('name').lower().replace('_', '-')}", value)


def containers(doc: Doc) -> list[Doc]:
    spec = doc["spec"]["template"]["spec"]
    found: list[Doc] = [*spec.get("initContainers", []), *spec["containers"]]
    return found


def pod_template(doc: Doc) -> Doc:
    template: Doc = doc["spec"]["template"]
    return template


def _optional_module(name: str, why: str) -> ModuleType:
    module: ModuleType = pytest.importorskip(
        name, reason=f"{name} is not installed ({why}); add it to the dev dependencies"
    )
    return module


# ---------------------------------------------------------------------------------------------- the CLI


class InvalidCommand(ValueError):
    """A command line the ``claimflow`` CLI would refuse."""


def _usage_error() -> type[Exception]:
    """The UsageError of the click that typer runs on (recent typer vendors its own copy of click)."""
    base = typer.BadParameter.__mro__[1]
    assert base.__name__ == "UsageError"
    assert issubclass(base, Exception)
    return base


def parse_claimflow(args: list[str]) -> tuple[str, Mapping[str, Any]]:
    """Parse ``claimflow ARGS`` with the real typer app (no execution); returns the command and its params.

    Raises InvalidCommand for an unknown command, a missing argument, an unknown option or a bad value.
    """
    group = typer.main.get_command(cli.app)
    assert isinstance(group, typer.core.TyperGroup)
    assert args, "empty command"
    context = typer.Context(group, info_name="claimflow")
    command: Any = group
    names: list[str] = []
    rest = list(args)
    while isinstance(command, typer.core.TyperGroup):  # `claimflow ops serve ...`: down to the leaf command
        if not rest:
            raise InvalidCommand(f"claimflow {' '.join(args)}: a subcommand is missing")
        name, rest = rest[0], rest[1:]
        command = command.get_command(context, name)
        names.append(name)
        if command is None:
            raise InvalidCommand(f"no such command {' '.join(names)!r}")
        if isinstance(command, typer.core.TyperGroup):
            context = typer.Context(command, info_name=name, parent=context)  # ClaimFlow's groups take no options
            continue
        try:
            context = command.make_context(name, rest, parent=context)
        except _usage_error() as exc:
            raise InvalidCommand(f"claimflow {' '.join(args)}: {exc}") from exc
    return " ".join(names), context.params


def check_claimflow_command(args: list[str]) -> None:
    """The command parses and names things that exist: a service, a role, a migration target."""
    name, params = parse_claimflow(args)
    if name == "run":
        assert params["name"] in SERVICES, f"unknown service in {args}"
        assert params["role"] in {"api", "worker"}, f"unknown role in {args}"
    elif name == "migrate":
        assert params["name"] in {*SERVICES, "directory", "all"}, f"unknown migration target in {args}"


def test_cli_parser_rejects_what_does_not_exist() -> None:
    check_claimflow_command(["run", "coding-svc", "api", "--host", ALL_INTERFACES, "--port", "8001"])
    with pytest.raises(InvalidCommand, match="no such command"):
        parse_claimflow(["serve", "coding-svc"])
    with pytest.raises(InvalidCommand, match="--listen"):
        parse_claimflow(["run", "coding-svc", "api", "--listen", ALL_INTERFACES])
    with pytest.raises(InvalidCommand, match="http"):
        parse_claimflow(["run", "coding-svc", "api", "--port", "http"])
    with pytest.raises(InvalidCommand, match="name"):
        parse_claimflow(["run"])
    with pytest.raises(AssertionError):
        check_claimflow_command(["run", "payer-sandbox", "api"])
    assert parse_claimflow(["ops", "serve", "--host", ALL_INTERFACES, "--port", "8020"])[0] == "ops serve"
    with pytest.raises(InvalidCommand, match="no such command 'ops watch'"):
        parse_claimflow(["ops", "watch"])
    with pytest.raises(InvalidCommand, match="--listen"):
        parse_claimflow(["ops", "serve", "--listen", ALL_INTERFACES])


# ---------------------------------------------------------------------------------------------- Dockerfile


def dockerfile_stages() -> list[list[str]]:
    """Instructions (continuation lines joined) grouped by build stage."""
    text = (ROOT / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    stages: list[list[str]] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_dockerfile_is_multi_stage_locked_and_non_root() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "build and runtime stages"
    build = " ".join(" ".join(stage) for stage in stages[:-1])
    assert re.search(r"uv sync\b[^\n]*--frozen[^\n]*--no-dev", build), "install from the lockfile, no dev deps"
    runtime = stages[-1]
    users = [line.split(None, 1)[1] for line in runtime if line.upper().startswith("USER ")]
    assert users, "the runtime stage sets a USER"
    assert users[-1].split(":")[0] not in {"root", "0"}, "the runtime user is not root"
    assert not any(" uv " in f" {line} " for line in runtime if line.upper().startswith("RUN ")), "no uv at runtime"
    entrypoints = [line for line in runtime if line.upper().startswith("ENTRYPOINT")]
    assert entrypoints
    assert json.loads(entrypoints[-1].split(None, 1)[1]) == ["claimflow"]


def test_dockerfile_copies_every_workspace_manifest_and_python_fits() -> None:
    text = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members = [ROOT / "shared", *sorted(p.parent for p in ROOT.glob("services/*/pyproject.toml"))]
    for member in members:
        manifest = (member / "pyproject.toml").relative_to(ROOT).as_posix()
        assert re.search(rf"^COPY\s+{re.escape(manifest)}\s", text, re.M), f"dependency layer lacks {manifest}"
    for needed in ("uv.lock", "pyproject.toml", project["project"]["readme"]):
        assert re.search(rf"^COPY\s+[^\n]*\b{re.escape(needed)}\b", text, re.M), f"Dockerfile does not copy {needed}"
    image = re.search(r"^ARG PYTHON_IMAGE=python:(\d+)\.(\d+)", text, re.M)
    assert image, "python base image pinned to a minor version"
    minor = int(image.group(2))
    lower, upper = re.findall(r"3\.(\d+)", project["project"]["requires-python"])
    assert int(lower) <= minor < int(upper), "base image Python satisfies requires-python"


def test_dockerignore_keeps_what_the_build_needs() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")
    }
    for needed in ("uv.lock", "pyproject.toml", "README.md", "src", "shared", "services"):
        assert needed not in ignored
    for secret_or_bulk in (".git", ".venv", ".env"):
        assert secret_or_bulk in ignored


# ---------------------------------------------------------------------------------------------- compose


@cache
def compose_schema() -> Doc:
    spec = importlib.util.find_spec("check_jsonschema")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("check-jsonschema (vendors the compose-spec schema) is not installed; add it to the dev deps")
    path = Path(next(iter(spec.submodule_search_locations))) / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema: Doc = json.loads(path.read_text())
    return schema


def compose_errors(document: Doc) -> list[str]:
    schema = compose_schema()
    validator_type = jsonschema.validators.validator_for(schema)
    validator_type.check_schema(schema)
    validator = validator_type(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_file_validates_against_the_compose_spec() -> None:
    assert compose_errors(compose()) == []


def test_compose_schema_rejects_a_broken_file() -> None:
    broken = copy.deepcopy(compose())
    api = broken["services"]["coding-svc-api"]
    api["depends_on"]["postgres"]["condition"] = "service_is_up"
    api["helthcheck"] = api.pop("healthcheck")
    errors = compose_errors(broken)
    assert any("service_is_up" in e for e in errors), errors
    assert any("helthcheck" in e for e in errors), errors


def test_compose_commands_exist() -> None:
    services = claimflow_compose_services()
    assert services
    for name, svc in services.items():
        command = svc.get("command")
        assert isinstance(command, list), f"{name}: exec-form command"
        assert command, name
        check_claimflow_command([str(arg) for arg in command])


def test_every_service_has_api_worker_and_migration_in_compose() -> None:
    services = compose_services()
    for name, spec in SERVICES.items():
        api, worker, migrate = (services.get(f"{name}-{role}") for role in ("api", "worker", "migrate"))
        assert api, f"{name}: no API in compose"
        assert worker, f"{name}: no worker in compose"
        assert migrate, f"{name}: no migration in compose"
        assert api["command"] == ["run", name, "api", "--host", ALL_INTERFACES, "--port", str(spec.default_port)]
        assert worker["command"] == ["run", name, "worker"]
        assert migrate["command"] == ["migrate", name]
        assert migrate.get("restart") == "no"
        api_check = " ".join(api["healthcheck"]["test"])
        assert f"127.0.0.1:{spec.default_port}/readyz" in api_check
        assert f"{spec.default_port}:{spec.default_port}" in api.get("ports", [])
        assert f"127.0.0.1:{WORKER_METRICS_PORT}/metrics" in " ".join(worker["healthcheck"]["test"])
        assert worker["environment"]["CLAIMFLOW_WORKER_METRICS_PORT"] == str(WORKER_METRICS_PORT)
        for process in (api, worker):
            depends = process["depends_on"]
            assert depends[f"{name}-migrate"]["condition"] == "service_completed_successfully"
            assert depends["directory-migrate"]["condition"] == "service_completed_successfully"
            assert depends["kafka-init"]["condition"] == "service_completed_successfully"
            assert depends["postgres"]["condition"] == "service_healthy"
            assert depends["kafka"]["condition"] == "service_healthy"
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["directory-migrate"]["command"] == ["migrate", "directory"]


def test_compose_infrastructure_is_healthchecked() -> None:
    services = compose_services()
    for name in ("postgres", "kafka", "kafka-ui", "prometheus", "grafana"):
        assert name in services
    for name in ("postgres", "kafka", "prometheus", "grafana"):
        assert services[name]["healthcheck"]["test"], name
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"], "KRaft, single node"
    for name, svc in compose_services().items():
        for dependency in svc.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"


def test_compose_env_vars_are_settings_fields_and_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = all_settings_env_names()
    urls: dict[str, str] = {}
    for name, svc in claimflow_compose_services().items():
        env = {key: interpolate(str(value)) for key, value in svc["environment"].items()}
        run_args = svc["command"]
        spec = SERVICES.get(run_args[1]) if run_args[0] in ("run", "migrate") else None
        settings_type = spec.settings_type if spec else OpsViewSettings if run_args[0] == "ops" else ServiceSettings
        unknown = {key for key in env if key.startswith(ENV_PREFIX)} - settings_env_names(settings_type)
        assert not unknown, f"{name}: not fields of {settings_type.__name__}: {sorted(unknown)}"
        for key in fields:
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = settings_type()
        assert settings.environment != "embedded"
        assert settings.kafka_idempotent_producer, "Apache Kafka: idempotent producer on"
        assert settings.kafka_bootstrap_servers == "kafka:9092"
        assert settings.directory_url.startswith("postgresql+asyncpg://")
        assert settings.jwt_secret.get_secret_value() == "test-claimflow-jwt-secret"
        if spec:
            assert settings.database_url.startswith("postgresql+asyncpg://"), name
            urls.setdefault(spec.name, settings.database_url)
            assert urls[spec.name] == settings.database_url, f"{name}: same database as its service"
    assert len(set(urls.values())) == len(SERVICES), "one database per service"
    assert set(urls.values()).isdisjoint({interpolate(ServiceSettings().directory_url)})


def test_ops_view_in_compose_reads_every_api_with_the_ops_token(monkeypatch: pytest.MonkeyPatch) -> None:
    services = compose_services()
    view = services["ops-view"]
    assert view["command"] == ["ops", "serve", "--host", ALL_INTERFACES, "--port", "8020"]
    assert "8020:8020" in view["ports"]
    assert "127.0.0.1:8020/healthz" in " ".join(view["healthcheck"]["test"])
    assert view["depends_on"]["kafka"]["condition"] == "service_healthy"
    env = {key: interpolate(str(value)) for key, value in view["environment"].items()}
    for key in all_settings_env_names():
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = OpsViewSettings()
    assert settings.ops_service_urls == {
        name: f"http://{name}-api:{spec.default_port}" for name, spec in SERVICES.items()
    }, "the ops view reaches every API by its compose name and port"
    assert settings.ops_token is not None
    token = settings.ops_token.get_secret_value()
    for name in (*(f"{service}-api" for service in SERVICES), "ops-view"):
        assert interpolate(str(services[name]["environment"]["CLAIMFLOW_OPS_TOKEN"])) == token, name


def test_compose_commits_no_secrets() -> None:
    for name, svc in compose_services().items():
        for key, value in (svc.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", str(value)), f"{name}.{key} must come from the env"
            if isinstance(value, str) and "://" in value and "@" in value:
                assert "${POSTGRES_PASSWORD" in value, f"{name}.{key}: password inline"
    example = (DEPLOY / "compose" / "env.example").read_text()
    assigned = dict(line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#"))
    needed = {m.group("name") for m in INTERPOLATION.finditer(COMPOSE_FILE.read_text()) if ":?" in m.group(0)}
    assert needed <= set(assigned), "env.example lists every required variable"
    assert all(value.startswith("replace-me") for value in assigned.values()), "placeholders only"
    assert "compose/.env" in (DEPLOY / ".gitignore").read_text()


def test_postgres_init_creates_every_database() -> None:
    created = set(re.findall(r"CREATE DATABASE (\w+);", (DEPLOY / "postgres" / "init-databases.sql").read_text()))
    used = set(re.findall(r"@postgres:5432/(\w+)", COMPOSE_FILE.read_text()))
    assert used <= created
    assert len(used) == len(SERVICES) + 1, "a database per service and the directory"


def expected_topics() -> set[str]:
    return {name for topic in Topic for name in (topic.value, dead_letter_topic(topic.value))}


def test_compose_topic_script_declares_every_topic() -> None:
    script = (DEPLOY / "kafka" / "create-topics.sh").read_text()
    listed = re.search(r'^TOPICS="([^"]+)"', script, re.M)
    assert listed
    declared = set(listed.group(1).split())
    assert {*declared, *(dead_letter_topic(t) for t in declared)} == expected_topics()
    assert '"$topic.dlq"' in script
    assert compose_services()["kafka-init"]["entrypoint"][-1].endswith("create-topics.sh")


# ---------------------------------------------------------------------------------------------- observability


def metric_sample_names() -> set[str]:
    """Every series name the services export, including counter/histogram suffixes."""
    names: set[str] = set()
    for family in Metrics("probe").registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.update(f"{family.name}_{suffix}" for suffix in ("total", "created"))
        if family.type == "histogram":
            names.update(f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
    return names


def metric_names_in(expr: str) -> set[str]:
    return set(re.findall(r"\bclaimflow_[a-z_]+\b", expr)) - {"claimflow_"}


def dashboard_exprs(dashboard: Doc) -> Iterator[str]:
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield target["expr"]


def test_prometheus_scrapes_every_api_and_worker() -> None:
    config = load_documents(DEPLOY / "prometheus" / "prometheus.yml")[0]
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    services = compose_services()
    for name, spec in SERVICES.items():
        assert f"{name}-api:{spec.default_port}" in targets
        assert f"{name}-worker:{WORKER_METRICS_PORT}" in targets
    for target in targets - {"localhost:9090"}:
        assert target.split(":")[0] in services, f"scrape target {target} is not a compose service"
    assert all(job.get("metrics_path", "/metrics") == "/metrics" for job in config["scrape_configs"])


def test_dashboards_and_alerts_query_real_metrics() -> None:
    known = metric_sample_names()
    for required in ("claimflow_events_published_total", "claimflow_consumer_lag", "claimflow_dead_letters_total"):
        assert required in known, "the metrics module changed; update this test and the dashboards"
    datasource = load_documents(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")[0]
    uids = {ds["uid"] for ds in datasource["datasources"]}
    dashboards = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
    assert dashboards
    used: set[str] = set()
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            if "datasource" in panel:
                assert panel["datasource"]["uid"] in uids, f"{path.name}: {panel['title']}"
        for expr in dashboard_exprs(dashboard):
            names = metric_names_in(expr)
            assert names <= known, f"{path.name}: unknown metrics {sorted(names - known)} in {expr}"
            used |= names
    for family in (
        "claimflow_events_published_total",
        "claimflow_events_consumed_total",
        "claimflow_consumer_lag",
        "claimflow_dead_letters_total",
        "claimflow_outbox_backlog",
        "claimflow_http_request_seconds_bucket",
    ):
        assert family in used, f"no dashboard panel shows {family}"
    alerts = load_documents(DEPLOY / "prometheus" / "alerts.yml")[0]
    for group in alerts["groups"]:
        for rule in group["rules"]:
            assert metric_names_in(rule["expr"]) <= known, rule["alert"]
    provider = load_documents(DEPLOY / "grafana" / "provisioning" / "dashboards" / "claimflow.yml")[0]
    mounts = compose_services()["grafana"]["volumes"]
    assert any(m.endswith(f":{provider['providers'][0]['options']['path']}:ro") for m in mounts)


def test_grafana_metric_check_can_fail() -> None:
    assert metric_names_in("rate(claimflow_events_publish_total[5m])") - metric_sample_names()


# ---------------------------------------------------------------------------------------------- Kubernetes


def kubernetes_validate(document: Doc) -> None:
    validator = _optional_module("kubernetes_validate", "it ships the Kubernetes JSON schemas")
    validator.validate(document, KUBERNETES_VERSION, strict=True)


@cache
def crd_schema(api_version: str, kind: str) -> Doc:
    schema: Doc = json.loads((DEPLOY / "schemas" / CRD_SCHEMAS[(api_version, kind)]).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def crd_errors(document: Doc) -> list[str]:
    validator = jsonschema.Draft202012Validator(crd_schema(document["apiVersion"], document["kind"]))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_every_manifest_is_a_known_kind() -> None:
    kinds = {(doc["apiVersion"], doc["kind"]) for _, doc in manifests()}
    unknown = {kind for kind in kinds if kind[1] not in CORE_KINDS and kind not in CRD_SCHEMAS}
    assert not unknown, f"add a schema for {unknown}"


@pytest.mark.parametrize(
    "document",
    [doc for _, doc in manifests() if doc["kind"] in CORE_KINDS],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_core_manifest_validates_against_the_kubernetes_schema(document: Doc) -> None:
    kubernetes_validate(document)


def test_kubernetes_schema_rejects_a_broken_manifest() -> None:
    broken = copy.deepcopy(of_kind("Deployment")["coding-svc-api"])
    broken["spec"]["replicas"] = "two"
    kubernetes_validate(copy.deepcopy(of_kind("Deployment")["coding-svc-api"]))
    module = _optional_module("kubernetes_validate", "it ships the Kubernetes JSON schemas")
    with pytest.raises(module.ValidationError):
        kubernetes_validate(broken)
    misspelt = copy.deepcopy(of_kind("Deployment")["coding-svc-api"])
    container = misspelt["spec"]["template"]["spec"]["containers"][0]
    container["readynessProbe"] = container.pop("readinessProbe")
    with pytest.raises(module.ValidationError):
        kubernetes_validate(misspelt)


@pytest.mark.parametrize(
    "document",
    [doc for _, doc in manifests() if (doc["apiVersion"], doc["kind"]) in CRD_SCHEMAS],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_custom_resource_validates_structurally(document: Doc) -> None:
    assert crd_errors(document) == []


def test_crd_schemas_reject_broken_resources() -> None:
    scaled = copy.deepcopy(of_kind("ScaledObject")["coding-svc-worker"])
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 100
    scaled["spec"]["scaleTargetRefs"] = scaled["spec"].pop("scaleTargetRef")
    errors = crd_errors(scaled)
    assert any("lagThreshold" in e for e in errors), errors
    assert any("scaleTargetRef" in e for e in errors), errors
    topic = copy.deepcopy(next(iter(of_kind("KafkaTopic").values())))
    topic["spec"]["partitions"] = 0
    del topic["metadata"]["labels"]["strimzi.io/cluster"]
    assert len(crd_errors(topic)) == 2


def test_kustomizations_list_every_manifest() -> None:
    main = load_documents(K8S / "kustomization.yaml")[0]
    topics = load_documents(K8S / "topics" / "kustomization.yaml")[0]
    listed = {K8S / r for r in main["resources"]} | {K8S / "topics" / r for r in topics["resources"]}
    assert all(path.exists() for path in listed), "kustomization names a missing file"
    template = K8S / "secret.template.yaml"
    assert set(manifest_files()) - listed == {template}, "every manifest but the Secret template is applied"
    assert main["namespace"] == "claimflow"
    assert {image["name"] for image in main["images"]} == {"claimflow"}


def test_api_deployments_probes_service_hpa_and_pdb() -> None:
    deployments, services = of_kind("Deployment"), of_kind("Service")
    hpas, pdbs = of_kind("HorizontalPodAutoscaler"), of_kind("PodDisruptionBudget")
    for name, spec in SERVICES.items():
        api = deployments[f"{name}-api"]
        (container,) = pod_template(api)["spec"]["containers"]
        assert container["args"] == ["run", name, "api", "--host", ALL_INTERFACES, "--port", str(spec.default_port)]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports["http"] == spec.default_port
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        labels = pod_template(api)["metadata"]["labels"]
        service = services[name]
        assert service["spec"]["selector"].items() <= labels.items()
        assert service["spec"]["ports"][0]["targetPort"] == "http"
        hpa = hpas[f"{name}-api"]
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{name}-api"}
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
        for component in ("api", "worker"):
            pdb = pdbs[f"{name}-{component}"]
            target = pod_template(deployments[f"{name}-{component}"])["metadata"]["labels"]
            assert pdb["spec"]["selector"]["matchLabels"].items() <= target.items()


def test_workloads_have_resources_and_run_as_non_root() -> None:
    for kind in ("Deployment", "Job"):
        for name, doc in of_kind(kind).items():
            pod = pod_template(doc)["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            for container in containers(doc):
                for bound in ("requests", "limits"):
                    amounts = container["resources"][bound]
                    assert set(amounts) >= {"cpu", "memory"}, f"{name}: {bound}"
                    assert all(QUANTITY.fullmatch(str(value)) for value in amounts.values()), f"{name}: {amounts}"
                assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
                check_claimflow_command(container["args"])


def test_migrate_jobs_for_every_database() -> None:
    jobs = of_kind("Job")
    for name in SERVICES:
        (container,) = pod_template(jobs[f"{name}-migrate"])["spec"]["containers"]
        assert container["args"] == ["migrate", name]
    (container,) = pod_template(jobs["directory-migrate"])["spec"]["containers"]
    assert container["args"] == ["migrate", "directory"]


def test_every_worker_scales_on_the_lag_of_its_real_consumer_groups() -> None:
    deployments, scaled = of_kind("Deployment"), of_kind("ScaledObject")
    config = of_kind("ConfigMap")["claimflow-config"]["data"]
    partitions = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in of_kind("KafkaTopic").values()}
    for name, spec in SERVICES.items():
        worker = deployments[f"{name}-worker"]
        (container,) = pod_template(worker)["spec"]["containers"]
        assert container["args"] == ["run", name, "worker"]
        assert container["livenessProbe"]["httpGet"]["port"] == "metrics"
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert env["CLAIMFLOW_WORKER_METRICS_PORT"] == str(WORKER_METRICS_PORT)
        expected = {
            (f"{name}.{subscription.name}", payload.topic.value)
            for subscription in spec.subscriptions(spec.settings())
            for payload in subscription.handlers
        }
        matching = [s for s in scaled.values() if s["spec"]["scaleTargetRef"]["name"] == f"{name}-worker"]
        assert len(matching) == 1, f"{name}-worker: one ScaledObject"
        (scaled_object,) = matching
        assert scaled_object["spec"]["minReplicaCount"] >= 1, "the worker runs the outbox relay: never zero"
        triggers = scaled_object["spec"]["triggers"]
        assert all(t["type"] == "kafka" for t in triggers)
        for trigger in triggers:
            assert set(trigger["metadata"]) >= KAFKA_TRIGGER_KEYS, trigger
            assert trigger["metadata"]["bootstrapServers"] == config["CLAIMFLOW_KAFKA_BOOTSTRAP_SERVERS"]
            assert scaled_object["spec"]["maxReplicaCount"] <= partitions[trigger["metadata"]["topic"]]
        assert {(t["metadata"]["consumerGroup"], t["metadata"]["topic"]) for t in triggers} == expected


def test_every_topic_and_dead_letter_topic_is_declared() -> None:
    topics = of_kind("KafkaTopic").values()
    assert {t["spec"]["topicName"] for t in topics} == expected_topics()
    assert all(t["metadata"]["name"] == t["spec"]["topicName"] for t in topics)


def test_kubernetes_env_refs_resolve_and_are_settings_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = settings_env_names()
    configmaps = of_kind("ConfigMap")
    template = load_documents(K8S / "secret.template.yaml")[0]
    secret_keys = set(template["stringData"])
    assert all("REPLACE_ME" in value for value in template["stringData"].values()), "placeholders only"
    config = configmaps["claimflow-config"]["data"]
    assert set(config) <= fields, sorted(set(config) - fields)
    for name, doc in [*of_kind("Deployment").items(), *of_kind("Job").items()]:
        own = settings_env_names(OpsViewSettings) if name == "ops-view" else fields
        for container in containers(doc):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in configmaps, name
            for item in container.get("env", []):
                assert item["name"] in own, f"{name}: {item['name']} is not a settings field"
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == template["metadata"]["name"], f"{name}: {ref}"
                    assert ref["key"] in secret_keys, f"{name}: {ref}"
    for key in settings_env_names():
        monkeypatch.delenv(key, raising=False)
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    settings = ServiceSettings()
    assert settings.environment == "production"
    assert settings.kafka_idempotent_producer
    assert not settings.auto_migrate, "migrations run in Jobs"


def test_ops_view_in_kubernetes_reads_every_api_service_with_the_ops_token(monkeypatch: pytest.MonkeyPatch) -> None:
    deployments, services = of_kind("Deployment"), of_kind("Service")
    view = deployments["ops-view"]
    (container,) = pod_template(view)["spec"]["containers"]
    assert container["args"] == ["ops", "serve", "--host", ALL_INTERFACES, "--port", "8020"]
    assert {port["name"]: port["containerPort"] for port in container["ports"]}["http"] == 8020
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert services["ops-view"]["spec"]["selector"].items() <= pod_template(view)["metadata"]["labels"].items()
    env = {item["name"]: item for item in container["env"]}
    assert env["CLAIMFLOW_OPS_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == "ops-token"
    monkeypatch.setenv("CLAIMFLOW_OPS_SERVICE_URLS", env["CLAIMFLOW_OPS_SERVICE_URLS"]["value"])
    urls = OpsViewSettings().ops_service_urls
    assert set(urls) == set(SERVICES)
    for name, url in urls.items():
        assert url == f"http://{name}", "through the API's Service (port 80)"
        assert services[name]["spec"]["ports"][0]["port"] == 80
        (api,) = pod_template(deployments[f"{name}-api"])["spec"]["containers"]
        refs = {item["name"]: item.get("valueFrom", {}).get("secretKeyRef", {}).get("key") for item in api["env"]}
        assert refs.get("CLAIMFLOW_OPS_TOKEN") == "ops-token", f"{name}-api: its /ops endpoints need the token"


def all_settings_env_names() -> set[str]:
    """Every variable some ClaimFlow process reads: the shared settings, each service's own and the ops view's."""
    names = settings_env_names() | settings_env_names(OpsViewSettings)
    for spec in SERVICES.values():
        names |= settings_env_names(spec.settings_type)
    return names


def test_env_vars_named_anywhere_in_deploy_files_are_settings_fields() -> None:
    fields = all_settings_env_names()
    files = [COMPOSE_FILE, ROOT / "Dockerfile"] + [p for p in DEPLOY.rglob("*") if p.is_file()]
    for path in files:
        named = set(ENV_NAME.findall(path.read_text()))
        assert named <= fields, f"{path.relative_to(ROOT)}: not settings fields: {sorted(named - fields)}"


def test_env_var_check_can_fail() -> None:
    assert set(ENV_NAME.findall("CLAIMFLOW_KAFKA_BROKERS=kafka:9092")) - settings_env_names()
