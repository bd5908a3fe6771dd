"""Tịnh Biên as data: administrative units with validity dates, commune profiles, villages.

Two hierarchies live side by side, told apart by their dates:

* until 30 June 2025, three tiers: province An Giang (89) → district Tịnh Biên (890) →
  its 14 communes and townships. The 5-digit codes are the GSO codes as two independent
  public GSO-derived lists give them (not checked against the GSO directory itself);
* since 1 July 2025, two tiers: the province formed by merging An Giang and Kiên Giang,
  and the five communes/wards that absorbed the 14. Which old units form which new one
  agrees across public lists; the new codes (province and communes) are **unconfirmed**
  guesses that reuse a predecessor's code, as the 2025 code list did for many units.

A code may therefore name two units at different dates: look units up with a date.
Populations and Khmer shares are rough, unconfirmed figures used only as weights, and the
village names are plausible ones, not the official list of ấp/khóm.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from shared.admin_units import DEFAULT_FILE

Level = Literal["province", "district", "commune"]
Area = Literal["rural", "urban"]

THREE_TIER_UNTIL = date(2025, 6, 30)
TWO_TIER_FROM = date(2025, 7, 1)

PROVINCE_CODE = "89"  # An Giang before the 2025 merger (GSO)
DISTRICT_CODE = "890"  # Huyện Tịnh Biên (GSO)
CITIZEN_ID_PROVINCE = "089"  # An Giang in citizen IDs (Circular 07/2016/TT-BCA)
MERGED_PROVINCE_CODE = "91"  # unconfirmed: the merged An Giang's code since 1 July 2025


@dataclass(frozen=True, slots=True)
class CommuneProfile:
    """What the generator needs to know of a commune or township of Tịnh Biên (2019)."""

    code: str
    name: str  # without the "Xã"/"Thị trấn" prefix
    township: bool
    population: int  # approximate, unconfirmed; only used as a weight
    khmer_share: float  # share of households that are ethnic Khmer; unconfirmed
    villages: tuple[str, ...]
    successor_code: str  # the commune/ward that absorbed it on 1 July 2025

    @property
    def area(self) -> Area:
        """Townships are urban for the poverty lines; communes are rural."""
        return "urban" if self.township else "rural"

    @property
    def full_name(self) -> str:
        return ("Thị trấn " if self.township else "Xã ") + self.name


# Successors since 1 July 2025 (codes unconfirmed; see the module docstring).
_TINH_BIEN_WARD, _THOI_SON_WARD, _CHI_LANG_WARD = "30520", "30517", "30505"
_AN_CU_COMMUNE, _NUI_CAM_COMMUNE = "30526", "30538"

# fmt: off
COMMUNES: tuple[CommuneProfile, ...] = (
    CommuneProfile("30502", "Nhà Bàng", True, 19_500, 0.06,
                   ("Khóm Nhà Bàng", "Khóm Sơn Đông", "Khóm Thới Hòa", "Khóm Trà Sư",
                    "Khóm Hòa Thuận"), _THOI_SON_WARD),
    CommuneProfile("30505", "Chi Lăng", True, 13_000, 0.25,
                   ("Khóm Xuân Hòa", "Khóm Xuân Bình", "Khóm Sơn Hòa", "Khóm Cò Roi",
                    "Khóm Sóc Tức"), _CHI_LANG_WARD),
    CommuneProfile("30508", "Núi Voi", False, 6_500, 0.48,
                   ("Ấp Voi Một", "Ấp Voi Hai", "Ấp Sơn Thành", "Phum Tà Lọt"), _CHI_LANG_WARD),
    CommuneProfile("30511", "Nhơn Hưng", False, 8_500, 0.05,
                   ("Ấp Hưng Thạnh", "Ấp Hưng Hòa", "Ấp Hòa Thuận", "Ấp Tân Hưng",
                    "Ấp Thới Thuận"), _THOI_SON_WARD),
    CommuneProfile("30514", "An Phú", False, 9_000, 0.10,
                   ("Ấp Phú Hòa", "Ấp Phú Tâm", "Ấp Phú Cường", "Ấp Phú Lâm", "Ấp Phú Thạnh"),
                   _TINH_BIEN_WARD),
    CommuneProfile("30517", "Thới Sơn", False, 10_500, 0.08,
                   ("Ấp Thới Hòa", "Ấp Thới Thuận", "Ấp Thới Hiệp", "Ấp Sơn Tây",
                    "Ấp Bình Thạnh"), _THOI_SON_WARD),
    CommuneProfile("30520", "Tịnh Biên", True, 15_500, 0.15,
                   ("Khóm Xuân Biên", "Khóm Xuân Hiệp", "Khóm Xuân Phú", "Khóm Xuân Bình",
                    "Khóm Biên Hòa"), _TINH_BIEN_WARD),
    CommuneProfile("30523", "Văn Giáo", False, 8_000, 0.75,
                   ("Ấp Phú Nhất", "Ấp Ninh Thạnh", "Ấp Tây Hưng", "Phum Mằng Rò",
                    "Phum Srây Skốth", "Phum Vồ Đầu"), _AN_CU_COMMUNE),
    CommuneProfile("30526", "An Cư", False, 8_500, 0.72,
                   ("Ấp Ba Xoài", "Phum Cây Mít", "Phum Rò Leng", "Phum Vồn Thum",
                    "Phum Soài Chếk"), _AN_CU_COMMUNE),
    CommuneProfile("30529", "An Nông", False, 6_500, 0.12,
                   ("Ấp An Lương", "Ấp An Thạnh", "Ấp An Bình", "Ấp Rạch Sâu"), _TINH_BIEN_WARD),
    CommuneProfile("30532", "Vĩnh Trung", False, 9_500, 0.70,
                   ("Ấp Vĩnh Thượng", "Ấp Vĩnh Hạ", "Ấp Vĩnh Tâm", "Ấp Vĩnh Lập",
                    "Phum Thơm Mít"), _AN_CU_COMMUNE),
    CommuneProfile("30535", "Tân Lợi", False, 8_000, 0.58,
                   ("Ấp Tân Hòa", "Ấp Tân Thuận", "Ấp Tân Long", "Ấp Tân Thạnh", "Phum Ô Rùm"),
                   _CHI_LANG_WARD),
    CommuneProfile("30538", "An Hảo", False, 10_000, 0.55,
                   ("Ấp An Hòa", "Ấp An Lợi", "Ấp Vồ Bà", "Ấp Núi Cấm", "Phum Srây Skốt"),
                   _NUI_CAM_COMMUNE),
    CommuneProfile("30541", "Tân Lập", False, 6_000, 0.30,
                   ("Ấp Tân Thành", "Ấp Tân Bình", "Ấp Tân Hiệp", "Ấp Tân Định", "Phum Xà Tón"),
                   _NUI_CAM_COMMUNE),
)
# fmt: on


def commune_profile(code: str) -> CommuneProfile:
    """The 2019 profile of a Tịnh Biên commune or township; KeyError for another code."""
    for commune in COMMUNES:
        if commune.code == code:
            return commune
    raise KeyError(f"{code} is not one of Tịnh Biên's 14 communes and townships")


def admin_units_document() -> dict[str, Any]:
    """Both hierarchies as ``{"units": [...]}`` (the shape of shared/data/admin_units.json)."""
    return json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
