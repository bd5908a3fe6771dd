"""The class of survey inputs under a poverty standard, as the HTTP boundary needs it: the
domain's errors become a 422 naming the input at fault. Used by recording a survey and by
the what-if endpoint alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from services.households.domain import (
    Classification,
    UnknownIndicator,
    UnknownStandard,
    classify,
    standard_by_code,
    standard_for,
)
from shared.problems import RuleViolation


def classification(
    standard_code: str | None, on_date: date, area: str, income: int, deprived: Sequence[str]
) -> Classification:
    """The class under ``standard_code`` (default: the standard in force on ``on_date``);
    a 422 naming the input at fault when the standard or an indicator is not known."""
    try:
        standard = standard_by_code(standard_code) if standard_code else standard_for(on_date)
    except UnknownStandard as exc:
        raise RuleViolation(str(exc), field="body.standard_code") from exc
    except ValueError as exc:
        raise RuleViolation(str(exc), field="body.assessed_on") from exc
    if not standard.in_force(on_date):
        raise RuleViolation(
            f"standard {standard.code} is not in force on {on_date}", field="body.standard_code"
        )
    try:
        return classify(standard, area, income, list(deprived), on=on_date)
    except UnknownIndicator as exc:
        raise RuleViolation(str(exc), field="body.deprived_indicators") from exc
