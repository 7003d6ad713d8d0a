"""JSON Schema and AsyncAPI documents generated from the payload models, and the compatibility check.

The committed files under ``contract/`` are the published contract. A payload change that keeps every
committed field readable may simply regenerate its schema; a breaking change must bump the event's
``schema_version`` and register an upcaster from the old version, keeping the old schema file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from claimflow_events.catalog import EventCatalog, event_type_name
from claimflow_events.envelope import EventEnvelope
from claimflow_events.payloads import EventPayload

Schema = Mapping[str, Any]


def contract_dir() -> Path:
    """Directory of the committed contract files (inside the package, so it ships with it)."""
    return Path(str(resources.files("claimflow_events").joinpath("contract")))


def schema_path(root: Path, payload_type: type[EventPayload], version: int | None = None) -> Path:
    """Committed schema file of one event version: ``schemas/<event-type>/v<N>.json``."""
    return root / "schemas" / payload_type.event_type / f"v{version or payload_type.schema_version}.json"


def payload_schema(payload_type: type[EventPayload]) -> dict[str, Any]:
    """JSON Schema of a payload as it appears on the wire (money as strings)."""
    schema = payload_type.model_json_schema(mode="serialization")
    schema["$id"] = f"urn:claimflow:event:{payload_type.event_type}:v{payload_type.schema_version}"
    schema["x-event-type"] = event_type_name(payload_type)
    schema["x-schema-version"] = payload_type.schema_version
    schema["x-topic"] = payload_type.topic.value
    schema["x-partition-key"] = payload_type.aggregate_field
    return schema


def render(document: Mapping[str, Any]) -> str:
    """Stable text form of a generated document, as committed."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def asyncapi_document(catalog: EventCatalog) -> dict[str, Any]:
    """AsyncAPI 3.0 document: one channel per topic, one message per event type."""
    envelope_schema = EventEnvelope.model_json_schema(mode="serialization")
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in catalog.topics():
        channel_id = topic.value.replace(".", "-")
        channel_messages: dict[str, Any] = {}
        for name, payload_type in sorted(catalog.payloads.items()):
            if payload_type.topic is not topic:
                continue
            message_id = payload_type.event_type
            messages[message_id] = {
                "name": name,
                "title": payload_type.__name__,
                "summary": (payload_type.__doc__ or "").strip().splitlines()[0],
                "contentType": "application/cloudevents+json",
                "headers": envelope_schema,
                "payload": payload_schema(payload_type),
                "bindings": {"kafka": {"key": {"type": "string", "description": payload_type.aggregate_field}}},
                "x-schema-version": payload_type.schema_version,
            }
            channel_messages[message_id] = {"$ref": f"#/components/messages/{message_id}"}
        channels[channel_id] = {
            "address": topic.value,
            "description": f"Events of the {topic.name.lower().replace('_', ' ')} family, keyed by aggregate id.",
            "messages": channel_messages,
        }
        operations[f"receive-{channel_id}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Consume {topic.value}",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "ClaimFlow events",
            "version": "1.0.0",
            "description": "Claim-lifecycle events of ClaimFlow, CloudEvents 1.0 structured mode over Kafka.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def generated_files(catalog: EventCatalog) -> dict[str, str]:
    """Every contract file the models generate, by path relative to the contract directory."""
    files = {"asyncapi.json": render(asyncapi_document(catalog))}
    for payload_type in catalog.payloads.values():
        relative = schema_path(Path(), payload_type).as_posix()
        files[relative] = render(payload_schema(payload_type))
    return files


def write_contract(catalog: EventCatalog, root: Path) -> list[str]:
    """Write the generated contract files under ``root``; returns the paths that changed."""
    changed = []
    for relative, text in generated_files(catalog).items():
        path = root / relative
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(relative)
    return changed


@dataclass(frozen=True)
class Incompatibility:
    """A change that would break a consumer or make an old event unreadable."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def check_compatible(old: Schema, new: Schema) -> list[Incompatibility]:
    """Compare a committed schema with a regenerated one of the same version; empty list = compatible.

    Breaking: a field removed, a field newly required, a type narrowed, an enum value removed, a string
    pattern/format or const changed. Allowed: new optional fields, widened types, added enum values.
    """
    return _compare(_Resolver(old), old, _Resolver(new), new, "$")


class _Resolver:
    def __init__(self, root: Schema) -> None:
        self.defs: Mapping[str, Any] = root.get("$defs", {})

    def resolve(self, node: Schema) -> Schema:
        seen = 0
        while "$ref" in node:
            node = self.defs[str(node["$ref"]).rsplit("/", 1)[-1]]
            seen += 1
            if seen > 32:
                raise ValueError("reference cycle in schema")
        return node


def _alternatives(resolver: _Resolver, node: Schema) -> list[Schema]:
    node = resolver.resolve(node)
    for key in ("anyOf", "oneOf"):
        if key in node:
            return [alt for option in node[key] for alt in _alternatives(resolver, option)]
    return [node]


def _types(node: Schema) -> set[str]:
    declared = node.get("type")
    if declared is None:
        return {"any"} if "const" not in node and "enum" not in node else {"literal"}
    return {declared} if isinstance(declared, str) else set(declared)


def _compare(ro: _Resolver, old: Schema, rn: _Resolver, new: Schema, path: str) -> list[Incompatibility]:
    problems: list[Incompatibility] = []
    new_alts = _alternatives(rn, new)
    for old_alt in _alternatives(ro, old):
        match = _best_match(old_alt, new_alts)
        if match is None:
            problems.append(Incompatibility(path, f"type {sorted(_types(old_alt))} no longer accepted"))
            continue
        problems.extend(_compare_node(ro, old_alt, rn, match, path))
    return problems


def _best_match(old_alt: Schema, new_alts: Iterable[Schema]) -> Schema | None:
    old_types = _types(old_alt)
    for candidate in new_alts:
        new_types = _types(candidate)
        if "any" in new_types or old_types <= new_types:
            return candidate
    return None


def _compare_node(ro: _Resolver, old: Schema, rn: _Resolver, new: Schema, path: str) -> list[Incompatibility]:
    problems: list[Incompatibility] = []
    for key in ("pattern", "format", "const"):
        if key in new and new.get(key) != old.get(key):
            problems.append(Incompatibility(path, f"{key} changed from {old.get(key)!r} to {new.get(key)!r}"))
    if "enum" in new:
        removed = set(map(str, old.get("enum", []))) - set(map(str, new["enum"]))
        if removed or "enum" not in old:
            problems.append(Incompatibility(path, f"enum no longer accepts {sorted(removed) or 'all values'}"))
    old_props: Mapping[str, Any] = old.get("properties", {})
    new_props: Mapping[str, Any] = new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(Incompatibility(f"{path}.{name}", "field removed"))
        else:
            problems.extend(_compare(ro, old_prop, rn, new_props[name], f"{path}.{name}"))
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        what = "new required field" if name not in old_props else "field became required"
        problems.append(Incompatibility(f"{path}.{name}", what))
    if "items" in old and "items" in new:
        problems.extend(_compare(ro, old["items"], rn, new["items"], f"{path}[]"))
    if "prefixItems" in old and "prefixItems" in new:
        for index, (old_item, new_item) in enumerate(zip(old["prefixItems"], new["prefixItems"], strict=False)):
            problems.extend(_compare(ro, old_item, rn, new_item, f"{path}[{index}]"))
    return problems
