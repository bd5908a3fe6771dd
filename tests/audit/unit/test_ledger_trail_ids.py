"""Under which ids the ledger's trail index finds an event (services.audit.domain)."""

from __future__ import annotations

from services.audit import domain


def test_trail_ids_are_the_subject_and_the_ids_the_data_names() -> None:
    data = {
        "household_id": "h",
        "person_id": "p",
        "card_id": "c",
        "commune_code": "30337",
        "application_id": "",
        "worker_id": None,
        "review_id": "r",
    }
    assert domain.trail_ids("s", data) == {"s", "h", "p", "c"}
