"""Unit tests of the insurance rules: groups, policies by date, dates of cover, card numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.insurance.cards.domain import (
    CardNumber,
    CardStatus,
    add_months,
    assert_card_transition,
    card_number_for,
    card_valid_to,
    issue_due_on,
    parse_card_number,
    waiting_since,
)
from services.insurance.domain.entitlements import (
    EntitlementView,
    best_entitlement,
    household_entitlement_end,
    is_current,
    is_under_six,
    local_date,
    sixth_birthday,
)
from services.insurance.domain.policies import (
    OBJECT_CODES,
    BeneficiaryGroup,
    InsuranceRuleViolation,
    LocalRules,
    NoPolicyInForce,
    policy_for,
    subsidy_percent,
)

G = BeneficiaryGroup
RULES = LocalRules()
COMMUNE = "30511"
POOR_COMMUNE = "30526"
LAST_146, FIRST_188 = date(2025, 8, 14), date(2025, 8, 15)


class TestPolicyByDate:
    @pytest.mark.parametrize(
        ("on", "code"),
        [
            (date(2018, 12, 1), "ND-146-2018"),
            (date(2022, 6, 30), "ND-146-2018"),
            (LAST_146, "ND-146-2018"),
            (FIRST_188, "ND-188-2025"),
            (date(2031, 1, 1), "ND-188-2025"),
        ],
    )
    def test_the_decree_in_force_on_the_day_applies(self, on: date, code: str) -> None:
        assert policy_for(on).code == code

    def test_before_decree_146_no_policy_is_in_force(self) -> None:
        with pytest.raises(NoPolicyInForce):
            policy_for(date(2018, 11, 30))

    @given(st.dates(min_value=date(2018, 12, 1), max_value=date(2100, 1, 1)))
    def test_exactly_one_policy_covers_each_day_from_decree_146(self, on: date) -> None:
        from services.insurance.domain.policies import POLICIES

        assert sum(1 for p in POLICIES if p.in_force(on)) == 1


class TestSubsidyPerGroup:
    @pytest.mark.parametrize("on", [date(2019, 3, 1), LAST_146, FIRST_188, date(2026, 1, 1)])
    @pytest.mark.parametrize(
        "group",
        [
            G.POOR_HOUSEHOLD,
            G.CHILD_UNDER_6,
            G.SOCIAL_PROTECTION_ALLOWANCE,
            G.ETHNIC_MINORITY_DISADVANTAGED_AREA,
            G.MERITORIOUS_SERVICE,
        ],
    )
    def test_state_pays_all_of_the_premium(self, group: BeneficiaryGroup, on: date) -> None:
        assert subsidy_percent(group, COMMUNE, on, RULES)[1] == 100

    @pytest.mark.parametrize("on", [LAST_146, FIRST_188])
    def test_near_poor_get_the_national_minimum_of_70(self, on: date) -> None:
        policy, percent = subsidy_percent(G.NEAR_POOR_HOUSEHOLD, COMMUNE, on, RULES)
        assert percent == 70
        assert policy.code == policy_for(on).code

    def test_near_poor_in_a_designated_poor_commune_get_100(self) -> None:
        rules = LocalRules(poor_communes=frozenset({POOR_COMMUNE}))
        assert subsidy_percent(G.NEAR_POOR_HOUSEHOLD, POOR_COMMUNE, FIRST_188, rules)[1] == 100
        assert subsidy_percent(G.NEAR_POOR_HOUSEHOLD, COMMUNE, FIRST_188, rules)[1] == 70

    def test_a_locality_may_pay_near_poor_more_but_never_less_than_the_minimum(self) -> None:
        more, less = LocalRules(near_poor_percent=85), LocalRules(near_poor_percent=50)
        assert subsidy_percent(G.NEAR_POOR_HOUSEHOLD, COMMUNE, FIRST_188, more)[1] == 85
        assert subsidy_percent(G.NEAR_POOR_HOUSEHOLD, COMMUNE, FIRST_188, less)[1] == 70

    def test_no_share_before_decree_146(self) -> None:
        with pytest.raises(NoPolicyInForce):
            subsidy_percent(G.POOR_HOUSEHOLD, COMMUNE, date(2018, 1, 1), RULES)

    @pytest.mark.parametrize(
        ("group", "code", "level"),
        [
            (G.POOR_HOUSEHOLD, "HN", 2),
            (G.NEAR_POOR_HOUSEHOLD, "CN", 3),
            (G.CHILD_UNDER_6, "TE", 1),
            (G.SOCIAL_PROTECTION_ALLOWANCE, "BT", 2),
            (G.ETHNIC_MINORITY_DISADVANTAGED_AREA, "DT", 2),
            (G.MERITORIOUS_SERVICE, "CC", 1),
        ],
    )
    def test_each_group_has_its_vss_object_code(
        self, group: BeneficiaryGroup, code: str, level: int
    ) -> None:
        for on in (LAST_146, FIRST_188):
            terms = policy_for(on).terms[group]
            assert (terms.object_code, terms.benefit_level) == (code, level)


class TestChildrenUnderSix:
    def test_entitled_up_to_the_day_before_the_sixth_birthday(self) -> None:
        born = date(2020, 5, 17)
        assert sixth_birthday(born) == date(2026, 5, 17)
        assert is_under_six(born, date(2026, 5, 16))
        assert not is_under_six(born, date(2026, 5, 17))
        assert is_under_six(born, born)

    def test_a_leap_day_child_turns_six_on_1_march(self) -> None:
        assert sixth_birthday(date(2020, 2, 29)) == date(2026, 3, 1)
        assert sixth_birthday(date(2016, 2, 29)) == date(2022, 3, 1)

    def test_leap_day_in_a_leap_sixth_year_stays(self) -> None:
        assert sixth_birthday(date(2018, 2, 28)) == date(2024, 2, 28)

    @given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
    def test_sixth_birthday_is_about_six_years_later(self, born: date) -> None:
        turns = sixth_birthday(born)
        assert turns.year == born.year + 6
        assert 2190 <= (turns - born).days <= 2193


class TestLeavingAHouseholdClass:
    effective = date(2025, 12, 15)

    @pytest.mark.parametrize("to_class", ["not_poor", "middle_income", "unclassified"])
    def test_leaving_poverty_ends_cover_after_the_grace(self, to_class: str) -> None:
        for grace in (0, 30, 90):
            rules = LocalRules(household_exit_grace_days=grace)
            end = household_entitlement_end("poor", to_class, self.effective, rules)
            assert end == self.effective + timedelta(days=grace)

    def test_poor_to_near_poor_keeps_full_cover_for_the_grace(self) -> None:
        rules = LocalRules(household_exit_grace_days=30)
        end = household_entitlement_end("poor", "near_poor", self.effective, rules)
        assert end == date(2026, 1, 14)

    def test_near_poor_to_poor_hands_over_on_the_effective_date(self) -> None:
        rules = LocalRules(household_exit_grace_days=30)
        assert household_entitlement_end("near_poor", "poor", self.effective, rules) == (
            self.effective
        )

    def test_a_class_without_entitlement_has_nothing_to_end(self) -> None:
        with pytest.raises(InsuranceRuleViolation):
            household_entitlement_end("not_poor", "poor", self.effective, RULES)

    def test_current_means_from_start_until_before_the_end(self) -> None:
        start, end = date(2025, 1, 1), date(2025, 2, 1)
        assert is_current(start, end, start)
        assert is_current(start, end, date(2025, 1, 31))
        assert not is_current(start, end, end)
        assert not is_current(start, end, date(2024, 12, 31))
        assert is_current(start, None, date(2099, 1, 1))


def view(group: BeneficiaryGroup, percent: int, ends_on: date | None = None) -> EntitlementView:
    return EntitlementView(group, percent, date(2025, 9, 1), ends_on, entitlement_id=group.value)


class TestBestEntitlement:
    on = date(2025, 10, 1)

    def test_a_child_of_a_poor_household_gets_the_children_card(self) -> None:
        best = best_entitlement([view(G.POOR_HOUSEHOLD, 100), view(G.CHILD_UNDER_6, 100)], self.on)
        assert best is not None and best.group is G.CHILD_UNDER_6

    def test_full_subsidy_wins_over_near_poor(self) -> None:
        views = [view(G.NEAR_POOR_HOUSEHOLD, 70), view(G.SOCIAL_PROTECTION_ALLOWANCE, 100)]
        best = best_entitlement(views, self.on)
        assert best is not None and best.group is G.SOCIAL_PROTECTION_ALLOWANCE

    def test_ended_entitlements_do_not_count(self) -> None:
        views = [view(G.POOR_HOUSEHOLD, 100, ends_on=self.on), view(G.NEAR_POOR_HOUSEHOLD, 70)]
        best = best_entitlement(views, self.on)
        assert best is not None and best.group is G.NEAR_POOR_HOUSEHOLD
        assert best_entitlement([views[0]], self.on) is None


class TestCardValidity:
    def test_a_card_is_valid_for_the_configured_months(self) -> None:
        assert card_valid_to(date(2025, 10, 1), [view(G.POOR_HOUSEHOLD, 100)], RULES) == date(
            2026, 9, 30
        )
        six = LocalRules(card_validity_months=6)
        assert card_valid_to(date(2025, 10, 1), [view(G.POOR_HOUSEHOLD, 100)], six) == date(
            2026, 3, 31
        )

    def test_a_childs_card_ends_the_day_before_the_sixth_birthday(self) -> None:
        child = view(G.CHILD_UNDER_6, 100, ends_on=date(2026, 2, 10))
        assert card_valid_to(date(2025, 10, 1), [child], RULES) == date(2026, 2, 9)

    def test_a_poor_childs_te_card_also_ends_before_the_sixth_birthday(self) -> None:
        child = view(G.CHILD_UNDER_6, 100, ends_on=date(2026, 2, 10))
        poor = view(G.POOR_HOUSEHOLD, 100)
        assert card_valid_to(date(2025, 10, 1), [child, poor], RULES) == date(2026, 2, 9)
        # From the birthday on, the household's entitlement gives a full-length HN card.
        assert card_valid_to(date(2026, 2, 10), [child, poor], RULES) == date(2027, 2, 9)

    def test_no_card_without_a_current_entitlement(self) -> None:
        with pytest.raises(InsuranceRuleViolation):
            card_valid_to(date(2025, 1, 1), [view(G.POOR_HOUSEHOLD, 100)], RULES)

    def test_month_arithmetic_clamps_to_the_month_end(self) -> None:
        assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
        assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
        assert add_months(date(2025, 11, 30), 14) == date(2027, 1, 30)


class TestCardNumber:
    def test_the_number_is_object_code_level_province_and_si_number(self) -> None:
        number = card_number_for(G.POOR_HOUSEHOLD, FIRST_188, "8912345678", RULES)
        assert str(number) == "HN2898912345678"
        assert len(str(number)) == 15

    def test_a_child_gets_te1(self) -> None:
        number = card_number_for(G.CHILD_UNDER_6, FIRST_188, "0000000001", RULES)
        assert str(number).startswith("TE189")

    @given(
        st.sampled_from(sorted(OBJECT_CODES)),
        st.integers(1, 5),
        st.from_regex(r"\d{2}", fullmatch=True),
        st.from_regex(r"\d{10}", fullmatch=True),
    )
    def test_parsing_gives_back_the_parts(
        self, code: str, level: int, province: str, si: str
    ) -> None:
        text = f"{code}{level}{province}{si}"
        assert parse_card_number(text) == CardNumber(code, level, province, si)
        assert str(parse_card_number(text)) == text

    @pytest.mark.parametrize(
        "text",
        [
            "HN289123456789",  # 14 characters
            "HN28912345678901",  # 16
            "XX2891234567890",  # not a state-paid group
            "HN0891234567890",  # benefit level 0
            "HN6891234567890",  # benefit level 6
            "HN28912345A7890",  # a letter in the SI number
            "hn2891234567890",  # lower case
        ],
    )
    def test_malformed_numbers_are_refused(self, text: str) -> None:
        with pytest.raises(InsuranceRuleViolation):
            parse_card_number(text)

    def test_an_si_number_has_ten_digits(self) -> None:
        with pytest.raises(InsuranceRuleViolation):
            card_number_for(G.POOR_HOUSEHOLD, FIRST_188, "123", RULES)


class TestCardTransitions:
    @pytest.mark.parametrize("target", [CardStatus.RENEWED, CardStatus.EXPIRED, CardStatus.REVOKED])
    def test_an_active_card_can_end_three_ways(self, target: CardStatus) -> None:
        assert_card_transition("active", target)

    def test_a_duplicate_can_only_be_revoked(self) -> None:
        assert_card_transition("duplicate", CardStatus.REVOKED)
        with pytest.raises(InsuranceRuleViolation):
            assert_card_transition("duplicate", CardStatus.RENEWED)

    @pytest.mark.parametrize("ended", ["renewed", "expired", "revoked"])
    def test_an_ended_card_stays_ended(self, ended: str) -> None:
        for target in CardStatus:
            with pytest.raises(InsuranceRuleViolation):
                assert_card_transition(ended, target)


class TestServiceStandard:
    def test_due_after_the_configured_days(self) -> None:
        assert issue_due_on(date(2025, 10, 1), LocalRules(service_standard_days=15)) == date(
            2025, 10, 16
        )

    def test_the_wait_restarts_when_a_card_ended(self) -> None:
        assert waiting_since(date(2025, 1, 1), []) == date(2025, 1, 1)
        assert waiting_since(date(2025, 1, 1), [date(2025, 6, 1), date(2024, 1, 1)]) == date(
            2025, 6, 1
        )


class TestLocalRules:
    @pytest.mark.parametrize(
        "bad",
        [
            {"near_poor_percent": 101},
            {"household_exit_grace_days": -1},
            {"card_validity_months": 0},
            {"province_code": "089"},
        ],
    )
    def test_impossible_settings_are_refused(self, bad: dict[str, object]) -> None:
        with pytest.raises(ValueError):
            LocalRules(**bad)  # type: ignore[arg-type]

    def test_the_day_is_counted_in_vietnam(self) -> None:
        assert local_date(datetime(2025, 12, 31, 17, 30, tzinfo=UTC)) == date(2026, 1, 1)
        assert local_date(datetime(2025, 12, 31, 16, 59, tzinfo=UTC)) == date(2025, 12, 31)
