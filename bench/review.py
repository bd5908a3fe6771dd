"""The periodic review of a whole district through the households API, as operators run it.

For each village: open its review listing every household, record the village's surveys
(one ``POST /imports/assessments`` of the generator's inputs, as the survey team's file
comes in), hold the village meeting, post the results, and recognise the list, which
gives every household its class (``household_reclassified`` events the other services
act on).
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

YEAR = 2019
OPENED_ON = "2019-09-01"  # the periodic review window opens on 1 September
MEETING_ON = "2019-12-02"  # after the last survey day (30 November)
POSTED_ON = "2019-12-03"
RECOGNISED_ON = "2019-12-31"  # after the posting and complaint period
LIST_CHUNK = 2000  # households per listing request (the API's limit)
PAGE = 500


@dataclass(frozen=True)
class Listed:
    household_id: str
    ref: str
    commune_code: str
    village: str


@dataclass
class ReviewTally:
    villages: int = 0
    assessments: int = 0
    reclassified: int = 0
    requests: int = 0
    #: Seconds spent waiting for each kind of request (summed over concurrent requests).
    seconds_by_step: dict[str, float] = field(default_factory=dict)


def read_surveys(path: Path) -> dict[str, dict[str, Any]]:
    """household_ref -> the body of its assessment (from the generator's survey CSV)."""
    surveys = {}
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            indicators = row["deprived_indicators"]
            surveys[row["household_ref"]] = {
                "assessed_on": row["assessed_on"],
                "standard_code": row["standard_code"],
                "income_per_person_month": int(row["income_per_person_month"]),
                "deprived_indicators": indicators.split(";") if indicators else [],
            }
    return surveys


class ReviewOffice:
    """An operator client of the households API with a bound on requests in flight."""

    def __init__(
        self, client: httpx.AsyncClient, headers: dict[str, str], concurrency: int
    ) -> None:
        self.client = client
        self.headers = headers
        self.slots = asyncio.Semaphore(concurrency)
        self.tally = ReviewTally()

    async def call(
        self,
        method: str,
        path: str,
        expect: int,
        body: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
    ) -> Any:
        """One request (``body`` as JSON, or ``content`` as a CSV file); its JSON reply."""
        headers = self.headers if content is None else {**self.headers, "Content-Type": CSV}
        async with self.slots:
            started = time.monotonic()
            response = await self.client.request(
                method, path, json=body, content=content, params=params, headers=headers
            )
            elapsed = time.monotonic() - started
        self.tally.requests += 1
        step = f"{method} {_template(path)}"
        spent = self.tally.seconds_by_step
        spent[step] = round(spent.get(step, 0.0) + elapsed, 3)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    async def listed(self) -> list[Listed]:
        """Every registered household, a page at a time."""
        found: list[Listed] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": PAGE, **({"after": cursor} if cursor else {})}
            page = await self.call("GET", "/households", 200, params=params)
            found += [
                Listed(h["household_id"], h["external_ref"], h["commune_code"], h["village"])
                for h in page["items"]
            ]
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    async def review_village(
        self, households: Sequence[Listed], surveys: dict[str, dict[str, Any]]
    ) -> None:
        """One village's review, from opening to recognition."""
        review_id = await self._open(households)
        report = await self.call(
            "POST",
            "/imports/assessments",
            200,
            content=_survey_file(households, surveys, review_id),
        )
        if report["imported"] != len(households):
            raise RuntimeError(f"surveys of review {review_id}: {report}")
        self.tally.assessments += len(households)
        await self._recognise(review_id, len(households))
        self.tally.villages += 1

    async def _open(self, households: Sequence[Listed]) -> str:
        first, ids = households[0], [h.household_id for h in households]
        body = {
            "commune_code": first.commune_code,
            "village": first.village,
            "year": YEAR,
            "opened_on": OPENED_ON,
            "household_ids": ids[:LIST_CHUNK],
        }
        review_id = str((await self.call("POST", "/reviews", 201, body))["review_id"])
        for start in range(LIST_CHUNK, len(ids), LIST_CHUNK):
            more = {"household_ids": ids[start : start + LIST_CHUNK]}
            await self.call("POST", f"/reviews/{review_id}/households", 200, more)
        return review_id

    async def _recognise(self, review_id: str, invited: int) -> None:
        """Meeting (everyone invited comes and agrees), posting, recognition."""
        meeting = {
            "held_on": MEETING_ON,
            "invited_households": invited,
            "attendees": invited,
            "agreeing": invited,
            "chaired_by_village_head": True,
            "supervised_by_fatherland_front": True,
            "minutes": "Biên bản họp thôn (bench)",
        }
        await self.call("POST", f"/reviews/{review_id}/meetings", 201, meeting)
        await self.call("POST", f"/reviews/{review_id}/posting", 200, {"posted_on": POSTED_ON})
        recognised = await self.call(
            "POST", f"/reviews/{review_id}/recognition", 200, {"recognised_on": RECOGNISED_ON}
        )
        self.tally.reclassified += len(recognised["reclassified_household_ids"])


SURVEY_COLUMNS = (
    "household_id",
    "review_id",
    "assessed_on",
    "standard_code",
    "income_per_person_month",
    "deprived_indicators",
)
CSV = "text/csv; charset=utf-8"


def _survey_file(
    households: Sequence[Listed], surveys: dict[str, dict[str, Any]], review_id: str
) -> bytes:
    """The village's surveys as the assessment import takes them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SURVEY_COLUMNS)
    for h in households:
        survey = surveys[h.ref]
        writer.writerow(
            (
                h.household_id,
                review_id,
                survey["assessed_on"],
                survey["standard_code"],
                survey["income_per_person_month"],
                ";".join(survey["deprived_indicators"]),
            )
        )
    return out.getvalue().encode()


def _template(path: str) -> str:
    parts = path.strip("/").split("/")
    return "/" + "/".join("{id}" if len(p) == 36 else p for p in parts)


def by_village(households: Iterable[Listed]) -> list[list[Listed]]:
    villages: dict[tuple[str, str], list[Listed]] = defaultdict(list)
    for household in households:
        villages[(household.commune_code, household.village)].append(household)
    return list(villages.values())


async def review_district(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    surveys: dict[str, dict[str, Any]],
    *,
    concurrency: int = 16,
) -> ReviewTally:
    """Run every village's review to recognition; what was done."""
    office = ReviewOffice(client, headers, concurrency)
    villages = by_village(await office.listed())
    # A few villages at a time: the requests in flight stay bounded by the office's slots,
    # and a village's recognition overlaps the next villages' surveys as in a real district.
    lanes = asyncio.Semaphore(4)

    async def one(village: list[Listed]) -> None:
        async with lanes:
            await office.review_village(village, surveys)

    await asyncio.gather(*(one(v) for v in villages))
    return office.tally
