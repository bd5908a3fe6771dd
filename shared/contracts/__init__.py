"""Event contracts: JSON Schemas and the AsyncAPI document, generated from the models.

``python -m shared.contracts generate`` writes ``contracts/events/<type>.json`` for every
registered event and ``contracts/asyncapi.yaml``; ``python -m shared.contracts check``
fails when they are stale, when a published version lost its model, or when a change
breaks an existing version (see :mod:`shared.contracts.compat`).

The schemas describe ``data`` in pydantic's *validation* mode: what a consumer accepts
(``CloudEvent.payload`` validates with the model), hence what any publisher, a partner
agency included, must send.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import pkgutil
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from shared.contracts.asyncapi import render_asyncapi
from shared.contracts.compat import breaking_changes
from shared.contracts.history import EVENTS_DIR, check_history
from shared.events import REGISTRY, EventPayload, dataschema_for, topic_for

__all__ = [
    "asyncapi_text",
    "breaking_changes",
    "check",
    "check_history",
    "discover_registry",
    "event_schema_text",
    "generate",
    "render_asyncapi",
    "render_event_schema",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_FILE = Path("contracts/asyncapi.yaml")
REGENERATE = "run make contracts"

Registry = Mapping[str, type[EventPayload]]

_TYPE_NAME = re.compile(
    r"^vn\.ansinh\.(?P<service>[a-z_]+)\.(?P<name>[a-z0-9_]+)\.v(?P<version>\d+)$"
)
_ASYNCAPI_HEADER = (
    "# Generated from the event models by `make contracts`; do not edit by hand.\n"
    "# Message payloads refer to the JSON Schemas in ./events/.\n"
)


def discover_registry(package: str = "services") -> dict[str, type[EventPayload]]:
    """Every registered event type, after importing each ``<package>.<service>.events``.

    A service without an ``events`` module publishes nothing and is skipped.
    """
    services = importlib.import_module(package)
    for service in pkgutil.iter_modules(services.__path__):
        module = f"{package}.{service.name}.events"
        if service.ispkg and importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
    return dict(REGISTRY)


def render_event_schema(model: type[EventPayload]) -> dict[str, Any]:
    """The JSON Schema (2020-12) of one registered event's ``data``, with An Sinh metadata."""
    if not hasattr(model, "ce_type"):
        raise TypeError(f"{model.__name__} is not registered with @domain_event")
    schema = model.model_json_schema()
    schema.pop("description", None)
    description = _description(model)
    schema |= {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": dataschema_for(model.ce_type),
        "$comment": (
            f"Generated from {model.__module__}.{model.__qualname__} by `make contracts`; "
            "do not edit by hand."
        ),
        "title": model.ce_type,
        "x-ansinh-service": model.ce_service,
        "x-ansinh-version": model.ce_version,
        "x-ansinh-topic": topic_for(model.ce_service),
    }
    if description:
        schema["description"] = description
    return schema


def event_schema_text(model: type[EventPayload]) -> str:
    """The exact content of ``contracts/events/<type>.json`` (sorted keys, 2-space indent)."""
    schema = render_event_schema(model)
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _description(model: type[EventPayload]) -> str:
    return inspect.cleandoc(model.ce_description or model.__doc__ or "")


class _NoAliasDumper(yaml.SafeDumper):
    # Equal sub-documents must be written out each time, not as YAML anchors and aliases.
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Descriptions read as written (a literal block) rather than as a folded quoted string.
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_NoAliasDumper.add_representer(str, _represent_text)


def asyncapi_text(registry: Registry) -> str:
    """The exact content of ``contracts/asyncapi.yaml``."""
    body = yaml.dump(
        render_asyncapi(registry),
        Dumper=_NoAliasDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return _ASYNCAPI_HEADER + body


def expected_files(registry: Registry) -> dict[Path, str]:
    """Each contract file (relative to the repository root) with the content it must have."""
    files = {EVENTS_DIR / f"{t}.json": event_schema_text(registry[t]) for t in sorted(registry)}
    files[ASYNCAPI_FILE] = asyncapi_text(registry)
    return files


def generate(root: Path, registry: Registry | None = None) -> list[Path]:
    """Write every contract file under ``root``; return those whose content changed.

    Schema files of event types no longer registered are kept: a published version is
    never deleted silently (``check`` reports one that has no successor).
    """
    registry = discover_registry() if registry is None else registry
    written: list[Path] = []
    for relative, content in expected_files(registry).items():
        path = root / relative
        if path.exists() and path.read_text(encoding="utf-8") == content:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(relative)
    return written


def check(root: Path, registry: Registry | None = None) -> list[str]:
    """Problems with the contract files under ``root``; empty when they are current."""
    registry = discover_registry() if registry is None else registry
    problems: list[str] = []
    for relative, content in expected_files(registry).items():
        path = root / relative
        if not path.exists():
            problems.append(f"{relative} is missing: {REGENERATE}")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"{relative} is stale: {REGENERATE}")
    events_dir = root / EVENTS_DIR
    published = sorted(events_dir.glob("*.json")) if events_dir.is_dir() else []
    for path in published:
        problem = _retired_problem(path.stem, registry)
        if problem:
            problems.append(f"{EVENTS_DIR / path.name}: {problem}")
    return problems


def _retired_problem(ce_type: str, registry: Registry) -> str | None:
    """Why a published schema file is a problem, if its type is no longer registered."""
    if ce_type in registry:
        return None
    match = _TYPE_NAME.match(ce_type)
    if match is None:
        return "not named after an event type vn.ansinh.<service>.<event_name>.v<N>"
    version = int(match["version"])
    for other in registry:
        found = _TYPE_NAME.match(other)
        if (
            found
            and (found["service"], found["name"]) == (match["service"], match["name"])
            and int(found["version"]) > version
        ):
            return None
    return (
        f"{ce_type} is retired without a successor (no model registers it or a later "
        f"version): restore its model or register v{version + 1}"
    )
