"""Generating and checking the event contracts (JSON Schemas + AsyncAPI document)."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import Field

from shared.contracts import (
    check,
    discover_registry,
    generate,
    render_asyncapi,
    render_event_schema,
)
from shared.contracts.__main__ import main
from shared.events import (
    REGISTRY,
    SERVICES,
    EventPayload,
    dataschema_for,
    domain_event,
    new_event,
    topic_for,
)

Register = Callable[..., type[EventPayload]]
PREFIX = "vn.ansinh.audit."


class Tier(StrEnum):
    POOR = "poor"
    NEAR_POOR = "near_poor"


@pytest.fixture
def register() -> Iterator[Register]:
    """Register test models as audit events named ``test_<name>``; unregister them after."""
    registered: list[str] = []

    def _register(name: str, model: type[EventPayload], version: int = 1) -> type[EventPayload]:
        ce_type = f"{PREFIX}test_{name}.v{version}"
        REGISTRY.pop(ce_type, None)  # an edited model replaces the previous one
        domain_event("audit", f"test_{name}", version)(model)
        registered.append(ce_type)
        return model

    yield _register
    for ce_type in registered:
        REGISTRY.pop(ce_type, None)


def reviewed_model() -> type[EventPayload]:
    class HouseholdReviewed(EventPayload):
        """A household's poverty tier was reviewed.

        Published once per review, whatever its outcome.
        """

        household_id: uuid.UUID
        tier: Tier
        reviewed_at: datetime
        score: int = Field(ge=0, le=100)

    return HouseholdReviewed


def note_model() -> type[EventPayload]:
    class NoteAdded(EventPayload):
        """An inspector added a note to a household's trail."""

        household_id: uuid.UUID
        note: str = Field(max_length=500)

    return NoteAdded


@pytest.fixture
def registry(register: Register) -> dict[str, type[EventPayload]]:
    reviewed = register("household_reviewed", reviewed_model())
    note = register("note_added", note_model())
    return {reviewed.ce_type: reviewed, note.ce_type: note}


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class TestEventSchema:
    def test_describes_the_event_data_with_its_identity(
        self, registry: dict[str, type[EventPayload]]
    ) -> None:
        model = registry[f"{PREFIX}test_household_reviewed.v1"]
        schema = render_event_schema(model)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == dataschema_for(model.ce_type)
        assert schema["title"] == model.ce_type
        assert schema["description"] == (
            "A household's poverty tier was reviewed.\n\n"
            "Published once per review, whatever its outcome."
        )
        assert schema["x-ansinh-service"] == "audit"
        assert schema["x-ansinh-version"] == 1
        # Tolerant reader: consumers ignore fields added later within the same version.
        assert schema.get("additionalProperties", True) is not False
        assert set(schema["required"]) == {"household_id", "tier", "reviewed_at", "score"}

    def test_published_event_data_validates_and_malformed_data_does_not(
        self, registry: dict[str, type[EventPayload]]
    ) -> None:
        jsonschema_rs = pytest.importorskip("jsonschema_rs")
        model = registry[f"{PREFIX}test_household_reviewed.v1"]
        payload = model.model_validate(
            {
                "household_id": str(uuid.uuid4()),
                "tier": "near_poor",
                "reviewed_at": "2025-03-01T08:00:00Z",
                "score": 42,
            }
        )
        event = new_event(payload, subject=str(payload.household_id))  # type: ignore[attr-defined]
        validator = jsonschema_rs.validator_for(render_event_schema(model))
        assert validator.is_valid(event.data)
        assert not validator.is_valid({**event.data, "tier": "rich"})
        missing_required = {k: v for k, v in event.data.items() if k != "household_id"}
        assert not validator.is_valid(missing_required)

    def test_unregistered_model_is_refused(self) -> None:
        with pytest.raises(TypeError, match="not registered"):
            render_event_schema(note_model())


