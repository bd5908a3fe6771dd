"""Pure rules of the households service: citizen IDs, ethnicity, poverty standards.

Standard library only; no I/O. The review's rules are in :mod:`services.households.review.domain`.
"""

from __future__ import annotations

from services.households.domain.citizen_ids import (
    PROVINCE_CODES,
    CitizenIdParts,
    InvalidCitizenId,
    citizen_id_province,
    parse_citizen_id,
    validate_citizen_id,
)
from services.households.domain.ethnicity import MAJORITY_ETHNICITY, is_ethnic_minority
from services.households.domain.standards import (
    STANDARDS,
    Area,
    Classification,
    ClassificationRule,
    MiddleIncomeBand,
    PovertyClass,
    PovertyStandard,
    UnknownIndicator,
    UnknownStandard,
    classify,
    standard_by_code,
    standard_for,
)

__all__ = [
    "MAJORITY_ETHNICITY",
    "PROVINCE_CODES",
    "STANDARDS",
    "Area",
    "CitizenIdParts",
    "Classification",
    "ClassificationRule",
    "InvalidCitizenId",
    "MiddleIncomeBand",
    "PovertyClass",
    "PovertyStandard",
    "UnknownIndicator",
    "UnknownStandard",
    "citizen_id_province",
    "classify",
    "is_ethnic_minority",
    "parse_citizen_id",
    "standard_by_code",
    "standard_for",
    "validate_citizen_id",
]
