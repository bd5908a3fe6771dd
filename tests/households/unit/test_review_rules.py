"""Unit tests of the households review rules: working days, meetings, posting, recognition."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.households.domain import PovertyClass
from services.households.review.domain import (
    ReviewPolicy,
    ReviewRuleViolation,
    ReviewStage,
    application_decision_due,
    assert_transition,
    can_register_escape,
    fall_into_poverty_due,
    in_periodic_window,
    meeting_outcome,
    next_stage_after_meeting,
    posting_period_end,
    recognition_blockers,
)
from shared.workdays import add_working_days, working_days_between

POLICY = ReviewPolicy()
# 2024-09-02 (Mon) is Vietnam's National Day; 2024-09-03 (Tue) was also a day off that year.
NATIONAL_DAY = {date(2024, 9, 2), date(2024, 9, 3)}
MON, FRI, SAT = date(2024, 10, 7), date(2024, 10, 11), date(2024, 10, 12)


class TestWorkingDays:
    @pytest.mark.parametrize(
        ("start", "n", "expected"),
        [
            (MON, 0, MON),
            (MON, 1, date(2024, 10, 8)),
            (MON, 4, FRI),
            (FRI, 1, date(2024, 10, 14)),  # skips Saturday and Sunday
            (SAT, 1, date(2024, 10, 14)),
            (SAT, 0, SAT),
            (MON, 5, date(2024, 10, 14)),
            (MON, 10, date(2024, 10, 21)),
        ],
    )
    def test_add_skips_weekends(self, start: date, n: int, expected: date) -> None:
        assert add_working_days(start, n) == expected

    def test_add_skips_holidays(self) -> None:
        # Fri 30 Aug + 1 → Wed 4 Sep: weekend, then the two National Day holidays.
        assert add_working_days(date(2024, 8, 30), 1, NATIONAL_DAY) == date(2024, 9, 4)
        assert add_working_days(date(2024, 8, 30), 1) == date(2024, 9, 2)

    def test_negative_count_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="-1"):
            add_working_days(MON, -1)

    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [
            (MON, MON, 0),
            (MON, FRI, 4),
            (FRI, date(2024, 10, 14), 1),
            (FRI, SAT, 0),
            (FRI, MON, -4),
            (date(2024, 8, 30), date(2024, 9, 4), 1),
        ],
    )
    def test_between(self, a: date, b: date, expected: int) -> None:
        assert working_days_between(a, b, NATIONAL_DAY) == expected


@given(
    start=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    n=st.integers(0, 60),
    holidays=st.sets(st.dates(date(2020, 1, 1), date(2031, 6, 30)), max_size=20),
)
def test_between_is_the_inverse_of_add(start: date, n: int, holidays: set[date]) -> None:
    end = add_working_days(start, n, holidays)
    assert working_days_between(start, end, holidays) == n
    assert n == 0 or (end.weekday() < 5 and end not in holidays)


class TestPolicy:
    def test_defaults(self) -> None:
        assert POLICY.agreement_threshold == Fraction(1, 2)
        assert POLICY.quorum_share == 0.5
        assert POLICY.posting_working_days == 3
        assert POLICY.complaint_working_days == 3
        assert (POLICY.periodic_window_start, POLICY.periodic_window_end) == ((9, 1), (12, 14))
        assert POLICY.application_decision_days == 15
        assert POLICY.fall_into_poverty_working_days == 7

    def test_complaint_window_follows_posting_unless_set(self) -> None:
        assert ReviewPolicy(posting_working_days=5).complaint_working_days == 5
        assert ReviewPolicy(complaint_window_working_days=10).complaint_working_days == 10

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"agreement_threshold": 1.5}, "agreement_threshold"),
            ({"quorum_share": -0.1}, "quorum_share"),
            ({"posting_working_days": -1}, "posting_working_days"),
            ({"complaint_window_working_days": -1}, "complaint_window_working_days"),
        ],
    )
    def test_impossible_policy_is_rejected(self, kwargs: dict[str, object], field: str) -> None:
        with pytest.raises(ValueError, match=field):
            ReviewPolicy(**kwargs)  # type: ignore[arg-type]

    def test_impossible_window_date_is_rejected(self) -> None:
        with pytest.raises(ValueError):
            ReviewPolicy(periodic_window_end=(12, 32))


class TestMeeting:
    @pytest.mark.parametrize(
        ("invited", "attendees", "agreeing", "quorum", "approved"),
        [
            (40, 20, 10, True, True),  # exactly 50% attend, exactly 50% agree
            (40, 20, 9, True, False),
            (40, 19, 19, False, False),  # unanimous but no quorum
            (40, 40, 21, True, True),
            (3, 3, 2, True, True),
            (40, 0, 0, False, False),
        ],
    )
    def test_outcome(
        self, invited: int, attendees: int, agreeing: int, quorum: bool, approved: bool
    ) -> None:
        outcome = meeting_outcome(POLICY, invited, attendees, agreeing)
        assert outcome.quorum_met is quorum
        assert outcome.approved is approved
        if attendees:
            assert outcome.agreement_share == Fraction(agreeing, attendees)

    def test_reasons_state_attendance_and_agreement(self) -> None:
        outcome = meeting_outcome(POLICY, 40, 20, 9)
        assert outcome.reasons == (
            "20 of 40 invited households attended (50%); quorum 50% met",
            "9 of 20 attendees agreed (45%); threshold 50% not reached",
        )

    def test_float_thresholds_compare_exactly(self) -> None:
        policy = ReviewPolicy(agreement_threshold=0.6, quorum_share=0.6)
        assert meeting_outcome(policy, 5, 3, 3).quorum_met  # 3/5 is exactly 0.6
        assert meeting_outcome(policy, 10, 10, 6).approved

    def test_zero_quorum_still_needs_agreeing_attendees(self) -> None:
        policy = ReviewPolicy(quorum_share=0)
        assert not meeting_outcome(policy, 10, 0, 0).approved

    @pytest.mark.parametrize(
        ("invited", "attendees", "agreeing", "field"),
        [
            (10, 5, 6, "agreeing"),
            (10, 11, 5, "attendees"),
            (-1, 0, 0, "invited_households"),
            (10, -1, 0, "attendees"),
            (10, 5, -1, "agreeing"),
            (0, 0, 0, "invited_households"),
        ],
    )
    def test_impossible_numbers_name_the_field(
        self, invited: int, attendees: int, agreeing: int, field: str
    ) -> None:
        with pytest.raises(ValueError, match=f"^{field}"):
            meeting_outcome(POLICY, invited, attendees, agreeing)

    def test_next_stage(self) -> None:
        approved = meeting_outcome(POLICY, 10, 10, 10)
        rejected = meeting_outcome(POLICY, 10, 10, 4)
        assert next_stage_after_meeting(approved) is ReviewStage.MEETING_APPROVED
        assert next_stage_after_meeting(rejected) is ReviewStage.SURVEYING


class TestPostingAndRecognition:
    @pytest.mark.parametrize(
        ("posted_on", "end"),
        [
            (MON, date(2024, 10, 9)),  # Mon, Tue, Wed
            (FRI, date(2024, 10, 15)),  # Fri, Mon, Tue
            (SAT, date(2024, 10, 16)),  # Mon, Tue, Wed
            (date(2024, 8, 30), date(2024, 9, 5)),  # Fri, (holidays), Wed, Thu
        ],
    )
    def test_posting_period_end(self, posted_on: date, end: date) -> None:
        assert posting_period_end(POLICY, posted_on, NATIONAL_DAY) == end

    def test_longer_complaint_window_extends_the_period(self) -> None:
        policy = ReviewPolicy(complaint_window_working_days=5)
        assert posting_period_end(policy, MON) == FRI

    def test_all_clear_allows_recognition_the_day_after_the_period(self) -> None:
        blockers = recognition_blockers(
            POLICY, meeting_approved=True, posted_on=MON, recognise_on=date(2024, 10, 10),
            open_complaints=0,
        )  # fmt: skip
        assert blockers == []

    def test_recognising_on_the_last_posting_day_is_blocked(self) -> None:
        blockers = recognition_blockers(
            POLICY, meeting_approved=True, posted_on=MON, recognise_on=date(2024, 10, 9),
            open_complaints=0,
        )  # fmt: skip
        assert blockers == ["posting period not ended until 2024-10-09: recognise from 2024-10-10"]

    def test_every_blocker_is_reported(self) -> None:
        blockers = recognition_blockers(
            POLICY, meeting_approved=None, posted_on=None, recognise_on=MON, open_complaints=2
        )
        assert blockers == [
            "no village meeting recorded",
            "list not posted",
            "2 complaint(s) unresolved",
        ]

    def test_rejected_meeting_blocks(self) -> None:
        blockers = recognition_blockers(
            POLICY, meeting_approved=False, posted_on=MON, recognise_on=date(2024, 11, 1),
            open_complaints=0,
        )  # fmt: skip
        assert blockers == ["no approved village meeting: the meeting rejected the list"]

    def test_holidays_push_recognition_back(self) -> None:
        blockers = recognition_blockers(
            POLICY, meeting_approved=True, posted_on=date(2024, 8, 30),
            recognise_on=date(2024, 9, 5), open_complaints=0, holidays=NATIONAL_DAY,
        )  # fmt: skip
        assert len(blockers) == 1 and "2024-09-05" in blockers[0]

    def test_negative_complaints_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="open_complaints"):
            recognition_blockers(
                POLICY, meeting_approved=True, posted_on=MON, recognise_on=FRI, open_complaints=-1
            )


class TestDeadlinesAndWindow:
    @pytest.mark.parametrize(
        ("on", "inside"),
        [
            (date(2024, 8, 31), False),
            (date(2024, 9, 1), True),
            (date(2024, 12, 14), True),
            (date(2024, 12, 15), False),
            (date(2025, 3, 1), False),
        ],
    )
    def test_periodic_window(self, on: date, inside: bool) -> None:
        assert in_periodic_window(POLICY, on) is inside

    def test_window_spanning_new_year(self) -> None:
        policy = ReviewPolicy(periodic_window_start=(11, 1), periodic_window_end=(1, 31))
        assert in_periodic_window(policy, date(2024, 12, 31))
        assert in_periodic_window(policy, date(2025, 1, 31))
        assert not in_periodic_window(policy, date(2025, 2, 1))

    def test_application_decision_due_in_calendar_days(self) -> None:
        assert application_decision_due(POLICY, date(2024, 12, 20)) == date(2025, 1, 4)

    def test_fall_into_poverty_due_in_working_days(self) -> None:
        # Fri 30 Aug + 7 working days, skipping the weekend and National Day holidays.
        assert fall_into_poverty_due(POLICY, date(2024, 8, 30), NATIONAL_DAY) == date(2024, 9, 12)
        assert fall_into_poverty_due(POLICY, MON) == date(2024, 10, 16)


S = ReviewStage


class TestReviewStages:
    @pytest.mark.parametrize(
        ("current", "target"),
        [
            (S.LISTING, S.SURVEYING),
            (S.SURVEYING, S.MEETING_APPROVED),
            (S.SURVEYING, S.SURVEYING),
            (S.MEETING_APPROVED, S.POSTED),
            (S.POSTED, S.RECOGNISED),
            (S.POSTED, S.SURVEYING),
        ],
    )
    def test_legal_transitions(self, current: ReviewStage, target: ReviewStage) -> None:
        assert_transition(current, target)

    @pytest.mark.parametrize(
        ("current", "target", "why"),
        [
            (S.SURVEYING, S.POSTED, "approved by a village meeting before posting"),
            (S.LISTING, S.POSTED, "approved by a village meeting before posting"),
            (S.MEETING_APPROVED, S.RECOGNISED, "publicly posted before recognition"),
            (S.SURVEYING, S.RECOGNISED, "publicly posted before recognition"),
            (S.LISTING, S.MEETING_APPROVED, "only approve a surveyed list"),
            (S.RECOGNISED, S.SURVEYING, "already recognised"),
            (S.POSTED, S.LISTING, "cannot return"),
        ],
    )
    def test_illegal_transitions(self, current: ReviewStage, target: ReviewStage, why: str) -> None:
        with pytest.raises(ReviewRuleViolation, match=why):
            assert_transition(current, target)

    @pytest.mark.parametrize(
        ("current", "allowed"),
        [(PovertyClass.POOR, True), (PovertyClass.NEAR_POOR, True),
         (PovertyClass.MIDDLE_INCOME, False), (PovertyClass.NOT_POOR, False)],
    )  # fmt: skip
    def test_only_poor_and_near_poor_may_register_escape(
        self, current: PovertyClass, allowed: bool
    ) -> None:
        assert can_register_escape(current) is allowed
