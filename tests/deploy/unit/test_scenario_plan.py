"""The 2019 scenario's plan keeps the rules it must keep (only the planted faults break any)."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from deploy.local.district.data import COMMUNES
from deploy.local.scenario.plan import (
    FAULTS,
    LATE_CARD_DAYS,
    ON_TIME_CARD_DAYS,
    PLAN_PLACEMENTS,
    PLAN_RURAL_TRAINEES,
    YEAR,
    card_delay_days,
    commune_targets,
    delivered,
    meeting_turnout,
    social_insurance_number,
    village_calendar,
)
from deploy.local.scenario.review import OVERRIDE_REASON, SURVEY_COLUMNS, survey_file
from services.households.commands.assessment_import import (
    CSV_COLUMNS,
    REQUIRED_COLUMNS,
    AssessmentRow,
)
from services.households.review.domain import ReviewPolicy, meeting_outcome, posting_period_end
from shared.bulk import SourceFormat, read_records

VILLAGES = [(c.code, v) for c in COMMUNES for v in c.villages]


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 10_000))
def test_every_village_is_recognised_in_the_periodic_window_after_its_posting(seed: int) -> None:
    policy = ReviewPolicy()
    for commune, village in VILLAGES:
        calendar = village_calendar(seed, commune, village)
        assert date(YEAR, 9, 1) <= calendar.opened_on
        last_survey = calendar.assessed_on(date(YEAR, 11, 30))
        assert calendar.opened_on < calendar.assessed_on(date(YEAR, 9, 1)) <= last_survey
        assert last_survey < calendar.meeting_on < calendar.posted_on
        ends_on = posting_period_end(policy, calendar.posted_on)
        complaints_answered = calendar.posted_on + timedelta(days=5)
        for resolved in (None, complaints_answered):
            recognised = calendar.recognition_on(ends_on, resolved)
            assert ends_on < recognised
            assert date(YEAR, 11, 1) <= recognised <= date(YEAR, 12, 14)


@settings(deadline=None)
@given(households=st.integers(1, 5_000), seed=st.integers(0, 1_000))
def test_every_meeting_has_quorum_and_majority(households: int, seed: int) -> None:
    turnout = meeting_turnout(seed, f"village-{seed}", households)

    outcome = meeting_outcome(ReviewPolicy(), *turnout)

    assert outcome.approved, outcome.reasons
    assert turnout.invited == households


def test_targets_add_up_to_the_district_plan_and_rural_training_stays_rural() -> None:
    placements = commune_targets(PLAN_PLACEMENTS)
    trainees = commune_targets(PLAN_RURAL_TRAINEES, rural_only=True)

    assert sum(placements.values()) == PLAN_PLACEMENTS
    assert set(placements) == {c.code for c in COMMUNES}
    assert sum(trainees.values()) == PLAN_RURAL_TRAINEES
    assert set(trainees) == {c.code for c in COMMUNES if not c.township}
    assert all(target <= delivered(target) <= target * 1.05 + 1 for target in placements.values())


def test_only_the_late_commune_gets_its_cards_after_the_service_standard() -> None:
    for commune in COMMUNES:
        for n in range(50):
            delay = card_delay_days(2019, f"person-{n}", commune.code)
            low, high = LATE_CARD_DAYS if commune.code == FAULTS.late_cards else ON_TIME_CARD_DAYS
            assert low <= delay <= high
    assert ON_TIME_CARD_DAYS[1] < 30 < LATE_CARD_DAYS[0]


def test_social_insurance_numbers_are_ten_digits_and_never_repeat() -> None:
    taken: set[str] = set()
    numbers = [social_insurance_number(2019, f"person-{n}", taken) for n in range(5_000)]

    assert len(set(numbers)) == len(numbers) == len(taken)
    assert all(len(n) == 10 and n.isdigit() for n in numbers)
    assert social_insurance_number(2019, "person-1", set()) == numbers[1]


def test_each_fault_has_a_commune_of_its_own() -> None:
    codes = list(vars(FAULTS).values())

    assert len(set(codes)) == 5
    assert set(codes) <= {c.code for c in COMMUNES}


def test_a_village_survey_file_reads_back_as_the_surveys_through_the_import() -> None:
    review_id = str(uuid.uuid4())
    plain = {
        "household_id": str(uuid.uuid4()),
        "review_id": review_id,
        "assessed_on": "2019-10-02",
        "standard_code": "QD-59-2015",
        "income_per_person_month": 650_000,
        "deprived_indicators": ["water", "latrine"],
    }
    overridden = plain | {
        "household_id": str(uuid.uuid4()),
        "deprived_indicators": [],
        "recorded_class": "poor",
        "override_reason": OVERRIDE_REASON,
    }
    assert set(SURVEY_COLUMNS) <= set(CSV_COLUMNS)

    records = list(
        read_records(
            io.BytesIO(survey_file([plain, overridden])),
            SourceFormat.CSV,
            columns=REQUIRED_COLUMNS,
            optional=CSV_COLUMNS,
        )
    )

    rows = [AssessmentRow.model_validate(r.data) for r in records]
    assert [r.model_dump(exclude_none=True, mode="json") for r in rows] == [plain, overridden]
