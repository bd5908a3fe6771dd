"""Unit tests of housing eligibility, priority groups, list membership, posting and quota."""

from __future__ import annotations

from datetime import date

import pytest

from services.housing.domain import (
    ClassEntry,
    EligibilityFacts,
    EligibilityRule,
    HouseCondition,
    ListPolicy,
    PriorityFlags,
    PriorityGroup,
    RankedApplication,
    UnknownPolicy,
    approval_blocker,
    assess_eligibility,
    listed_class_on,
    policy_by_code,
    policy_for,
    posting_period_end,
    priority_group,
    rank_applications,
    split_by_quota,
)

QD33 = policy_by_code("QD33-2015")
TT01 = policy_by_code("TT01-2022")
APPLIED = date(2019, 6, 3)


def facts(**overrides: object) -> EligibilityFacts:
    """An applicant that passes every rule of Decision 33/2015 unless overridden."""
    values: dict[str, object] = {
        "applied_on": APPLIED,
        "listed_class": "poor",
        "independent_since_year": 2010,
        "house_condition": HouseCondition.DILAPIDATED,
    }
    values.update(overrides)
    return EligibilityFacts(**values)  # type: ignore[arg-type]


def failed(policy_facts: EligibilityFacts, policy: object = QD33) -> set[EligibilityRule]:
    return {f.rule for f in assess_eligibility(policy, policy_facts)}  # type: ignore[arg-type]


class TestProgrammePolicies:
    def test_decision_33_applies_in_the_2019_plan_year(self) -> None:
        assert policy_for(date(2019, 1, 1)).code == "QD33-2015"
        assert QD33.eligible_classes == {"poor"}
        assert (QD33.max_loan, QD33.annual_rate_bp, QD33.term_years, QD33.grace_years) == (
            25_000_000,
            300,
            15,
            5,
        )

    def test_circular_01_2022_succeeds_it_and_adds_near_poor(self) -> None:
        assert policy_for(date(2021, 12, 31)).code == "QD33-2015"
        assert policy_for(date(2022, 1, 1)).code == "TT01-2022"
        assert TT01.eligible_classes == {"poor", "near_poor"}
        assert TT01.crowded_below_m2_per_person == 8

    def test_no_programme_outside_the_validity_ranges(self) -> None:
        with pytest.raises(UnknownPolicy, match="2026-01-01"):
            policy_for(date(2026, 1, 1))
        with pytest.raises(UnknownPolicy, match="QD99"):
            policy_by_code("QD99")

    def test_terms_copy_the_policy(self) -> None:
        terms = QD33.terms(20_000_000)
        assert terms.principal == 20_000_000
        assert terms.overdue_rate_bp == 390  # 130% of 3%


class TestEligibility:
    def test_a_listed_poor_household_in_a_dilapidated_house_is_eligible(self) -> None:
        assert assess_eligibility(QD33, facts()) == ()

    @pytest.mark.parametrize("listed", [None, "near_poor", "not_poor", "unclassified"])
    def test_not_on_the_poor_list_under_decision_33(self, listed: str | None) -> None:
        assert failed(facts(listed_class=listed)) == {EligibilityRule.ON_POOR_LIST}

    def test_near_poor_households_qualify_under_circular_01(self) -> None:
        near_poor = facts(applied_on=date(2023, 5, 2), listed_class="near_poor")
        assert failed(near_poor, TT01) == set()
        assert failed(facts(applied_on=date(2023, 5, 2), listed_class="not_poor"), TT01) == {
            EligibilityRule.ON_POOR_LIST
        }

    @pytest.mark.parametrize(("since", "passes"), [(2014, True), (2015, False), (None, False)])
    def test_an_independent_household_for_five_years(self, since: int | None, passes: bool) -> None:
        expected = set() if passes else {EligibilityRule.INDEPENDENT_HOUSEHOLD_YEARS}
        assert failed(facts(independent_since_year=since)) == expected

    @pytest.mark.parametrize(
        ("condition", "passes"),
        [
            (HouseCondition.NONE, True),
            (HouseCondition.MAKESHIFT, True),
            (HouseCondition.DILAPIDATED, True),
            (HouseCondition.ADEQUATE, False),
        ],
    )
    def test_house_condition(self, condition: HouseCondition, passes: bool) -> None:
        expected = set() if passes else {EligibilityRule.HOUSE_CONDITION}
        assert failed(facts(house_condition=condition)) == expected

    def test_a_crowded_adequate_house_qualifies_only_under_circular_01(self) -> None:
        crowded = {
            "house_condition": HouseCondition.ADEQUATE,
            "floor_area_m2": 31.5,
            "residents": 4,
        }
        in_2023 = facts(applied_on=date(2023, 5, 2), **crowded)
        assert failed(in_2023, TT01) == set()  # 31.5 m² < 8 m² × 4
        roomy = facts(applied_on=date(2023, 5, 2), **{**crowded, "floor_area_m2": 32})
        assert failed(roomy, TT01) == {EligibilityRule.HOUSE_CONDITION}
        assert failed(facts(**crowded)) == {EligibilityRule.HOUSE_CONDITION}

    @pytest.mark.parametrize(("year", "passes"), [(2011, True), (2012, False), (2019, False)])
    def test_prior_support_must_be_eight_years_ago(self, year: int, passes: bool) -> None:
        expected = set() if passes else {EligibilityRule.NO_RECENT_SUPPORT}
        assert failed(facts(prior_support_year=year)) == expected

    def test_a_house_destroyed_by_disaster_allows_repeat_support(self) -> None:
        assert failed(facts(prior_support_year=2017, house_destroyed_by_disaster=True)) == set()

    def test_every_failed_rule_is_named_with_a_reason(self) -> None:
        failures = assess_eligibility(
            QD33,
            facts(
                listed_class=None,
                independent_since_year=2017,
                house_condition=HouseCondition.ADEQUATE,
                prior_support_year=2015,
            ),
        )
        assert [f.rule for f in failures] == list(EligibilityRule)
        assert "listed class: none" in failures[0].reason
        assert "2 years; 5 required" in failures[1].reason
        assert "supported in 2015, 4 years ago" in failures[3].reason


