"""Input types every API validates at the edge, the same way in every service."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

#: ASCII digits only: a bare \\d would also accept the digits of other scripts.
COMMUNE_CODE_PATTERN = r"^[0-9]{5}$"
CommuneCode = Annotated[str, StringConstraints(pattern=COMMUNE_CODE_PATTERN)]
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
#: An opaque id (UUID text): garbage in a path, query or body is a 422, never a 404 or 500.
ResourceId = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
#: A recorded day, bounded so that deadlines computed from it stay within the calendar.
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2100, 12, 31))]


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields refused, text stripped, no NUL characters."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_nul_characters(cls, value: object) -> object:
        # PostgreSQL text cannot hold U+0000: the insert would fail after validation (a 500).
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("text must not contain NUL (U+0000) characters")
        return value
