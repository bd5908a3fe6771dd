"""Every consumer's own model of an event accepts everything the producer's contract allows.

Services never import each other: each declares the fields it reads (tolerant reader).
This test is what keeps those declarations honest against contracts/events/*.json.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re

import pytest

import services
from shared.contracts import breaking_changes
from shared.service import ServiceDefinition
from tests.support import REPO_ROOT

# Omitting a producer's property is what a tolerant reader does; it is not a break.
_IGNORED = re.compile(r"property '[^']+' removed$")


def subscriptions() -> list[tuple[str, str, type]]:
    found = []
    for module in pkgutil.iter_modules(services.__path__):
        try:
            app = importlib.import_module(f"services.{module.name}.app")
        except ModuleNotFoundError:
            continue
        definition: ServiceDefinition = app.DEFINITION
        for spec in definition.consumers:
            for on in spec.handlers:
                if on.ce_type != "*":
                    found.append((f"{definition.name}.{spec.name}", on.ce_type, on.model))
    return found


SUBSCRIPTIONS = subscriptions()


def test_there_are_subscriptions_to_check() -> None:
    assert any(ce_type.endswith("household_reclassified.v1") for _, ce_type, _ in SUBSCRIPTIONS)


@pytest.mark.parametrize(
    ("group", "ce_type", "model"), SUBSCRIPTIONS, ids=[f"{g}:{t}" for g, t, _ in SUBSCRIPTIONS]
)
def test_consumer_model_accepts_the_published_contract(
    group: str, ce_type: str, model: type
) -> None:
    contract_file = REPO_ROOT / "contracts" / "events" / f"{ce_type}.json"
    assert contract_file.exists(), f"{group} consumes {ce_type}, which no service publishes"
    published = json.loads(contract_file.read_text())
    consumer = model.model_json_schema()  # type: ignore[attr-defined]
    problems = [p for p in breaking_changes(published, consumer) if not _IGNORED.search(p)]
    assert problems == [], f"{group} would reject valid {ce_type} events: {problems}"
