"""The 2019 plan of Tịnh Biên as data: sizes, the calendar of each village's review, meeting
turnouts, who gets which benefit and when, and where the deliberate faults go.

Pure and deterministic: every choice comes from a ``random.Random`` seeded with the
scenario seed and the purpose of the draw, so the same seed plays the same year whatever
ran before. The stages (``scenario_*.py``) turn these plans into API calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random
from typing import Any, NamedTuple

from deploy.local.district.data import COMMUNES, DISTRICT_CODE
from deploy.local.district.generator import apportion
from deploy.local.district.survey import SurveyInputs
from services.households.domain.standards import Area, classify, standard_by_code

YEAR = 2019
DISTRICT = DISTRICT_CODE
#: The plan's figures for the district of 30,000 households (docs/domain.md); smaller or larger
#: districts get them in proportion.
PLAN_HOUSEHOLDS = 30_000
PLAN_PLACEMENTS = 4_000
PLAN_RURAL_TRAINEES = 200
#: Delivered above each commune's target, as a district reporting "plan exceeded" does.
OVER_DELIVERY = 0.03
#: Days to a card for a commune that issues on time (the service standard is 30) and for
#: the commune whose cards are late on purpose (fault d).
ON_TIME_CARD_DAYS = (3, 24)
LATE_CARD_DAYS = (60, 75)
#: The business day the year's outcome is judged on: every act of the scenario is dated
#: on or before it (cards of December's recognitions, loans, construction included).
AS_OF = date(2020, 6, 30)


def rng_for(seed: int, purpose: str) -> Random:
    """A generator for one purpose: str seeds are hashed (SHA-512), so runs agree."""
    return Random(f"ansinh-scenario:{seed}:{purpose}")


def between(rng: Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


@dataclass(frozen=True)
class FaultCommunes:
    """Where each deliberate fault is planted (codes of Tịnh Biên's communes)."""

    no_meeting: str = "30526"  # An Cư: one village's list recognised without a meeting (a)
    early_recognition: str = "30523"  # Văn Giáo: recognised while still posted (b)
    duplicate_card: str = "30514"  # An Phú: the agency's duplicate card (c)
    late_cards: str = "30535"  # Tân Lợi: every card issued ~2 months after entitlement (d)
    misclassified: str = "30517"  # Thới Sơn: poor recorded on an income above the line (e)


FAULTS = FaultCommunes()


class Member(NamedTuple):
    person_id: str
    sex: str
    date_of_birth: date
    ethnicity: str
    relation_to_head: str
    citizen_pseudonym: str | None

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class Household(NamedTuple):
    """A registered household as the households API shows it, with its generated survey."""

    household_id: str
    ref: str
    commune_code: str
    village: str
    area: str
    independent_since_year: int | None
    poverty_class: str
    class_since: date | None
    members: tuple[Member, ...]
    survey: SurveyInputs

    @property
    def khmer_head(self) -> bool:
        return any(m.relation_to_head == "head" and m.ethnicity == "Khmer" for m in self.members)

    @property
    def place(self) -> tuple[str, str]:
        return self.commune_code, self.village

    def assessment(self, assessed_on: date, review_id: str) -> dict[str, Any]:
        """The survey as ``POST /households/{id}/assessments`` takes it."""
        s = self.survey
        return {
            "assessed_on": assessed_on.isoformat(),
            "standard_code": s.standard_code,
            "income_per_person_month": s.income_per_person_month,
            "deprived_indicators": list(s.deprived_indicators),
            "review_id": review_id,
        }


def scaled(figure: int, households: int, minimum: int = 0) -> int:
    """A district figure in proportion to the size played (at least ``minimum``)."""
    return max(minimum, round(figure * households / PLAN_HOUSEHOLDS))


# ------------------------------------------------------------------------- the review


@dataclass(frozen=True)
class VillageCalendar:
    """One village's periodic review: opened in September, surveyed over some weeks, the
    meeting after the last survey, the posting the next days, recognition in Nov–Dec."""

    opened_on: date
    survey_days: int
    meeting_on: date
    posted_on: date
    days_after_posting: int  # recognition comes this many days after the posting ends

    def assessed_on(self, surveyed: date) -> date:
        """The generator's survey day (1 Sep – 30 Nov) moved into this village's weeks."""
        offset = max(0, (surveyed - date(YEAR, 9, 1)).days)
        return self.opened_on + timedelta(days=1 + offset * (self.survey_days - 1) // 91)

    def recognition_on(self, posting_ends_on: date, complaints_resolved_on: date | None) -> date:
        after = max(posting_ends_on, complaints_resolved_on or posting_ends_on)
        return after + timedelta(days=self.days_after_posting)


def village_calendar(seed: int, commune_code: str, village: str) -> VillageCalendar:
    """Opened 5–25 Sep, surveyed for 50–60 days, met, posted: recognised 1 Nov – 14 Dec."""
    rng = rng_for(seed, f"calendar:{commune_code}:{village}")
    opened_on = date(YEAR, 9, 5) + timedelta(days=between(rng, 0, 20))
    survey_days = between(rng, 50, 60)
    meeting_on = opened_on + timedelta(days=survey_days + between(rng, 2, 5))
    return VillageCalendar(
        opened_on=opened_on,
        survey_days=survey_days,
        meeting_on=meeting_on,
        posted_on=meeting_on + timedelta(days=between(rng, 1, 2)),
        days_after_posting=between(rng, 2, 5),
    )


class MeetingTurnout(NamedTuple):
    invited: int
    attendees: int
    agreeing: int


def meeting_turnout(seed: int, village: str, households: int) -> MeetingTurnout:
    """Every household of the village invited; 60–88% attend, 72–97% of them agree (the
    rules need at least half of each)."""
    rng = rng_for(seed, f"meeting:{village}")
    invited = max(1, households)
    attendees = max(math.ceil(invited / 2), round(invited * (0.60 + 0.28 * rng.random())))
    agreeing = max(math.ceil(attendees / 2), round(attendees * (0.72 + 0.25 * rng.random())))
    return MeetingTurnout(invited, min(attendees, invited), min(agreeing, attendees))


def meeting_minutes(village: str, turnout: MeetingTurnout, held_on: date) -> str:
    return (
        f"Biên bản họp bình xét hộ nghèo, hộ cận nghèo năm {YEAR}, {village}, ngày "
        f"{held_on:%d/%m/%Y}. Chủ trì: Trưởng ấp; giám sát: Ban công tác Mặt trận. "
        f"Có mặt {turnout.attendees}/{turnout.invited} hộ được mời; "
        f"{turnout.agreeing} hộ đồng ý kết quả bình xét."
    )


def misclassified_household(
    households: list[Household], excluded_villages: set[tuple[str, str]]
) -> Household:
    """Fault (e): a household of the misclassified commune whose income is clearly above the
    near-poverty line (1.1–1.6 times it), the one closest to 1.25 times; ValueError if none."""

    def ratio(h: Household) -> float:
        standard = standard_by_code(h.survey.standard_code)
        line = (standard.near_poverty_line or standard.poverty_line)[Area(h.area)]
        return h.survey.income_per_person_month / line

    fitting = [
        h
        for h in households
        if h.commune_code == FAULTS.misclassified
        and (h.commune_code, h.village) not in excluded_villages
        and 1.1 <= ratio(h) <= 1.6
    ]
    if not fitting:
        raise ValueError(
            f"no household of {FAULTS.misclassified} has an income just above the "
            "near-poverty line: play more households"
        )
    return min(fitting, key=lambda h: (abs(ratio(h) - 1.25), h.ref))


def survey_class(household: Household) -> str:
    """The class the standard gives the household's survey (what the review recognises,
    the one overridden household of fault (e) aside)."""
    s = household.survey
    return str(
        classify(
            standard_by_code(s.standard_code),
            household.area,
            s.income_per_person_month,
            s.deprived_indicators,
            on=s.assessed_on,
        ).poverty_class
    )


def near_poverty_line(household: Household) -> int:
    standard = standard_by_code(household.survey.standard_code)
    return (standard.near_poverty_line or standard.poverty_line)[Area(household.area)]


COMPLAINT_SUBJECTS = (
    "Hộ đề nghị xem lại điểm thu nhập: gia đình có người bệnh nặng trong năm.",
    "Hộ cho rằng tên trên danh sách niêm yết bị ghi sai, đề nghị sửa lại.",
    "Hộ hàng xóm khiếu nại kết quả bình xét của hộ này là chưa đúng thực tế.",
)


def complaint_plan(
    seed: int, n: int, village_refs: dict[tuple[str, str], list[str]]
) -> dict[str, tuple[str, str]]:
    """Household ref → (subject, outcome) for ``n`` complaints, at most one per village."""
    rng = rng_for(seed, "complaints")
    villages = sorted(village_refs)
    rng.shuffle(villages)
    chosen: dict[str, tuple[str, str]] = {}
    for index, village in enumerate(villages[:n]):
        ref = rng.choice(sorted(village_refs[village]))
        outcome = "rejected" if index % 3 else "upheld"
        chosen[ref] = (COMPLAINT_SUBJECTS[index % len(COMPLAINT_SUBJECTS)], outcome)
    return chosen


# ---------------------------------------------------------------------- the benefits


def card_delay_days(seed: int, person_id: str, commune_code: str) -> int:
    """Days from entitlement to the card: on time, or late in the faulty commune (d)."""
    low, high = LATE_CARD_DAYS if commune_code == FAULTS.late_cards else ON_TIME_CARD_DAYS
    return between(rng_for(seed, f"card:{person_id}"), low, high)


def social_insurance_number(seed: int, person_id: str, taken: set[str]) -> str:
    """A 10-digit VSS number for a person's first card, unique within ``taken`` (updated)."""
    rng = rng_for(seed, f"si:{person_id}")
    number = f"89{rng.randrange(10**8):08d}"
    while number in taken:
        number = f"89{(int(number[2:]) + 1) % 10**8:08d}"
    taken.add(number)
    return number


def commune_targets(total: int, *, rural_only: bool = False) -> dict[str, int]:
    """A district figure split over the communes by population (rural communes only for
    rural trainees)."""
    communes = [c for c in COMMUNES if not (rural_only and c.township)]
    counts = apportion(total, [c.population for c in communes])
    return {c.code: n for c, n in zip(communes, counts, strict=True)}


def delivered(target: int) -> int:
    """What a commune delivers against ``target``: the target and a little more."""
    return target + math.ceil(target * OVER_DELIVERY)
