"""The rules the audit re-checks, on their own: poverty standards, deadlines, card cover, stats."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.audit.monitoring.consumed_events import READ_MODELS
from services.audit.monitoring.domain.cover import (
    CardSpan,
    Cover,
    card_wait_days,
    excess_on,
    excluded_on,
    waiting_since,
)
from services.audit.monitoring.domain.poverty import (
    INDICATORS_2016,
    INDICATORS_2022,
    expected_class,
    misclassified,
    targeting_class,
)
from services.audit.monitoring.domain.standards import (
    AuditPolicy,
    application_due,
    backlog_counts,
    complaint_due,
    lag_summary,
    meeting_qualifies,
    posting_last_day,
)
from services.audit.monitoring.findings import policy_from_json, policy_json
from services.audit.monitoring.schemas import Ratio
from services.households.domain.standards import classify, standard_for
from shared.contracts import breaking_changes
from tests.support import REPO_ROOT

D2019 = date(2019, 10, 1)
D2023 = date(2023, 10, 1)
THREE_2016 = ("water_source", "hygienic_latrine", "telecom_use")
THREE_2022 = ("water", "latrine", "telecom")


class TestPovertyStandard2016:
    @pytest.mark.parametrize(
        ("area", "income", "deprived", "expected"),
        [
            ("rural", 700_000, (), "poor"),  # on the poverty line
            ("rural", 700_001, (), "near_poor"),
            ("rural", 700_001, THREE_2016, "poor"),  # between the lines, 3 deprivations
            ("rural", 1_000_000, THREE_2016[:2], "near_poor"),
            ("rural", 1_000_001, THREE_2016, "other"),  # above the near-poverty line
            ("urban", 900_000, (), "poor"),
            ("urban", 1_300_000, (), "near_poor"),
            ("urban", 1_300_001, (), "other"),
        ],
    )
    def test_income_band_rule(
        self, area: str, income: int, deprived: tuple[str, ...], expected: str
    ) -> None:
        assert expected_class(area, income, deprived, D2019) == expected

    def test_only_the_standards_own_indicators_count(self) -> None:
        assert expected_class("rural", 800_000, THREE_2022, D2019) == "near_poor"


class TestPovertyStandard2022:
    @pytest.mark.parametrize(
        ("area", "income", "deprived", "expected"),
        [
            ("rural", 1_500_000, THREE_2022, "poor"),
            ("rural", 1_500_000, THREE_2022[:2], "near_poor"),
            ("rural", 1_500_001, THREE_2022, "other"),
            ("urban", 2_000_000, (), "near_poor"),
            ("urban", 2_000_001, (), "other"),
        ],
    )
    def test_multidimensional_rule(
        self, area: str, income: int, deprived: tuple[str, ...], expected: str
    ) -> None:
        assert expected_class(area, income, deprived, D2023) == expected

    def test_decree_351_lines_from_2027(self) -> None:
        assert expected_class("rural", 2_200_000, (), date(2027, 1, 1)) == "near_poor"
        assert expected_class("rural", 2_200_001, (), date(2027, 1, 1)) == "other"
        assert expected_class("urban", 2_800_000, THREE_2022, date(2030, 12, 31)) == "poor"

    def test_no_standard_outside_2016_2030(self) -> None:
        assert expected_class("rural", 100, (), date(2015, 12, 31)) is None
        assert expected_class("rural", 100, (), date(2031, 1, 1)) is None


@given(
    on=st.dates(date(2016, 1, 1), date(2030, 12, 31)),
    area=st.sampled_from(["rural", "urban"]),
    income=st.integers(0, 4_000_000),
    picks=st.lists(st.integers(0, 11), max_size=12, unique=True),
)
def test_the_audits_copy_agrees_with_the_households_service(
    on: date, area: str, income: int, picks: list[int]
) -> None:
    """Two independent writings of docs/domain.md's standards give the same targeting class."""
    standard = standard_for(on)
    indicators = sorted(standard.indicators)
    deprived = [indicators[i] for i in picks if i < len(indicators)]
    theirs = classify(standard, area, income, deprived, on=on).poverty_class
    assert expected_class(area, income, deprived, on) == targeting_class(str(theirs))


def test_indicator_lists_have_ten_and_twelve_entries() -> None:
    assert (len(INDICATORS_2016), len(INDICATORS_2022)) == (10, 12)


def test_misclassified_compares_targeting_classes() -> None:
    assert misclassified("poor", "other")
    assert misclassified("near_poor", "poor")
    assert not misclassified("middle_income", "other")  # both "other": no benefit differs
    assert not misclassified("not_poor", "other")
    assert not misclassified("poor", None)  # no standard in force: not checkable


class TestDeadlines:
    def test_complaint_due_in_calendar_days(self) -> None:
        assert complaint_due(date(2019, 10, 10), AuditPolicy()) == date(2019, 11, 9)

    def test_application_due_by_kind(self) -> None:
        policy = AuditPolicy()
        assert application_due("reassessment", date(2019, 5, 1), policy) == date(2019, 5, 16)
        # Monday 3 June 2019 + 7 working days = Wednesday 12 June
        assert application_due("fall_into_poverty", date(2019, 6, 3), policy) == date(2019, 6, 12)
        holiday = AuditPolicy(holidays=frozenset({date(2019, 6, 5)}))
        assert application_due("fall_into_poverty", date(2019, 6, 3), holiday) == date(2019, 6, 13)

    def test_posting_counts_its_own_days_and_keeps_a_later_stated_end(self) -> None:
        monday = date(2019, 10, 7)
        assert posting_last_day(monday, 3, None, AuditPolicy()) == date(2019, 10, 9)
        assert posting_last_day(monday, 3, date(2019, 10, 11), AuditPolicy()) == date(2019, 10, 11)
        # a stated end shorter than the audit's standard does not shorten it
        assert posting_last_day(monday, 1, monday, AuditPolicy()) == date(2019, 10, 9)
        friday = date(2019, 10, 11)
        assert posting_last_day(friday, 3, None, AuditPolicy()) == date(2019, 10, 15)

    @pytest.mark.parametrize(
        ("quorum", "attendees", "agreeing", "qualifies"),
        [
            (True, 40, 20, True),
            (True, 40, 19, False),
            (False, 40, 40, False),
            (True, 0, 0, False),
            (True, 1, 1, True),
        ],
    )
    def test_meeting_needs_quorum_and_half_agreeing(
        self, quorum: bool, attendees: int, agreeing: int, qualifies: bool
    ) -> None:
        assert meeting_qualifies(quorum, attendees, agreeing) is qualifies


