"""Which schema changes break an existing event version, in a file and across git history."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import Field, create_model

from shared.contracts import breaking_changes, check_history
from shared.events import EventPayload


class Tier(StrEnum):
    POOR = "poor"
    NEAR_POOR = "near_poor"


class TierWithoutNearPoor(StrEnum):
    POOR = "poor"


class TierWithMiddleIncome(StrEnum):
    POOR = "poor"
    NEAR_POOR = "near_poor"
    MIDDLE_INCOME = "middle_income"


class Member(EventPayload):
    person_id: uuid.UUID
    age: int = Field(ge=0, le=130)


class MemberWithoutAge(EventPayload):
    person_id: uuid.UUID


class MemberOfAnyAge(EventPayload):
    person_id: uuid.UUID
    age: int


PUBLISHED: dict[str, Any] = {
    "household_id": (uuid.UUID, ...),
    "tier": (Tier, ...),
    "basis": (Literal["periodic_review", "complaint", "voluntary_escape"], ...),
    "standard": (Literal["2022-2025"], ...),
    "reviewed_on": (date, ...),
    "score": (int, ...),
    "note": (str, Field(default="", max_length=200)),
    "members": (list[Member], ...),
}


def schema_of(**changes: Any) -> dict[str, Any]:
    """JSON Schema of the published model with fields replaced, added or (None) removed."""
    fields = {**PUBLISHED, **changes}
    model = create_model(
        "HouseholdReviewed",
        __base__=EventPayload,
        **{name: spec for name, spec in fields.items() if spec is not None},
    )
    return model.model_json_schema()


BREAKING = [
    pytest.param({"note": None}, "data: property 'note' removed", id="property removed"),
    pytest.param(
        {"commune_code": (str, ...)},
        "data: required property 'commune_code' added",
        id="required property added",
    ),
    pytest.param(
        {"note": (str, Field(max_length=200))},
        "data: property 'note' became required",
        id="optional property made required",
    ),
    pytest.param(
        {"score": (str, ...)},
        "data.score: type changed from integer to string",
        id="type changed",
    ),
    pytest.param(
        {"score": (int | None, ...)},
        "data.score: type changed from integer to integer | null",
        id="made nullable",
    ),
    pytest.param(
        {"reviewed_on": (datetime, ...)},
        "data.reviewed_on: format changed from date to date-time",
        id="format changed",
    ),
    pytest.param(
        {"tier": (TierWithoutNearPoor, ...)},
        "data.tier: enum value 'near_poor' removed",
        id="enum value removed ($defs)",
    ),
    pytest.param(
        {"basis": (Literal["periodic_review", "complaint"], ...)},
        "data.basis: enum value 'voluntary_escape' removed",
        id="literal value removed",
    ),
    pytest.param(
        {"standard": (Literal["2026-2030"], ...)},
        "data.standard: const changed from '2022-2025' to '2026-2030'",
        id="const changed",
    ),
    pytest.param(
        {"note": (str, Field(default="", max_length=100))},
        "data.note: maxLength tightened from 200 to 100",
        id="constraint tightened",
    ),
    pytest.param(
        {"members": (list[MemberWithoutAge], ...)},
        "data.members[]: property 'age' removed",
        id="nested property removed",
    ),
]

ALLOWED = [
    pytest.param({"pinned": (bool, False)}, id="optional property added"),
    pytest.param({"score": (int, 0)}, id="required property made optional"),
    pytest.param({"tier": (TierWithMiddleIncome, ...)}, id="enum value added"),
    pytest.param(
        {"basis": (Literal["periodic_review", "complaint", "voluntary_escape", "other"], ...)},
        id="literal value added",
    ),
    pytest.param({"note": (str, Field(default="", max_length=500))}, id="constraint relaxed"),
    pytest.param({"members": (list[MemberOfAnyAge], ...)}, id="nested constraints removed"),
    pytest.param(
        {"score": (int, Field(description="Points under the 2022-2025 standard"))},
        id="description added",
    ),
]


class TestBreakingChanges:
    @pytest.mark.parametrize(("changes", "expected"), BREAKING)
    def test_breaking_change_is_reported(self, changes: dict[str, Any], expected: str) -> None:
        assert breaking_changes(schema_of(), schema_of(**changes)) == [expected]

    @pytest.mark.parametrize("changes", ALLOWED)
    def test_compatible_change_is_allowed(self, changes: dict[str, Any]) -> None:
        assert breaking_changes(schema_of(), schema_of(**changes)) == []

    def test_unchanged_schema_is_compatible(self) -> None:
        assert breaking_changes(schema_of(), schema_of()) == []

    def test_each_of_several_changes_is_reported(self) -> None:
        changed = schema_of(note=None, score=(str, ...))
        assert breaking_changes(schema_of(), changed) == [
            "data: property 'note' removed",
            "data.score: type changed from integer to string",
        ]

    def test_tightening_a_string_is_reported(self) -> None:
        old = {"type": "object", "properties": {"code": {"type": "string"}}}
        new = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[0-9]+$"}}}
        assert breaking_changes(old, new) == ["data.code: pattern changed from None to ^[0-9]+$"]
        assert breaking_changes(new, old) == []

    def test_forbidding_additional_properties_is_reported(self) -> None:
        old = {"type": "object", "properties": {"a": {"type": "string"}}}
        new = {**old, "additionalProperties": False}
        assert breaking_changes(old, new) == ["data: additional properties no longer allowed"]

    def test_removing_a_union_variant_is_reported_and_adding_one_is_not(self) -> None:
        def union_of(*variants: str) -> dict[str, Any]:
            defs = {
                "Card": {
                    "type": "object",
                    "properties": {"card_id": {"type": "string"}},
                    "required": ["card_id"],
                    "additionalProperties": False,
                },
                "Loan": {
                    "type": "object",
                    "properties": {"loan_id": {"type": "string"}},
                    "required": ["loan_id"],
                    "additionalProperties": False,
                },
                "Job": {
                    "type": "object",
                    "properties": {"job_id": {"type": "string"}},
                    "required": ["job_id"],
                    "additionalProperties": False,
                },
            }
            return {
                "$defs": defs,
                "type": "object",
                "properties": {"support": {"anyOf": [{"$ref": f"#/$defs/{v}"} for v in variants]}},
            }

        assert breaking_changes(union_of("Card", "Loan"), union_of("Card", "Loan", "Job")) == []
        assert breaking_changes(union_of("Card", "Loan"), union_of("Card")) != []

    def test_recursive_models_are_compared_without_looping(self) -> None:
        class Node(EventPayload):
            unit_code: str
            children: list[Node] = Field(default_factory=list)

        class NodeWithoutChildren(EventPayload):
            unit_code: str

        schema = Node.model_json_schema()
        assert breaking_changes(schema, schema) == []
        shrunk = NodeWithoutChildren.model_json_schema()
        assert breaking_changes(schema, shrunk) == ["data: property 'children' removed"]


EVENT_TYPE = "vn.ansinh.households.household_reviewed.v1"


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        [
            "git",
            "-c",
            "user.name=An Sinh",
            "-c",
            "user.email=ci@ansinh.invalid",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    return tmp_path


def publish(repo: Path, schema: dict[str, Any], ce_type: str = EVENT_TYPE) -> Path:
    """Write a schema file as `make contracts` would, with the $id of its type."""
    path = repo / "contracts" / "events" / f"{ce_type}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**schema, "$id": f"https://contracts.ansinh.vn/events/{ce_type}.json"}
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")[:12]


class TestHistory:
    def test_a_committed_breaking_change_is_reported_with_its_commit(self, repo: Path) -> None:
        publish(repo, schema_of())
        first = commit(repo, "publish v1")
        publish(repo, schema_of(note=None))
        second = commit(repo, "drop note")
        assert check_history(repo) == [
            f"contracts/events/{EVENT_TYPE}.json: breaking change in commit {second} "
            f"(since commit {first}): data: property 'note' removed"
        ]

    def test_compatible_commits_are_not_reported(self, repo: Path) -> None:
        publish(repo, schema_of())
        commit(repo, "publish v1")
        publish(repo, schema_of(pinned=(bool, False)))
        commit(repo, "add optional pinned")
        publish(repo, schema_of(pinned=(bool, False), tier=(TierWithMiddleIncome, ...)))
        commit(repo, "add a tier")
        assert check_history(repo) == []

    def test_an_uncommitted_breaking_change_is_reported(self, repo: Path) -> None:
        publish(repo, schema_of())
        first = commit(repo, "publish v1")
        publish(repo, schema_of(score=(str, ...)))
        assert check_history(repo) == [
            f"contracts/events/{EVENT_TYPE}.json: breaking change in the working copy "
            f"(since commit {first}): data.score: type changed from integer to string"
        ]

    def test_a_new_version_may_break_the_old_one(self, repo: Path) -> None:
        publish(repo, schema_of())
        commit(repo, "publish v1")
        publish(repo, schema_of(note=None), ce_type=EVENT_TYPE.replace(".v1", ".v2"))
        commit(repo, "publish v2 without note")
        assert check_history(repo) == []

    def test_replacing_v1_by_v2_in_one_commit_is_not_a_breaking_change(self, repo: Path) -> None:
        old = publish(repo, schema_of())
        commit(repo, "publish v1")
        old.unlink()
        # Nearly the same content: git --follow sees a rename into the v2 file.
        publish(repo, schema_of(score=(str, ...)), EVENT_TYPE.replace(".v1", ".v2"))
        commit(repo, "replace v1 by v2")
        assert check_history(repo) == []

    def test_outside_a_git_checkout_the_check_is_skipped_with_a_message(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        publish(tmp_path, schema_of())
        assert check_history(tmp_path) == []
        assert "history check skipped" in capsys.readouterr().err
