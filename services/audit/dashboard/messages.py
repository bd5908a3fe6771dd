"""Every string the inspector dashboard shows, in Vietnamese and English.

Keys are ``area.name``; ``{name}`` placeholders are filled by the caller. Both languages
must have the same keys (tests/audit/unit/test_dashboard_messages.py checks it, and that every
key a template uses exists).
"""

from __future__ import annotations

from services.audit.dashboard.messages_en import EN
from services.audit.dashboard.messages_vi import VI

MESSAGES: dict[str, dict[str, str]] = {"vi": VI, "en": EN}
