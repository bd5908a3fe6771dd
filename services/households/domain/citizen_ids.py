"""Citizen IDs (CCCD): what a well-formed one encodes, and whether it agrees with a person.

Pure: standard library only; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

# The 63 pre-July-2025 provinces, codes of Circular 07/2016/TT-BCA. IDs keep the code they were
# issued with, so this table stays valid for existing IDs after the 2025 merger; codes used for
# IDs issued under the 34-province map are unconfirmed and not accepted here.
# fmt: off
PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn",
    "008": "Tuyên Quang", "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu",
    "014": "Sơn La", "015": "Yên Bái", "017": "Hòa Bình", "019": "Thái Nguyên",
    "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang", "025": "Phú Thọ",
    "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định",
    "037": "Ninh Bình", "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh",
    "044": "Quảng Bình", "045": "Quảng Trị", "046": "Thừa Thiên Huế", "048": "Đà Nẵng",
    "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định", "054": "Phú Yên",
    "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng",
    "070": "Bình Phước", "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu", "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang",
    "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long", "087": "Đồng Tháp",
    "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang",
    "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}
# fmt: on

Sex = Literal["male", "female"]

_TWELVE_DIGITS = re.compile(r"[0-9]{12}")


class InvalidCitizenId(ValueError):
    """A citizen ID (CCCD) that is malformed or contradicts the stated sex or birth date."""


@dataclass(frozen=True)
class CitizenIdParts:
    """What a well-formed citizen ID encodes."""

    province_code: str
    province: str
    sex: Sex
    birth_year: int
    serial: str


def parse_citizen_id(cid: str) -> CitizenIdParts:
    """Decode a citizen ID; InvalidCitizenId when it is malformed.

    Messages name the offending part, never the whole number (it is personal data and
    error messages end up in logs). Leading/trailing spaces are not stripped.
    """
    if not isinstance(cid, str):
        raise InvalidCitizenId(f"citizen ID must be a string, got {type(cid).__name__}")
    if not _TWELVE_DIGITS.fullmatch(cid):
        if len(cid) != 12:
            raise InvalidCitizenId(
                f"citizen ID must be exactly 12 digits, got {len(cid)} characters"
            )
        raise InvalidCitizenId("citizen ID must be exactly 12 digits (0-9), found other characters")
    code = cid[:3]
    if code not in PROVINCE_CODES:
        raise InvalidCitizenId(
            f"citizen ID province code {code} is not a province code of Circular 07/2016/TT-BCA"
        )
    # 4th digit: even = male, odd = female; each pair of digits is one century from 1900.
    century_sex = int(cid[3])
    century = 1900 + (century_sex // 2) * 100
    return CitizenIdParts(
        province_code=code,
        province=PROVINCE_CODES[code],
        sex="male" if century_sex % 2 == 0 else "female",
        birth_year=century + int(cid[4:6]),
        serial=cid[6:],
    )


def validate_citizen_id(
    cid: str, *, sex: str | None = None, date_of_birth: date | None = None
) -> None:
    """Return None for a valid citizen ID; raise InvalidCitizenId with a precise reason otherwise.

    When `sex` ("male"/"female") or `date_of_birth` is given, the ID's sex-and-century digit
    and birth-year digits must agree with it. Any other `sex` value is a plain ValueError.
    """
    if sex is not None and sex not in ("male", "female"):
        raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
    parts = parse_citizen_id(cid)
    if sex is not None and parts.sex != sex:
        raise InvalidCitizenId(
            f"citizen ID digit 4 ({cid[3]}) encodes {parts.sex}, but sex is {sex}"
        )
    if date_of_birth is not None and parts.birth_year != date_of_birth.year:
        raise InvalidCitizenId(
            f"citizen ID digits 4-6 ({cid[3:6]}) encode birth year {parts.birth_year}, "
            f"but date of birth is in {date_of_birth.year}"
        )


def citizen_id_province(cid: str) -> str:
    """Name of the province that issued the ID (InvalidCitizenId when malformed)."""
    return parse_citizen_id(cid).province
