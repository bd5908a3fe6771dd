"""The review process's write path: each command opens its transaction, authorises, applies
the review rules, changes rows and appends its events to the outbox."""

from __future__ import annotations

from services.households.review.commands.applications import (
    decide_application,
    receive_application,
    register_escape,
)
from services.households.review.commands.complaints import file_complaint, resolve_complaint
from services.households.review.commands.recognition import recognise
from services.households.review.commands.reviews import (
    add_review_households,
    hold_meeting,
    open_review,
    post_results,
)

__all__ = [
    "add_review_households",
    "decide_application",
    "file_complaint",
    "hold_meeting",
    "open_review",
    "post_results",
    "receive_application",
    "recognise",
    "register_escape",
    "resolve_complaint",
]
