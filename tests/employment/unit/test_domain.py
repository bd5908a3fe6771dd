"""Unit tests of the employment rules: priority, courses, graduates, placements and targets."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.employment.commands.admin_units import DEFAULT_FILE, read_units_file
from services.employment.domain.admin_units import communes_of
from services.employment.domain.dates import add_months
from services.employment.domain.errors import RuleBroken
from services.employment.domain.placements import (
    PlacementKind,
    PlacementPeriod,
    check_placement,
    period_key,
)
from services.employment.domain.targets import (
    Measure,
    PlacementFact,
    TargetFigures,
    TraineeFact,
    counted_placements,
    counted_trainees,
    target_progress,
)
from services.employment.domain.training import CourseLevel, check_course, graduate_outcome
from services.employment.domain.workers import class_on, priority_flags

YEAR, MONTH = PlacementPeriod.CALENDAR_YEAR, PlacementPeriod.CALENDAR_MONTH
days = st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31))


def placement(
    worker: str, on: date, pid: str = "", household_class: str = "not_poor"
) -> PlacementFact:
    return PlacementFact(pid or f"{worker}-{on}", worker, on, household_class)


def trainee(
    worker: str,
    on: date,
    *,
    dropped: date | None = None,
    rural: bool = True,
    household_class: str = "not_poor",
) -> TraineeFact:
    return TraineeFact(f"{worker}-{on}", worker, on, dropped, rural, household_class)


class TestPriorityFlags:
    @pytest.mark.parametrize(
        ("household_class", "poor", "near_poor"),
        [
            ("poor", True, False),
            ("near_poor", False, True),
            ("not_poor", False, False),
            ("middle_income", False, False),
            ("unclassified", False, False),
        ],
    )
    def test_household_class_decides_the_poverty_flags(
        self, household_class: str, poor: bool, near_poor: bool
    ) -> None:
        flags = priority_flags(household_class, "urban", ethnic_minority=False)
        assert (flags.poor_household, flags.near_poor_household) == (poor, near_poor)
        assert flags.priority is (poor or near_poor)

    def test_rural_area_and_ethnic_minority_each_make_a_priority_worker(self) -> None:
        assert priority_flags("not_poor", "rural", False).rural_worker
        assert priority_flags("not_poor", "rural", False).priority
        assert priority_flags("not_poor", "urban", True).priority
        assert not priority_flags("not_poor", None, False).priority


class TestClassOn:
    def test_the_last_change_effective_on_or_before_the_day_applies(self) -> None:
        history = [(date(2019, 1, 15), "poor"), (date(2019, 12, 1), "near_poor")]
        assert class_on(history, date(2019, 1, 14)) == "unclassified"
        assert class_on(history, date(2019, 1, 15)) == "poor"
        assert class_on(history, date(2019, 11, 30)) == "poor"
        assert class_on(history, date(2020, 6, 1)) == "near_poor"

    def test_a_late_correction_with_an_older_date_does_not_override_a_newer_change(self) -> None:
        history = [(date(2019, 12, 1), "not_poor"), (date(2019, 3, 1), "poor")]
        assert class_on(history, date(2019, 6, 1)) == "poor"
        assert class_on(history, date(2020, 1, 1)) == "not_poor"

    def test_of_two_changes_effective_the_same_day_the_later_recorded_wins(self) -> None:
        history = [(date(2019, 3, 1), "poor"), (date(2019, 3, 1), "near_poor")]
        assert class_on(history, date(2019, 3, 1)) == "near_poor"


class TestDates:
    @pytest.mark.parametrize(
        ("day", "months", "expected"),
        [
            (date(2019, 1, 31), 1, date(2019, 2, 28)),
            (date(2020, 1, 31), 1, date(2020, 2, 29)),
            (date(2019, 11, 15), 3, date(2020, 2, 15)),
            (date(2019, 3, 31), -1, date(2019, 2, 28)),
        ],
    )
    def test_add_months_keeps_the_day_or_takes_the_months_last(
        self, day: date, months: int, expected: date
    ) -> None:
        assert add_months(day, months) == expected

    @given(days, st.integers(min_value=0, max_value=60))
    def test_add_months_moves_by_whole_months(self, day: date, months: int) -> None:
        moved = add_months(day, months)
        assert (moved.year - day.year) * 12 + moved.month - day.month == months
        assert moved.day == day.day or (moved.day < day.day and (moved + timedelta(1)).day == 1)

    def test_period_key(self) -> None:
        assert period_key(date(2019, 3, 9), YEAR) == "2019"
        assert period_key(date(2019, 3, 9), MONTH) == "2019-03"


class TestCourses:
    def test_an_elementary_course_lasts_under_three_months(self) -> None:
        check_course(CourseLevel.ELEMENTARY, date(2019, 3, 1), date(2019, 5, 31))
        with pytest.raises(RuleBroken) as broken:
            check_course(CourseLevel.ELEMENTARY, date(2019, 3, 1), date(2019, 6, 1))
        assert broken.value.field == "body.ends_on"

    def test_other_courses_may_be_longer_but_never_end_before_they_start(self) -> None:
        check_course(CourseLevel.OTHER, date(2019, 3, 1), date(2020, 3, 1))
        with pytest.raises(RuleBroken):
            check_course(CourseLevel.OTHER, date(2019, 3, 1), date(2019, 2, 28))


class TestGraduateOutcome:
    completed = date(2019, 5, 31)

    def test_a_job_within_the_window_counts_and_one_before_completion_does_not(self) -> None:
        as_of = date(2020, 1, 1)
        assert graduate_outcome(self.completed, [date(2019, 11, 30)], 6, as_of) == "placed"
        assert graduate_outcome(self.completed, [date(2019, 12, 1)], 6, as_of) == "not_placed"
        assert graduate_outcome(self.completed, [date(2019, 5, 30)], 6, as_of) == "not_placed"

    def test_pending_while_the_window_is_open(self) -> None:
        assert graduate_outcome(self.completed, [], 6, date(2019, 7, 1)) == "pending"
        # A job recorded for a later day is not known on the day asked about.
        assert graduate_outcome(self.completed, [date(2019, 8, 1)], 6, date(2019, 7, 1)) == (
            "pending"
        )
        assert graduate_outcome(self.completed, [], 6, date(2019, 11, 30)) == "not_placed"


class TestCountedPlacements:
    def test_a_worker_placed_twice_in_the_year_counts_once_by_the_first_job(self) -> None:
        facts = [
            placement("w1", date(2019, 9, 1)),
            placement("w1", date(2019, 3, 1)),
            placement("w2", date(2019, 3, 1)),
        ]
        counted = counted_placements(facts, YEAR, 2019, date(2019, 12, 31))
        assert [(p.worker_id, p.placed_on) for p in counted] == [
            ("w1", date(2019, 3, 1)),
            ("w2", date(2019, 3, 1)),
        ]

    def test_with_monthly_periods_jobs_in_different_months_both_count(self) -> None:
        facts = [
            placement("w1", date(2019, 3, 1)),
            placement("w1", date(2019, 3, 20)),
            placement("w1", date(2019, 4, 2)),
        ]
        assert len(counted_placements(facts, MONTH, 2019, date(2019, 12, 31))) == 2

    def test_only_the_year_up_to_the_day_asked_about(self) -> None:
        facts = [
            placement("w1", date(2018, 12, 31)),
            placement("w2", date(2019, 6, 30)),
            placement("w3", date(2019, 7, 1)),
            placement("w4", date(2020, 1, 1)),
        ]
        assert [p.worker_id for p in counted_placements(facts, YEAR, 2019, date(2019, 6, 30))] == [
            "w2"
        ]
        assert counted_placements(facts, YEAR, 2019, date(2018, 12, 31)) == []
        assert len(counted_placements(facts, YEAR, 2019, date(2030, 1, 1))) == 2

    @given(
        st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), days), max_size=30),
        st.sampled_from(list(PlacementPeriod)),
        st.randoms(),
    )
    def test_never_more_than_one_per_worker_and_period_whatever_the_order(
        self, raw: list[tuple[str, date]], period: PlacementPeriod, rnd: random.Random
    ) -> None:
        facts = [placement(w, d, pid=str(i)) for i, (w, d) in enumerate(raw)]
        counted = counted_placements(facts, period, 2019, date(2019, 12, 31))
        keys = [(p.worker_id, period_key(p.placed_on, period)) for p in counted]
        assert len(keys) == len(set(keys))
        assert set(keys) == {
            (p.worker_id, period_key(p.placed_on, period))
            for p in facts
            if p.placed_on.year == 2019
        }
        shuffled = facts[:]
        rnd.shuffle(shuffled)
        assert counted_placements(shuffled, period, 2019, date(2019, 12, 31)) == counted


class TestCountedTrainees:
    def test_drop_outs_leave_the_count_from_the_day_they_drop(self) -> None:
        facts = [
            trainee("w1", date(2019, 3, 1), dropped=date(2019, 4, 1)),
            trainee("w2", date(2019, 3, 1)),
        ]
        assert len(counted_trainees(facts, 2019, date(2019, 3, 31))) == 2
        assert [t.worker_id for t in counted_trainees(facts, 2019, date(2019, 4, 1))] == ["w2"]

    def test_a_worker_in_two_courses_is_one_trainee(self) -> None:
        facts = [trainee("w1", date(2019, 3, 1)), trainee("w1", date(2019, 8, 1))]
        assert len(counted_trainees(facts, 2019, date(2019, 12, 31))) == 1


class TestTargetProgress:
    def test_progress_against_the_plan_with_the_priority_share(self) -> None:
        as_of = date(2019, 6, 30)
        placements = (
            [placement(f"p{i}", date(2019, 2, 1), household_class="poor") for i in range(30)]
            + [placement(f"n{i}", date(2019, 3, 1), household_class="near_poor") for i in range(10)]
            + [placement(f"x{i}", date(2019, 4, 1)) for i in range(60)]
            + [placement("p0", date(2019, 5, 1), household_class="poor")]  # a repeat
            + [placement("late", date(2019, 7, 1))]  # after as_of
        )
        trainees = (
            [trainee(f"r{i}", date(2019, 3, 1), household_class="poor") for i in range(10)]
            + [trainee(f"q{i}", date(2019, 3, 1), household_class="near_poor") for i in range(15)]
            + [trainee(f"o{i}", date(2019, 3, 1)) for i in range(25)]
            + [trainee(f"u{i}", date(2019, 3, 1), rural=False) for i in range(10)]
        )
        progress = target_progress(
            TargetFigures(placements=4000, trainees=None, rural_trainees=200),
            year=2019,
            as_of=as_of,
            placements=placements,
            trainees=trainees,
            period=YEAR,
        )
        assert progress.placements == Measure(target=4000, achieved=100, poor=30, near_poor=10)
        assert progress.placements.percent_of_target == 2.5
        assert progress.placements.poor_and_near_poor_share_percent == 40.0
        assert progress.rural_trainees == Measure(target=200, achieved=50, poor=10, near_poor=15)
        assert progress.rural_trainees.percent_of_target == 25.0
        assert progress.rural_trainees.poor_and_near_poor_share_percent == 50.0
        assert progress.trainees.achieved == 60
        assert progress.trainees.percent_of_target is None

    def test_nothing_achieved_has_no_share(self) -> None:
        measure = Measure(target=200, achieved=0, poor=0, near_poor=0)
        assert measure.percent_of_target == 0.0
        assert measure.poor_and_near_poor_share_percent is None


class TestPlacementRules:
    def test_labour_export_needs_a_destination_and_only_it_has_one(self) -> None:
        check_placement(PlacementKind.LABOUR_EXPORT, None, "JP")
        with pytest.raises(RuleBroken) as broken:
            check_placement(PlacementKind.LABOUR_EXPORT, "Công ty X", None)
        assert broken.value.field == "body.destination_country"
        with pytest.raises(RuleBroken):
            check_placement(PlacementKind.DOMESTIC_EMPLOYER, "Công ty X", "JP")

    def test_an_employer_is_named_except_for_self_employment(self) -> None:
        check_placement(PlacementKind.SELF_EMPLOYMENT, None, None)
        with pytest.raises(RuleBroken) as broken:
            check_placement(PlacementKind.PUBLIC_WORKS, None, None)
        assert broken.value.field == "body.employer"


UNITS = tuple(unit for unit, _note in read_units_file(DEFAULT_FILE))


class TestAdministrativeUnits:
    units = UNITS

    def test_tinh_bien_district_covers_its_fourteen_units_in_2019(self) -> None:
        communes = communes_of(self.units, "890", date(2019, 1, 1), date(2019, 12, 31))
        assert len(communes) == 14

    def test_the_district_tier_is_gone_after_june_2025(self) -> None:
        assert len(communes_of(self.units, "890", date(2025, 1, 1), date(2025, 12, 31))) == 14
        assert communes_of(self.units, "890", date(2026, 1, 1), date(2026, 12, 31)) == frozenset()

    def test_a_commune_covers_itself_and_the_province_its_districts_communes(self) -> None:
        assert communes_of(self.units, "30511", date(2019, 1, 1), date(2019, 12, 31)) == {"30511"}
        assert len(communes_of(self.units, "89", date(2019, 1, 1), date(2019, 12, 31))) == 14
        assert communes_of(self.units, "99999", date(2019, 1, 1), date(2019, 12, 31)) == frozenset()
