"""Unit tests of citizen ID (CCCD) validation in the households domain."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.households.domain import (
    PROVINCE_CODES,
    InvalidCitizenId,
    citizen_id_province,
    parse_citizen_id,
    validate_citizen_id,
)

VALID_ID = "089085001234"  # An Giang, male, born 1985


class TestCitizenId:
    def test_province_table_has_the_63_pre_2025_provinces(self) -> None:
        assert len(PROVINCE_CODES) == 63
        assert PROVINCE_CODES["001"] == "Hà Nội"
        assert PROVINCE_CODES["089"] == "An Giang"
        assert PROVINCE_CODES["096"] == "Cà Mau"
        assert all(len(c) == 3 and c.isdigit() for c in PROVINCE_CODES)

    def test_valid_id_decodes(self) -> None:
        validate_citizen_id(VALID_ID, sex="male", date_of_birth=date(1985, 3, 2))
        parts = parse_citizen_id(VALID_ID)
        assert (parts.province_code, parts.sex, parts.birth_year) == ("089", "male", 1985)
        assert parts.serial == "001234"
        assert citizen_id_province(VALID_ID) == "An Giang"

    @pytest.mark.parametrize(
        ("digit", "sex", "year"),
        [
            ("0", "male", 1985), ("1", "female", 1985), ("2", "male", 2085),
            ("3", "female", 2085), ("4", "male", 2185), ("5", "female", 2185),
            ("6", "male", 2285), ("7", "female", 2285), ("8", "male", 2385),
            ("9", "female", 2385),
        ],
    )  # fmt: skip
    def test_century_and_sex_digit(self, digit: str, sex: str, year: int) -> None:
        cid = f"001{digit}85000001"
        parts = parse_citizen_id(cid)
        assert (parts.sex, parts.birth_year) == (sex, year)
        validate_citizen_id(cid, sex=sex, date_of_birth=date(year, 1, 1))

    @pytest.mark.parametrize(
        ("cid", "message"),
        [
            ("08908500123", "exactly 12 digits, got 11"),
            ("0890850012345", "exactly 12 digits, got 13"),
            ("", "exactly 12 digits, got 0"),
            ("08908500123a", "other characters"),
            (" 89085001234", "other characters"),
            ("08908500123٤", "other characters"),  # Arabic-Indic digit: isdigit() but not 0-9
            ("003085001234", "province code 003"),
            ("097085001234", "province code 097"),
            ("000085001234", "province code 000"),
        ],
    )
    def test_malformed_ids_are_rejected_precisely(self, cid: str, message: str) -> None:
        with pytest.raises(InvalidCitizenId, match=message):
            validate_citizen_id(cid)

    def test_message_does_not_echo_the_whole_id(self) -> None:
        with pytest.raises(InvalidCitizenId) as caught:
            validate_citizen_id("097085001234")
        assert "097085001234" not in str(caught.value)

    def test_sex_must_agree(self) -> None:
        with pytest.raises(InvalidCitizenId, match="encodes male, but sex is female"):
            validate_citizen_id(VALID_ID, sex="female")
        with pytest.raises(InvalidCitizenId, match="encodes female, but sex is male"):
            validate_citizen_id("089185001234", sex="male")

    @pytest.mark.parametrize("dob", [date(1986, 1, 1), date(2085, 1, 1), date(1885, 1, 1)])
    def test_birth_year_must_agree(self, dob: date) -> None:
        with pytest.raises(InvalidCitizenId, match=rf"birth year 1985.*{dob.year}"):
            validate_citizen_id(VALID_ID, date_of_birth=dob)

    def test_bad_sex_argument_is_a_caller_error(self) -> None:
        with pytest.raises(ValueError, match="'M'") as caught:
            validate_citizen_id(VALID_ID, sex="M")
        assert not isinstance(caught.value, InvalidCitizenId)

    def test_province_lookup_rejects_malformed_id(self) -> None:
        with pytest.raises(InvalidCitizenId):
            citizen_id_province("003085001234")

    def test_non_string_is_rejected(self) -> None:
        with pytest.raises(InvalidCitizenId, match="string"):
            validate_citizen_id(89085001234)  # type: ignore[arg-type]


@given(
    code=st.sampled_from(sorted(PROVINCE_CODES)),
    sex=st.sampled_from(["male", "female"]),
    year=st.integers(1900, 2399),
    serial=st.integers(0, 999_999),
)
def test_any_well_formed_id_round_trips(code: str, sex: str, year: int, serial: int) -> None:
    digit = (year - 1900) // 100 * 2 + (sex == "female")
    cid = f"{code}{digit}{year % 100:02d}{serial:06d}"
    validate_citizen_id(cid, sex=sex, date_of_birth=date(year, 6, 15))
    parts = parse_citizen_id(cid)
    assert (parts.province, parts.sex, parts.birth_year) == (PROVINCE_CODES[code], sex, year)
