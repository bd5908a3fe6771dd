"""Poor-list membership: which class the commune list gave a household on a given day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ClassEntry:
    """A recognised class change of a household, in the order it was received (``seq``)."""

    seq: int
    to_class: str
    effective_date: date
    review_id: str | None


def listed_class_on(
    entries: Sequence[ClassEntry], recognitions: Mapping[str, date], on: date
) -> str | None:
    """The household's class on the commune list on ``on``; None if it was never classified.

    A change made in a periodic review counts only once the commune chair recognised that
    review (``recognitions``: review id → recognition date), and from the later of its
    effective date and the recognition; other changes count from their effective date.
    """
    best: tuple[date, int, str] | None = None
    for entry in entries:
        counts_from = entry.effective_date
        if entry.review_id is not None:
            recognised_on = recognitions.get(entry.review_id)
            if recognised_on is None:
                continue
            counts_from = max(counts_from, recognised_on)
        if counts_from <= on and (best is None or (counts_from, entry.seq) > best[:2]):
            best = (counts_from, entry.seq, entry.to_class)
    return best[2] if best else None
