"""Rules of the poverty review: working-day deadlines, the village meeting, public posting,
recognition, and the stages one village's periodic review goes through.

Pure: standard library only. Durations and thresholds live in `ReviewPolicy` (data), so a
locality can configure the unconfirmed ones without touching the rules.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction

from services.households.domain.standards import PovertyClass
from shared.workdays import (
    add_working_days,
    posting_end,
)

_ONE_DAY = timedelta(days=1)


class ReviewRuleViolation(ValueError):
    """A review step attempted out of the order the rules require."""


# --- working days ---------------------------------------------------------------------------


# --- policy ---------------------------------------------------------------------------------


def _exact(share: Fraction | float) -> Fraction:
    # Fraction(str(0.6)) is exactly 3/5, whereas Fraction(0.6) carries binary rounding error.
    return share if isinstance(share, Fraction) else Fraction(str(share))


@dataclass(frozen=True)
class ReviewPolicy:
    """Thresholds and durations of the review process.

    - agreement_threshold: share of meeting attendees who must agree (≥), default 1/2.
    - quorum_share: share of invited households that must attend (≥). UNCONFIRMED default 0.5:
      no source fixes a quorum; configure it per locality.
    - posting_working_days: how long the results stay publicly posted. UNCONFIRMED default 3.
    - complaint_window_working_days: complaint window counted from the posting day; None (the
      default) means it equals the posting period.
    - periodic_window_start / _end: (month, day) of the yearly periodic review, 1 Sep – 14 Dec
      per Decision 24/2021/QĐ-TTg.
    - application_decision_days: calendar days to decide on an application (regular review).
    - fall_into_poverty_working_days: working days to handle a household that falls into
      poverty mid-year (2016 rules).
    """

    agreement_threshold: Fraction | float = Fraction(1, 2)
    quorum_share: Fraction | float = 0.5
    posting_working_days: int = 3
    complaint_window_working_days: int | None = None
    periodic_window_start: tuple[int, int] = (9, 1)
    periodic_window_end: tuple[int, int] = (12, 14)
    application_decision_days: int = 15
    fall_into_poverty_working_days: int = 7

    def __post_init__(self) -> None:
        for name in ("agreement_threshold", "quorum_share"):
            if not 0 <= _exact(getattr(self, name)) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in (
            "posting_working_days",
            "application_decision_days",
            "fall_into_poverty_working_days",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be ≥ 0")
        if (
            self.complaint_window_working_days is not None
            and self.complaint_window_working_days < 0
        ):
            raise ValueError("complaint_window_working_days must be ≥ 0")
        for name in ("periodic_window_start", "periodic_window_end"):
            month, day = getattr(self, name)
            date(2000, month, day)  # a leap year, so (2, 29) is accepted; raises if impossible

    @property
    def complaint_working_days(self) -> int:
        """The complaint window in working days (the posting period unless set)."""
        if self.complaint_window_working_days is None:
            return self.posting_working_days
        return self.complaint_window_working_days


# --- village meeting ------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingOutcome:
    """What a village meeting decided: quorum, agreement share and approval, with reasons."""

    quorum_met: bool
    attendance_share: Fraction
    agreement_share: Fraction
    approved: bool
    reasons: tuple[str, ...]


def _percent(share: Fraction) -> str:
    return f"{float(share) * 100:.4g}%"


def meeting_outcome(
    policy: ReviewPolicy, invited_households: int, attendees: int, agreeing: int
) -> MeetingOutcome:
    """Judge a village meeting; ValueError naming the field for impossible numbers."""
    for name, value in (
        ("invited_households", invited_households),
        ("attendees", attendees),
        ("agreeing", agreeing),
    ):
        if value < 0:
            raise ValueError(f"{name} must be ≥ 0, got {value}")
    if invited_households == 0:
        raise ValueError("invited_households must be > 0: a meeting needs invited households")
    if attendees > invited_households:
        raise ValueError(f"attendees ({attendees}) > invited_households ({invited_households})")
    if agreeing > attendees:
        raise ValueError(f"agreeing ({agreeing}) > attendees ({attendees})")
    quorum, threshold = _exact(policy.quorum_share), _exact(policy.agreement_threshold)
    attendance = Fraction(attendees, invited_households)
    agreement = Fraction(agreeing, attendees) if attendees else Fraction(0)
    quorum_met = attendance >= quorum
    agreed = attendees > 0 and agreement >= threshold
    reasons = (
        f"{attendees} of {invited_households} invited households attended "
        f"({_percent(attendance)}); quorum {_percent(quorum)} "
        f"{'met' if quorum_met else 'not met'}",
        f"{agreeing} of {attendees} attendees agreed ({_percent(agreement)}); "
        f"threshold {_percent(threshold)} {'reached' if agreed else 'not reached'}",
    )
    return MeetingOutcome(
        quorum_met=quorum_met,
        attendance_share=attendance,
        agreement_share=agreement,
        approved=quorum_met and agreed,
        reasons=reasons,
    )


# --- posting, recognition, deadlines --------------------------------------------------------


def posting_period_end(
    policy: ReviewPolicy, posted_on: date, holidays: Collection[date] = ()
) -> date:
    """Last day of the public posting and of the complaint window, whichever ends later.

    The posting day counts as day 1 when it is a working day; posted on a weekend or holiday,
    the count starts on the next working day.
    """
    days = max(policy.posting_working_days, policy.complaint_working_days)
    return posting_end(posted_on, days, holidays)


def recognition_blockers(
    policy: ReviewPolicy,
    *,
    meeting_approved: bool | None,
    posted_on: date | None,
    recognise_on: date,
    open_complaints: int,
    holidays: Collection[date] = (),
) -> list[str]:
    """Why the commune chair may not recognise the list on `recognise_on`; empty = allowed.

    `meeting_approved` is None when no meeting is recorded. Recognition is allowed from the
    day after `posting_period_end`.
    """
    if open_complaints < 0:
        raise ValueError(f"open_complaints must be ≥ 0, got {open_complaints}")
    blockers: list[str] = []
    if meeting_approved is None:
        blockers.append("no village meeting recorded")
    elif not meeting_approved:
        blockers.append("no approved village meeting: the meeting rejected the list")
    if posted_on is None:
        blockers.append("list not posted")
    else:
        end = posting_period_end(policy, posted_on, holidays)
        if recognise_on <= end:
            blockers.append(
                f"posting period not ended until {end.isoformat()}: "
                f"recognise from {(end + _ONE_DAY).isoformat()}"
            )
    if open_complaints:
        blockers.append(f"{open_complaints} complaint(s) unresolved")
    return blockers


def in_periodic_window(policy: ReviewPolicy, on: date) -> bool:
    """True when `on` falls in the yearly periodic-review window (both ends included)."""
    start, end, today = policy.periodic_window_start, policy.periodic_window_end, (on.month, on.day)
    if start <= end:
        return start <= today <= end
    return today >= start or today <= end  # a window that spans New Year


def application_decision_due(policy: ReviewPolicy, applied_on: date) -> date:
    """Last day for a decision or written refusal on an application (calendar days)."""
    return applied_on + timedelta(days=policy.application_decision_days)


def fall_into_poverty_due(
    policy: ReviewPolicy, reported_on: date, holidays: Collection[date] = ()
) -> date:
    """Last day to handle a household reported as fallen into poverty (working days)."""
    return add_working_days(reported_on, policy.fall_into_poverty_working_days, holidays)


# --- stages of a periodic review ------------------------------------------------------------


class ReviewStage(StrEnum):
    LISTING = "listing"
    SURVEYING = "surveying"
    MEETING_APPROVED = "meeting_approved"
    POSTED = "posted"
    RECOGNISED = "recognised"


REVIEW_TRANSITIONS: Mapping[ReviewStage, frozenset[ReviewStage]] = {
    ReviewStage.LISTING: frozenset({ReviewStage.SURVEYING}),
    # SURVEYING → SURVEYING: the meeting rejected the list, so the survey is redone.
    ReviewStage.SURVEYING: frozenset({ReviewStage.SURVEYING, ReviewStage.MEETING_APPROVED}),
    ReviewStage.MEETING_APPROVED: frozenset({ReviewStage.POSTED}),
    # POSTED → SURVEYING: an upheld complaint sends the list back through survey and meeting.
    ReviewStage.POSTED: frozenset({ReviewStage.RECOGNISED, ReviewStage.SURVEYING}),
    ReviewStage.RECOGNISED: frozenset(),
}

_WHY_NOT: Mapping[ReviewStage, str] = {
    ReviewStage.LISTING: "a review starts by listing households and cannot return to it",
    ReviewStage.SURVEYING: "surveying follows the listing, a rejected meeting or a complaint",
    ReviewStage.MEETING_APPROVED: "a village meeting can only approve a surveyed list",
    ReviewStage.POSTED: "the list must be approved by a village meeting before posting",
    ReviewStage.RECOGNISED: "the list must be publicly posted before recognition",
}


def next_stage_after_meeting(outcome: MeetingOutcome) -> ReviewStage:
    """MEETING_APPROVED when the meeting approved the list, else SURVEYING (redo the survey)."""
    return ReviewStage.MEETING_APPROVED if outcome.approved else ReviewStage.SURVEYING


def assert_transition(current: ReviewStage, target: ReviewStage) -> None:
    """Raise ReviewRuleViolation unless a review may move from `current` to `target`."""
    if target in REVIEW_TRANSITIONS[current]:
        return
    if current == ReviewStage.RECOGNISED:
        why = "the list is already recognised; start a new review"
    else:
        why = _WHY_NOT[target]
    raise ReviewRuleViolation(f"cannot move a review from {current} to {target}: {why}")


def can_register_escape(current_class: PovertyClass) -> bool:
    """Only poor and near-poor households may register voluntarily to leave poverty."""
    return current_class in (PovertyClass.POOR, PovertyClass.NEAR_POOR)


# Leaving poverty means a better class than poor or near-poor; middle-income and not-poor are
# both out of poverty, so neither counts as escaping from the other.
_POVERTY_RANK = {"poor": 0, "near_poor": 1, "middle_income": 2, "not_poor": 2}


def escapes_poverty(from_class: str, to_class: str) -> bool:
    """True when a poor or near-poor household moves to a better class."""
    return (
        from_class in ("poor", "near_poor")
        and _POVERTY_RANK.get(to_class, -1) > _POVERTY_RANK[from_class]
    )


@dataclass(frozen=True)
class ReviewConfig:
    """The review policy and the deadlines around it, as configured for this deployment."""

    policy: ReviewPolicy
    holidays: frozenset[date]
    complaint_resolution_days: int
    enforce_periodic_window: bool
