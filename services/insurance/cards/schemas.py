"""Bodies of the partner exchange with the social insurance agency (VSS): a confirmation
row as the agency sends it, and what an import reports."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.insurance.cards.domain import parse_card_number
from shared.bulk import ImportReport


class MismatchOut(BaseModel):
    line: int
    kind: str
    detail: str
    citizen_pseudonym: str | None
    person_id: str | None
    card_number: str | None
    card_id: str | None


class ConfirmationRow(BaseModel):
    """One card the agency confirms having issued."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    citizen_pseudonym: str = Field(min_length=1, max_length=80)
    person_id: str | None = Field(None, max_length=36)
    card_number: str
    valid_from: date
    valid_to: date
    issued_on: date | None = None

    @field_validator("card_number")
    @classmethod
    def _vss_format(cls, value: str) -> str:
        return str(parse_card_number(value))  # ValueError subclass: reported for the field

    @model_validator(mode="after")
    def _validity_in_order(self) -> ConfirmationRow:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class ConfirmationReport(ImportReport):
    import_id: str | None = None
    cards_recorded: int = 0
    mismatch_count: int = 0
    mismatches: list[MismatchOut] = Field(default_factory=list)


class ImportSummaryOut(BaseModel):
    import_id: str
    format: str
    submitted_by: str
    rows_read: int
    cards_recorded: int
    already_confirmed: int
    mismatch_count: int
    mismatches: list[MismatchOut]
