"""Who counts as an ethnic minority. Pure: standard library only."""

from __future__ import annotations

#: Ethnic groups counted as minorities (everyone but the Kinh majority).
MAJORITY_ETHNICITY = "kinh"


def is_ethnic_minority(ethnicity: str) -> bool:
    """True unless ``ethnicity`` names the Kinh majority (case and spaces ignored)."""
    return ethnicity.strip().lower() != MAJORITY_ETHNICITY
