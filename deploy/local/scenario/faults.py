"""The deliberate faults of the scenario: the manifest listing them, and the rogue publisher.

**Manifest** — ``<data_dir>/scenario-faults.json``, rewritten as each fault is planted::

    {"scenario": {"seed": 2019, "households": 300, "year": 2019, "as_of": "2020-06-30"},
     "faults": [{"kind": "...", "commune_code": "...", "subject_ids": [...], ...}, ...]}

One entry per kind (:data:`FAULT_KINDS`). ``subject_ids`` are the ids an audit finding about
the fault names (the review, the person and the duplicate card, the late cards, the
household and its assessment); the other members say what exactly was done. Nothing else
in the scenario breaks a rule, so the audit's findings should be exactly these.

**Rogue recognitions** (faults a and b) — the households API refuses to recognise a list
without an approved village meeting or before its posting period ended, and it must keep
refusing. The faults are therefore planted the way such a recognition reaches the platform
in practice: a legacy or rogue system (say, a POSASoft synchronisation job holding
credentials for the households topic) publishes a well-formed ``review_recognised``
CloudEvent straight to ``ansinh.households.v1`` with a plain aiokafka producer. The event
is valid against the published contract and carries ``ce_source`` ``/ansinh/households``,
so only its content gives it away; a transport header ``ansinh-origin:
legacy-posasoft-sync`` (not part of the event, so not in the ledger leaf) helps a human
tracing it. The households service's own review stays unrecognised and no household is
reclassified by it; the audit ledger, the housing service (recognised reviews) and anyone
reading the topic see the recognition. Its ce_id is derived from the seed and the review,
so a re-run publishes the same event and every consumer's inbox drops the repeat. The
embedded broker forgets it on restart and no outbox holds it: the audit's ledger keeps it.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from services.households.events import ReviewRecognised
from shared.events import new_event

MANIFEST_FILE = "scenario-faults.json"
RECOGNITION_WITHOUT_MEETING = "recognition_without_meeting"
RECOGNITION_BEFORE_POSTING_ENDED = "recognition_before_posting_ended"
DUPLICATE_CARD = "duplicate_card"
LATE_CARDS = "late_cards"
MISCLASSIFIED_POOR = "misclassified_poor"
FAULT_KINDS = (
    RECOGNITION_WITHOUT_MEETING,
    RECOGNITION_BEFORE_POSTING_ENDED,
    DUPLICATE_CARD,
    LATE_CARDS,
    MISCLASSIFIED_POOR,
)
ROGUE_CLIENT_ID = "legacy-posasoft-sync"


class FaultManifest:
    """The faults planted so far, kept in ``<data_dir>/scenario-faults.json``."""

    def __init__(self, path: Path, scenario: dict[str, Any]) -> None:
        self.path = path
        self.scenario = scenario
        self.faults: dict[str, dict[str, Any]] = {}
        if path.exists():
            document = json.loads(path.read_text(encoding="utf-8"))
            self.faults = {fault["kind"]: fault for fault in document.get("faults", [])}

    @classmethod
    def in_dir(cls, data_dir: Path, scenario: dict[str, Any]) -> FaultManifest:
        return cls(data_dir / MANIFEST_FILE, scenario)

    def planted(self, kind: str) -> dict[str, Any] | None:
        return self.faults.get(kind)

    def record(self, kind: str, commune_code: str, subject_ids: list[str], **details: Any) -> None:
        """Add (or replace) the entry of ``kind`` and write the file."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind}")
        self.faults[kind] = {
            "kind": kind,
            "commune_code": commune_code,
            "subject_ids": subject_ids,
            **details,
        }
        self.save()

    def save(self) -> None:
        ordered = [self.faults[k] for k in FAULT_KINDS if k in self.faults]
        document = {"scenario": self.scenario, "faults": ordered}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(
            json.dumps(document, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )
        temporary.replace(self.path)


def rogue_event_id(seed: int, kind: str, review_id: str) -> str:
    """The same id for the same fault of the same run: consumers drop a re-published one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ansinh-scenario:{seed}:{kind}:{review_id}"))


async def publish_rogue_recognition(
    bootstrap: str, recognition: ReviewRecognised, event_id: str
) -> None:
    """Publish ``recognition`` to the households topic as a legacy system would."""
    event = new_event(recognition, subject=recognition.review_id, event_id=event_id)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, client_id=ROGUE_CLIENT_ID, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            event.topic,
            event.value_bytes(),
            key=recognition.review_id.encode(),
            headers=[*event.kafka_headers(), ("ansinh-origin", ROGUE_CLIENT_ID.encode())],
        )
    finally:
        await producer.stop()


def recognition_payload(
    review: dict[str, Any],
    recognised_on: date,
    *,
    meeting_id: str | None,
    posted_on: date | None,
    posting_ends_on: date | None,
) -> ReviewRecognised:
    """The event a recognition of ``review`` (``GET /reviews/{id}``) on ``recognised_on``
    would carry, with the class counts of its surveyed households."""
    classes = [h["assessed_class"] for h in review["households"]]
    return ReviewRecognised(
        review_id=review["review_id"],
        commune_code=review["commune_code"],
        village=review["village"],
        year=review["year"],
        recognised_on=recognised_on,
        meeting_id=meeting_id,
        posted_on=posted_on,
        posting_ends_on=posting_ends_on,
        households_reviewed=len(classes),
        poor=classes.count("poor"),
        near_poor=classes.count("near_poor"),
        escaped=0,
    )