class TestGenerateAndCheck:
    def test_generated_contracts_check_clean(
        self, tmp_path: Path, registry: dict[str, type[EventPayload]]
    ) -> None:
        written = generate(tmp_path, registry)
        assert {p.name for p in written} == {f"{t}.json" for t in registry} | {"asyncapi.yaml"}
        assert check(tmp_path, registry) == []

    def test_files_are_deterministic_and_rewritten_only_when_changed(
        self, tmp_path: Path, registry: dict[str, type[EventPayload]]
    ) -> None:
        generate(tmp_path, registry)
        schema_file = tmp_path / f"contracts/events/{PREFIX}test_note_added.v1.json"
        text = schema_file.read_text(encoding="utf-8")
        assert text.endswith("}\n")
        assert text == json.dumps(read_json(schema_file), indent=2, sort_keys=True) + "\n"
        assert generate(tmp_path, registry) == []

    def test_editing_a_model_makes_its_contracts_stale(
        self, tmp_path: Path, register: Register, registry: dict[str, type[EventPayload]]
    ) -> None:
        generate(tmp_path, registry)

        class NoteAdded(EventPayload):
            """An inspector added a note to a household's trail."""

            household_id: uuid.UUID
            note: str = Field(max_length=500)
            pinned: bool = False

        edited = register("note_added", NoteAdded)
        problems = check(tmp_path, {**registry, edited.ce_type: edited})
        # The AsyncAPI document only refers to the schema file, so it is still current.
        assert problems == [f"contracts/events/{edited.ce_type}.json is stale: run make contracts"]

    def test_editing_a_description_makes_the_asyncapi_document_stale(
        self, tmp_path: Path, register: Register, registry: dict[str, type[EventPayload]]
    ) -> None:
        generate(tmp_path, registry)

        class NoteAdded(EventPayload):
            """An inspector annotated a household's trail."""

            household_id: uuid.UUID
            note: str = Field(max_length=500)

        edited = register("note_added", NoteAdded)
        assert "contracts/asyncapi.yaml is stale: run make contracts" in check(
            tmp_path, {**registry, edited.ce_type: edited}
        )

    def test_a_new_event_without_contract_is_reported_missing(
        self, tmp_path: Path, register: Register, registry: dict[str, type[EventPayload]]
    ) -> None:
        generate(tmp_path, registry)

        class CardIssued(EventPayload):
            """A health-insurance card was issued."""

            card_id: uuid.UUID

        added = register("card_issued", CardIssued)
        problems = check(tmp_path, {**registry, added.ce_type: added})
        assert f"contracts/events/{added.ce_type}.json is missing: run make contracts" in problems

    def test_a_published_version_is_kept_and_reported_when_retired_without_successor(
        self, tmp_path: Path, registry: dict[str, type[EventPayload]]
    ) -> None:
        generate(tmp_path, registry)
        note_type = f"{PREFIX}test_note_added.v1"
        remaining = {t: m for t, m in registry.items() if t != note_type}
        generate(tmp_path, remaining)
        assert (tmp_path / f"contracts/events/{note_type}.json").exists()
        [problem] = check(tmp_path, remaining)
        assert problem.startswith(f"contracts/events/{note_type}.json: ")
        assert "retired without a successor" in problem

    def test_a_version_replaced_by_a_later_one_is_not_a_problem(
        self, tmp_path: Path, register: Register, registry: dict[str, type[EventPayload]]
    ) -> None:
        generate(tmp_path, registry)
        note_type = f"{PREFIX}test_note_added.v1"
        successor = register("note_added", note_model(), version=2)
        current = {t: m for t, m in registry.items() if t != note_type}
        current[successor.ce_type] = successor
        generate(tmp_path, current)
        assert check(tmp_path, current) == []