class TestCardCover:
    policy = AuditPolicy(card_service_standard_days=30, excess_tolerance_days=1)
    start = date(2019, 1, 15)

    def card(
        self, issued: date, closed: date | None = None, valid_to: date = date(2019, 12, 31)
    ) -> CardSpan:
        return CardSpan("c", issued, valid_to, closed)

    def test_entitled_without_card_is_excluded_only_past_the_standard(self) -> None:
        covers = [Cover(self.start, None)]
        assert not excluded_on(covers, [], self.start + timedelta(days=30), self.policy)
        assert excluded_on(covers, [], self.start + timedelta(days=31), self.policy)

    def test_an_active_card_or_no_entitlement_is_no_exclusion(self) -> None:
        on = date(2019, 6, 1)
        assert not excluded_on(
            [Cover(self.start, None)], [self.card(date(2019, 5, 1))], on, self.policy
        )
        assert not excluded_on([Cover(self.start, date(2019, 3, 1))], [], on, self.policy)

    def test_waiting_restarts_when_the_last_card_ended(self) -> None:
        covers = [Cover(self.start, None)]
        expired = self.card(date(2019, 1, 20), valid_to=date(2019, 3, 31))
        assert waiting_since(covers, [expired], date(2019, 4, 20)) == date(2019, 4, 1)
        assert not excluded_on(covers, [expired], date(2019, 5, 1), self.policy)
        assert excluded_on(covers, [expired], date(2019, 5, 2), self.policy)

    def test_excess_after_the_tolerance(self) -> None:
        covers = [Cover(self.start, date(2019, 6, 1))]
        held = self.card(date(2019, 1, 20))
        assert not excess_on(covers, held, date(2019, 5, 31), self.policy)
        assert not excess_on(covers, held, date(2019, 6, 2), self.policy)  # within 1 day
        assert excess_on(covers, held, date(2019, 6, 3), self.policy)
        revoked = self.card(date(2019, 1, 20), closed=date(2019, 6, 1))
        assert not excess_on(covers, revoked, date(2019, 6, 3), self.policy)

    def test_a_card_never_covered_is_excess_from_its_issue(self) -> None:
        held = self.card(date(2019, 3, 1))
        assert not excess_on([], held, date(2019, 3, 2), self.policy)
        assert excess_on([], held, date(2019, 3, 3), self.policy)

    def test_a_cards_wait_counts_from_the_entitlement_or_the_last_card(self) -> None:
        covers = [Cover(self.start, None)]
        first = self.card(date(2019, 2, 14), valid_to=date(2019, 3, 31))
        assert card_wait_days(covers, [], first) == 30
        again = CardSpan("again", date(2019, 6, 1), date(2020, 5, 31), None)
        assert card_wait_days(covers, [first], again) == 61  # waiting since 1 April
        assert (
            card_wait_days(
                covers, [again], CardSpan("dup", date(2019, 7, 1), date(2020, 6, 30), None)
            )
            is None
        )
        assert card_wait_days([], [], first) is None  # no entitlement: not a wait

    def test_card_activity_window(self) -> None:
        card = self.card(date(2019, 3, 1), closed=date(2019, 5, 1))
        assert [
            card.active_on(d)
            for d in (date(2019, 2, 28), date(2019, 3, 1), date(2019, 4, 30), date(2019, 5, 1))
        ] == [False, True, True, False]


class TestStatistics:
    def test_median_and_p90(self) -> None:
        assert lag_summary([]) == (None, None)
        assert lag_summary([7]) == (7.0, 7.0)
        assert lag_summary(list(range(1, 11))) == (5.5, 9.1)

    def test_backlog_buckets(self) -> None:
        assert backlog_counts([0, 7, 8, 30, 31, 90, 91, 400]) == [
            ("0-7", 0, 7, 2),
            ("8-30", 8, 30, 2),
            ("31-90", 31, 90, 2),
            (">90", 91, None, 2),
        ]

    def test_ratio_value(self) -> None:
        assert Ratio(numerator=3, denominator=36, per=1000).value == 83.333333
        assert Ratio(numerator=0, denominator=0).value is None


def test_policy_survives_storage() -> None:
    policy = AuditPolicy(
        holidays=frozenset({date(2019, 9, 2)}), clock=date(2019, 12, 31), housing_decision_days=60
    )
    assert policy_from_json(json.loads(json.dumps(policy_json(policy)))) == policy


@pytest.mark.parametrize("ce_type", sorted(READ_MODELS))
def test_view_event_models_accept_the_published_contracts(ce_type: str) -> None:
    published = json.loads((REPO_ROOT / "contracts" / "events" / f"{ce_type}.json").read_text())
    mine = READ_MODELS[ce_type].model_json_schema()
    problems = [p for p in breaking_changes(published, mine) if not p.endswith("removed")]
    assert problems == [], problems
