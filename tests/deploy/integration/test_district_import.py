"""A generated district imports through the real households app without a single error."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from deploy.local.district.generator import generate_district, write_households_csv
from tests.support import bearer, token

pytestmark = pytest.mark.integration


async def test_a_generated_district_imports_cleanly(
    households: httpx.AsyncClient, data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "district.csv"
    write_households_csv(path, generate_district(2019, 300))
    response = await households.post(
        "/imports/households",
        headers=bearer(token(data_dir)),
        files={"file": ("district.csv", path.read_bytes(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["rejected"], report["imported"]) == (300, 0, 300)