class TestAsyncApi:
    def test_one_channel_and_send_operation_per_service_topic(
        self, registry: dict[str, type[EventPayload]]
    ) -> None:
        document = render_asyncapi(registry)
        assert document["asyncapi"] == "3.0.0"
        assert document["info"]["title"] == "An Sinh events"
        for service in SERVICES:
            assert document["channels"][service]["address"] == topic_for(service)
            operation = document["operations"][f"{service}.send"]
            assert operation["action"] == "send"
            assert operation["channel"] == {"$ref": f"#/channels/{service}"}
        assert set(document["channels"]["audit"]["messages"]) == set(registry)
        assert document["servers"]["embedded"]["host"] == "127.0.0.1:9092"
        assert {s["protocol"] for s in document["servers"].values()} == {"kafka"}

    def test_each_message_refers_to_its_schema_file_and_pins_its_type(
        self, tmp_path: Path, registry: dict[str, type[EventPayload]]
    ) -> None:
        generate(tmp_path, registry)
        asyncapi = tmp_path / "contracts/asyncapi.yaml"
        document = yaml.safe_load(asyncapi.read_text(encoding="utf-8"))
        messages = document["components"]["messages"]
        headers = document["components"]["schemas"]["CloudEventHeaders"]
        assert headers["properties"]["ce_specversion"]["const"] == "1.0"
        assert "ce_id" in headers["required"]
        for ce_type in registry:
            message = messages[ce_type]
            payload_file = asyncapi.parent / message["payload"]["$ref"]
            assert read_json(payload_file)["$id"] == dataschema_for(ce_type)
            pinned = message["headers"]["allOf"][1]["properties"]["ce_type"]
            assert pinned["const"] == ce_type
            assert message["bindings"]["kafka"]["key"]["type"] == "string"

    def test_dead_letter_channel_carries_the_error_headers(
        self, registry: dict[str, type[EventPayload]]
    ) -> None:
        document = render_asyncapi(registry)
        channel = document["channels"]["deadLetters"]
        assert channel["address"] == "ansinh.dlq.{consumerGroup}"
        assert "consumerGroup" in channel["parameters"]
        dlq_headers = document["components"]["schemas"]["DeadLetterHeaders"]
        assert set(dlq_headers["required"]) == {
            "dlq_error",
            "dlq_error_type",
            "dlq_original_topic",
            "dlq_original_partition",
            "dlq_original_offset",
            "dlq_consumer_group",
            "dlq_attempts",
        }


class TestDiscovery:
    def test_imports_each_service_events_module_and_skips_services_without_one(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        package = f"fake_services_{uuid.uuid4().hex[:8]}"
        root = tmp_path / package
        (root / "alpha").mkdir(parents=True)
        (root / "beta").mkdir()
        for init in (root, root / "alpha", root / "beta"):
            (init / "__init__.py").write_text("", encoding="utf-8")
        (root / "alpha" / "events.py").write_text(
            "from shared.events import EventPayload, domain_event\n\n\n"
            "@domain_event('audit', 'test_discovered')\n"
            "class Discovered(EventPayload):\n"
            "    '''Found by discovery.'''\n\n"
            "    count: int\n",
            encoding="utf-8",
        )
        monkeypatch.syspath_prepend(str(tmp_path))
        try:
            found = discover_registry(package)
        finally:
            REGISTRY.pop(f"{PREFIX}test_discovered.v1", None)
            for name in [m for m in sys.modules if m.startswith(package)]:
                del sys.modules[name]
        assert found[f"{PREFIX}test_discovered.v1"].__name__ == "Discovered"


class TestCommandLine:
    def test_check_fails_until_generate_has_run(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["check", "--root", str(tmp_path)]) == 1
        assert "contracts/asyncapi.yaml is missing: run make contracts" in capsys.readouterr().err
        assert main(["generate", "--root", str(tmp_path)]) == 0
        assert main(["check", "--root", str(tmp_path)]) == 0
        assert "history check skipped" in capsys.readouterr().err
