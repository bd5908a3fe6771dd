"""Valid request bodies for tests (citizen IDs built to pass the CCCD structure rules)."""

from __future__ import annotations

import itertools
from typing import Any

_serial = itertools.count(1)

COMMUNE_NHON_HUNG = "30511"
COMMUNE_AN_CU = "30526"


def citizen_id(*, sex: str = "male", birth_year: int = 1980, province: str = "089") -> str:
    century = (birth_year // 100) - 19
    code = century * 2 + (1 if sex == "female" else 0)
    return f"{province}{code}{birth_year % 100:02d}{next(_serial) % 1_000_000:06d}"


def person(
    *,
    relation: str = "head",
    sex: str = "male",
    year: int = 1980,
    ethnicity: str = "Kinh",
    name: str = "Nguyễn Văn An",
) -> dict[str, Any]:
    return {
        "full_name": name,
        "sex": sex,
        "date_of_birth": f"{year}-05-17",
        "ethnicity": ethnicity,
        "citizen_id": citizen_id(sex=sex, birth_year=year),
        "relation_to_head": relation,
    }


def household(
    *,
    commune: str = COMMUNE_NHON_HUNG,
    area: str = "rural",
    members: int = 3,
    village: str = "Ấp Hòa Thuận",
) -> dict[str, Any]:
    people = [person()]
    people += [
        person(relation="spouse", sex="female", year=1983, name="Chau Thị Sa Ly", ethnicity="Khmer")
    ]
    people += [
        person(relation="child", sex="male", year=2012, name="Nguyễn Văn Bình")
        for _ in range(max(0, members - 2))
    ]
    return {
        "commune_code": commune,
        "village": village,
        "address": "Tổ 3, " + village,
        "area": area,
        "registered_on": "2019-01-15",
        "independent_since_year": 2005,
        "members": people[:members],
    }
