"""Unit tests of the households domain: poverty standards and classification."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.households.domain import (
    STANDARDS,
    Area,
    MiddleIncomeBand,
    PovertyClass,
    PovertyStandard,
    UnknownIndicator,
    UnknownStandard,
    classify,
    standard_by_code,
    standard_for,
)

R, U = Area.RURAL, Area.URBAN
QD59, ND07, ND351 = (standard_by_code(c) for c in ("QD-59-2015", "ND-07-2021", "ND-351-2025"))
IND_2016 = QD59.indicators
IND_2022 = ND07.indicators
# Ordering from poorest to richest, for the monotonicity properties.
RANK = {
    PovertyClass.POOR: 0,
    PovertyClass.NEAR_POOR: 1,
    PovertyClass.MIDDLE_INCOME: 2,
    PovertyClass.NOT_POOR: 3,
}


class TestStandardsTable:
    @pytest.mark.parametrize(
        ("standard", "title", "start", "end", "line", "near_line", "rule"),
        [
            (QD59, "Decision 59/2015/QĐ-TTg", date(2016, 1, 1), date(2021, 12, 31),
             {R: 700_000, U: 900_000}, {R: 1_000_000, U: 1_300_000}, "income_band_2016"),
            (ND07, "Decree 07/2021/NĐ-CP", date(2022, 1, 1), date(2026, 12, 31),
             {R: 1_500_000, U: 2_000_000}, None, "multidimensional_2022"),
            (ND351, "Decree 351/2025/NĐ-CP", date(2027, 1, 1), date(2030, 12, 31),
             {R: 2_200_000, U: 2_800_000}, None, "multidimensional_2022"),
        ],
    )  # fmt: skip
    def test_row_matches_domain_table(
        self, standard: PovertyStandard, title: str, start: date, end: date,
        line: dict[Area, int], near_line: dict[Area, int] | None, rule: str,
    ) -> None:  # fmt: skip
        assert standard.title == title
        assert (standard.valid_from, standard.valid_to) == (start, end)
        assert standard.poverty_line == line
        assert standard.near_poverty_line == near_line
        assert standard.rule == rule
        assert standard.deprivation_threshold == 3

    def test_2016_has_ten_named_indicators(self) -> None:
        assert IND_2016 == (
            "healthcare_access", "health_insurance", "adult_education",
            "child_school_attendance", "housing_quality", "housing_area_per_person",
            "water_source", "hygienic_latrine", "telecom_use", "information_assets",
        )  # fmt: skip

    def test_2022_has_twelve_named_indicators(self) -> None:
        assert IND_2022 == (
            "employment", "dependants", "nutrition", "health_insurance", "adult_education",
            "school_attendance", "housing_quality", "housing_area_per_person", "water",
            "latrine", "telecom", "information_assets",
        )  # fmt: skip

    def test_351_reuses_2022_indicators_flagged_unconfirmed(self) -> None:
        assert ND351.indicators == IND_2022
        assert any("unconfirmed" in note for note in ND351.notes)

    def test_only_07_2021_has_the_weakly_sourced_middle_income_band(self) -> None:
        assert QD59.middle_income_bands == () and ND351.middle_income_bands == ()
        (band,) = ND07.middle_income_bands
        assert (band.valid_from, band.valid_to) == (date(2022, 1, 1), date(2025, 12, 31))
        assert band.lower_exclusive == {R: 1_500_000, U: 2_000_000}
        assert band.upper_inclusive == {R: 2_250_000, U: 3_000_000}
        assert band.weakly_sourced

    def test_standards_are_ordered_contiguous_and_unique(self) -> None:
        assert len({s.code for s in STANDARDS}) == len(STANDARDS)
        for earlier, later in pairwise(STANDARDS):
            assert later.valid_from == earlier.valid_to + timedelta(days=1)

    def test_inconsistent_standard_data_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="near_poverty_line"):
            PovertyStandard(
                code="X", title="X", short_name="X", valid_from=date(2016, 1, 1),
                valid_to=date(2016, 12, 31), poverty_line={R: 1, U: 1}, near_poverty_line=None,
                indicators=("a",), rule="income_band_2016",
            )  # fmt: skip
        with pytest.raises(ValueError, match="valid_from"):
            PovertyStandard(
                code="X", title="X", short_name="X", valid_from=date(2017, 1, 1),
                valid_to=date(2016, 12, 31), poverty_line={R: 1, U: 1}, near_poverty_line=None,
                indicators=("a",), rule="multidimensional_2022",
            )  # fmt: skip


class TestStandardLookup:
    @pytest.mark.parametrize(
        ("on", "code"),
        [
            (date(2016, 1, 1), "QD-59-2015"),
            (date(2021, 12, 31), "QD-59-2015"),
            (date(2022, 1, 1), "ND-07-2021"),
            (date(2026, 12, 31), "ND-07-2021"),
            (date(2027, 1, 1), "ND-351-2025"),
            (date(2030, 12, 31), "ND-351-2025"),
        ],
    )
    def test_standard_in_force_on_boundary_dates(self, on: date, code: str) -> None:
        assert standard_for(on).code == code

    @pytest.mark.parametrize("on", [date(2015, 12, 31), date(2031, 1, 1)])
    def test_date_outside_every_standard_is_rejected_naming_the_date(self, on: date) -> None:
        with pytest.raises(ValueError, match=on.isoformat()):
            standard_for(on)

    def test_unknown_code_names_the_code_and_is_both_key_and_value_error(self) -> None:
        with pytest.raises(UnknownStandard, match="QD-09-2011") as caught:
            standard_by_code("QD-09-2011")
        assert isinstance(caught.value, KeyError) and isinstance(caught.value, ValueError)
        assert str(caught.value).startswith("unknown poverty standard code 'QD-09-2011'")


def deprived(names: tuple[str, ...], n: int) -> list[str]:
    return list(names[:n])


class TestClassify2016:
    @pytest.mark.parametrize(
        ("area", "income", "n", "expected"),
        [
            (R, 0, 0, PovertyClass.POOR),
            (R, 700_000, 0, PovertyClass.POOR),
            (R, 700_001, 2, PovertyClass.NEAR_POOR),
            (R, 700_001, 3, PovertyClass.POOR),
            (R, 1_000_000, 2, PovertyClass.NEAR_POOR),
            (R, 1_000_000, 3, PovertyClass.POOR),
            (R, 1_000_001, 10, PovertyClass.NOT_POOR),
            (U, 900_000, 0, PovertyClass.POOR),
            (U, 900_001, 2, PovertyClass.NEAR_POOR),
            (U, 900_001, 3, PovertyClass.POOR),
            (U, 1_300_000, 2, PovertyClass.NEAR_POOR),
            (U, 1_300_000, 3, PovertyClass.POOR),
            (U, 1_300_001, 10, PovertyClass.NOT_POOR),
        ],
    )
    def test_boundaries(self, area: Area, income: int, n: int, expected: PovertyClass) -> None:
        result = classify(QD59, area, income, deprived(IND_2016, n))
        assert result.poverty_class is expected
        assert result.deprivation_count == n
        assert result.standard_code == "QD-59-2015"

    def test_reason_cites_line_and_instrument(self) -> None:
        result = classify(QD59, R, 650_000, [])
        assert result.reasons == ("income 650,000 ≤ rural poverty line 700,000 (Decision 59/2015)",)

    def test_reason_between_lines_cites_both_lines_and_count(self) -> None:
        result = classify(QD59, U, 1_000_000, ["water_source", "telecom_use", "healthcare_access"])
        assert result.reasons == (
            "urban poverty line 900,000 < income 1,000,000 ≤ urban near-poverty line 1,300,000 "
            "(Decision 59/2015)",
            "3 deprivations (healthcare_access, telecom_use, water_source) ≥ threshold 3 "
            "(Decision 59/2015)",
        )


@pytest.mark.parametrize("standard", [ND07, ND351], ids=["07-2021", "351-2025"])
class TestClassifyMultidimensional:
    @pytest.mark.parametrize("area", [R, U])
    def test_at_line_three_deprivations_is_poor_two_is_near_poor(
        self, standard: PovertyStandard, area: Area
    ) -> None:
        line = standard.poverty_line[area]
        assert classify(standard, area, line, IND_2022[:3]).poverty_class is PovertyClass.POOR
        near = classify(standard, area, line, IND_2022[:2]).poverty_class
        assert near is PovertyClass.NEAR_POOR
        assert classify(standard, area, 0, []).poverty_class is PovertyClass.NEAR_POOR

    @pytest.mark.parametrize("area", [R, U])
    def test_one_dong_above_line_is_not_poor_whatever_the_deprivations(
        self, standard: PovertyStandard, area: Area
    ) -> None:
        result = classify(standard, area, standard.poverty_line[area] + 1, IND_2022)
        assert result.poverty_class is PovertyClass.NOT_POOR
        assert result.deprivation_count == 12

    def test_mapping_counts_only_true_values(self, standard: PovertyStandard) -> None:
        flags = {name: i < 3 for i, name in enumerate(IND_2022)}
        result = classify(standard, R, 100_000, flags)
        assert result.poverty_class is PovertyClass.POOR
        assert result.deprived_indicators == ("dependants", "employment", "nutrition")

    def test_unknown_indicator_names_indicator_and_standard(
        self, standard: PovertyStandard
    ) -> None:
        # healthcare_access exists only in the 2016 list.
        with pytest.raises(UnknownIndicator, match=rf"'healthcare_access'.*{standard.code}"):
            classify(standard, R, 100_000, ["healthcare_access"])
        with pytest.raises(UnknownIndicator, match="'nutriton'"):
            classify(standard, R, 100_000, {"nutriton": False})


class TestMiddleIncomeBand:
    IN_BAND = date(2024, 6, 1)

    @pytest.mark.parametrize(
        ("area", "income", "expected"),
        [
            (R, 1_500_000, PovertyClass.NEAR_POOR),
            (R, 1_500_001, PovertyClass.MIDDLE_INCOME),
            (R, 2_250_000, PovertyClass.MIDDLE_INCOME),
            (R, 2_250_001, PovertyClass.NOT_POOR),
            (U, 2_000_000, PovertyClass.NEAR_POOR),
            (U, 2_000_001, PovertyClass.MIDDLE_INCOME),
            (U, 3_000_000, PovertyClass.MIDDLE_INCOME),
            (U, 3_000_001, PovertyClass.NOT_POOR),
        ],
    )
    def test_band_boundaries(self, area: Area, income: int, expected: PovertyClass) -> None:
        assert classify(ND07, area, income, [], on=self.IN_BAND).poverty_class is expected

    @pytest.mark.parametrize(
        ("on", "expected"),
        [
            (date(2022, 1, 1), PovertyClass.MIDDLE_INCOME),
            (date(2025, 12, 31), PovertyClass.MIDDLE_INCOME),
            (date(2026, 1, 1), PovertyClass.NOT_POOR),
            (None, PovertyClass.NOT_POOR),
        ],
    )
    def test_band_applies_only_on_its_own_dates(
        self, on: date | None, expected: PovertyClass
    ) -> None:
        assert classify(ND07, R, 2_000_000, [], on=on).poverty_class is expected

    def test_reason_says_the_band_is_weakly_sourced(self) -> None:
        result = classify(ND07, R, 2_000_000, [], on=self.IN_BAND)
        assert (
            result.reasons[0] == "income 2,000,000 > rural poverty line 1,500,000 (Decree 07/2021)"
        )
        assert "weakly sourced" in result.reasons[1]

    def test_band_lower_bound_is_exclusive_even_above_the_poverty_line(self) -> None:
        band = MiddleIncomeBand(
            valid_from=date(2022, 1, 1), valid_to=date(2022, 12, 31),
            lower_exclusive={R: 1_600_000, U: 2_100_000},
            upper_inclusive={R: 2_000_000, U: 2_500_000},
        )  # fmt: skip
        standard = replace(ND07, middle_income_bands=(band,))
        on = date(2022, 6, 1)
        assert classify(standard, R, 1_600_000, [], on=on).poverty_class is PovertyClass.NOT_POOR
        assert classify(standard, R, 1_600_001, [], on=on).poverty_class is (
            PovertyClass.MIDDLE_INCOME
        )

    def test_no_band_in_351_2025(self) -> None:
        result = classify(ND351, R, 2_500_000, [], on=date(2027, 6, 1))
        assert result.poverty_class is PovertyClass.NOT_POOR


class TestClassifyInputs:
    def test_negative_income_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="≥ 0"):
            classify(ND07, R, -1, [])

    @pytest.mark.parametrize("income", [700_000.0, True])
    def test_non_int_income_is_rejected(self, income: object) -> None:
        with pytest.raises(TypeError, match="int"):
            classify(QD59, R, income, [])  # type: ignore[arg-type]

    def test_single_string_of_deprivations_is_rejected(self) -> None:
        with pytest.raises(TypeError):
            classify(ND07, R, 100_000, "water")

    def test_unknown_area_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="mountain"):
            classify(ND07, "mountain", 100_000, [])

    def test_area_as_plain_string_is_accepted(self) -> None:
        assert classify(ND07, "urban", 2_000_000, []).poverty_class is PovertyClass.NEAR_POOR

    def test_unknown_indicator_in_2016(self) -> None:
        with pytest.raises(UnknownIndicator, match=r"'nutrition'.*QD-59-2015"):
            classify(QD59, R, 100_000, ["nutrition"])

    def test_duplicate_names_count_once(self) -> None:
        result = classify(ND07, R, 100_000, ["water", "water", "latrine"])
        assert result.deprivation_count == 2
        assert result.poverty_class is PovertyClass.NEAR_POOR


standards_st = st.sampled_from(STANDARDS)
areas_st = st.sampled_from(list(Area))
dates_st = st.dates(date(2016, 1, 1), date(2030, 12, 31))


@given(
    standard=standards_st,
    area=areas_st,
    low=st.integers(0, 4_000_000),
    raise_by=st.integers(0, 4_000_000),
    data=st.data(),
    on=st.none() | dates_st,
)
def test_raising_income_never_makes_a_household_poorer(
    standard: PovertyStandard, area: Area, low: int, raise_by: int, data: st.DataObject,
    on: date | None,
) -> None:  # fmt: skip
    lacking = data.draw(st.sets(st.sampled_from(standard.indicators)))
    before = classify(standard, area, low, lacking, on=on)
    after = classify(standard, area, low + raise_by, lacking, on=on)
    assert RANK[after.poverty_class] >= RANK[before.poverty_class]


@given(standard=standards_st, area=areas_st, income=st.integers(0, 4_000_000), data=st.data())
def test_more_deprivations_never_make_a_household_richer(
    standard: PovertyStandard, area: Area, income: int, data: st.DataObject
) -> None:
    fewer = data.draw(st.sets(st.sampled_from(standard.indicators)))
    more = fewer | data.draw(st.sets(st.sampled_from(standard.indicators)))
    assert (
        RANK[classify(standard, area, income, more).poverty_class]
        <= RANK[classify(standard, area, income, fewer).poverty_class]
    )