class TestPriorityGroups:
    @pytest.mark.parametrize(
        ("flag", "group"),
        [
            ("elderly_lone_or_disabled", 1),
            ("ethnic_minority", 2),
            ("disaster_prone_area", 3),
            ("extremely_difficult_village", 4),
            ("difficult_commune", 5),
            ("poor_district_30a", 6),
        ],
    )
    def test_each_criterion_gives_its_group(self, flag: str, group: int) -> None:
        assert priority_group(PriorityFlags(**{flag: True})) == group

    def test_others_are_group_seven(self) -> None:
        assert priority_group(PriorityFlags()) == PriorityGroup.OTHERS == 7

    def test_the_most_urgent_group_wins(self) -> None:
        flags = PriorityFlags(ethnic_minority=True, difficult_commune=True, poor_district_30a=True)
        assert priority_group(flags) == PriorityGroup.ETHNIC_MINORITY

    def test_ranking_by_group_then_application_date_then_id(self) -> None:
        ranked = rank_applications(
            [
                RankedApplication("c", 7, date(2019, 1, 1)),
                RankedApplication("b", 2, date(2019, 3, 1)),
                RankedApplication("a", 2, date(2019, 3, 1)),
                RankedApplication("d", 2, date(2019, 2, 1)),
                RankedApplication("e", 1, date(2019, 6, 1)),
            ]
        )
        assert [(r.application_id, r.rank) for r in ranked] == [
            ("e", 1),
            ("d", 2),
            ("a", 3),
            ("b", 4),
            ("c", 5),
        ]

    def test_the_quota_takes_the_best_ranked(self) -> None:
        ranked = rank_applications([RankedApplication(i, 7 - int(i), APPLIED) for i in "0123"])
        approved, beyond = split_by_quota(ranked, 3)
        assert [r.application_id for r in approved] == ["3", "2", "1"]
        assert [r.application_id for r in beyond] == ["0"]
        assert split_by_quota(ranked, -2) == ([], ranked)


class TestListMembership:
    def test_never_classified(self) -> None:
        assert listed_class_on([], {}, APPLIED) is None

    def test_a_regular_review_counts_from_its_effective_date(self) -> None:
        entries = [ClassEntry(1, "poor", date(2019, 3, 1), None)]
        assert listed_class_on(entries, {}, date(2019, 2, 28)) is None
        assert listed_class_on(entries, {}, date(2019, 3, 1)) == "poor"

    def test_a_periodic_review_counts_only_once_recognised(self) -> None:
        entries = [ClassEntry(1, "poor", date(2018, 11, 20), "review-1")]
        assert listed_class_on(entries, {}, APPLIED) is None
        recognised = {"review-1": date(2018, 12, 14)}
        assert listed_class_on(entries, recognised, date(2018, 12, 13)) is None
        assert listed_class_on(entries, recognised, date(2018, 12, 14)) == "poor"

    def test_the_latest_change_on_the_date_wins(self) -> None:
        entries = [
            ClassEntry(1, "poor", date(2017, 12, 1), None),
            ClassEntry(2, "not_poor", date(2019, 12, 1), None),
        ]
        assert listed_class_on(entries, {}, APPLIED) == "poor"
        assert listed_class_on(entries, {}, date(2020, 1, 1)) == "not_poor"


class TestPostingBeforeApproval:
    def test_posting_counts_working_days_from_the_posting_day(self) -> None:
        # Posted Monday 3 June 2019 for 3 working days: Mon, Tue, Wed.
        assert posting_period_end(date(2019, 6, 3), 3) == date(2019, 6, 5)
        # Posted Thursday: Thu, Fri, (weekend), Mon.
        assert posting_period_end(date(2019, 6, 6), 3) == date(2019, 6, 10)
        # Posted on a Saturday: the count starts on Monday.
        assert posting_period_end(date(2019, 6, 8), 1) == date(2019, 6, 10)

    def test_holidays_are_skipped(self) -> None:
        national_day = {date(2019, 9, 2)}
        assert posting_period_end(date(2019, 8, 30), 2, national_day) == date(2019, 9, 3)

    def test_approval_only_after_the_posting_period(self) -> None:
        ends = date(2019, 6, 5)
        blocker = approval_blocker(ends, ends)
        assert blocker is not None and "approve from 2019-06-06" in blocker
        assert approval_blocker(ends, date(2019, 6, 1)) is not None
        assert approval_blocker(ends, date(2019, 6, 6)) is None

    def test_quota_per_commune(self) -> None:
        policy = ListPolicy(yearly_quota_per_commune=10, commune_quotas={"30511": 2})
        assert policy.quota_for("30511") == 2
        assert policy.quota_for("30526") == 10
        with pytest.raises(ValueError, match="quotas"):
            ListPolicy(commune_quotas={"30511": -1})
