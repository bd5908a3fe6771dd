"""The district generator: a reproducible, importable, realistic Tịnh Biên for `make run`."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tracemalloc
from collections import Counter, defaultdict
from datetime import date
from itertools import groupby
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from deploy.local.district.data import (
    COMMUNES,
    DISTRICT_CODE,
    PROVINCE_CODE,
    admin_units_document,
)
from deploy.local.district.generator import (
    ASSESSMENT_COLUMNS,
    CSV_COLUMNS,
    GeneratedHousehold,
    apportion,
    assessments_path,
    generate_app,
    generate_district,
    main_generate,
    write_assessments_csv,
    write_district,
    write_households_csv,
    write_households_ndjson,
)
from deploy.local.district.names import KHMER_LEADING_NAMES, KHMER_PREFIXES, KINH_FAMILY_NAMES
from deploy.local.district.people import CitizenIdIssuer
from services.households.commands.household_import import CSV_COLUMNS as IMPORT_CSV_COLUMNS
from services.households.domain import parse_citizen_id, validate_citizen_id
from services.households.domain.standards import PovertyClass, standard_by_code, standard_for
from services.households.schemas import HouseholdIn, PersonIn
from shared.admin_units import admin_unit, admin_units_on
from shared.bulk import SourceFormat, read_records

CALIBRATION_SIZE = 20_000
KHMER_MAJORITY = {c.code for c in COMMUNES if c.khmer_share > 0.5}
KINH_MAJORITY = {c.code for c in COMMUNES if c.khmer_share < 0.2}


@pytest.fixture(scope="module")
def district() -> list[GeneratedHousehold]:
    return list(generate_district(2019, CALIBRATION_SIZE))


def rates(households: list[GeneratedHousehold]) -> tuple[float, float]:
    found = Counter(h.classification().poverty_class for h in households)
    return found[PovertyClass.POOR] / len(households), found[PovertyClass.NEAR_POOR] / len(
        households
    )


class TestReproducibility:
    def test_the_same_seed_writes_the_same_bytes(self, tmp_path: Path) -> None:
        for run in ("a", "b"):
            write_district(tmp_path / f"{run}.csv", generate_district(11, 300))
            write_district(tmp_path / f"{run}.ndjson", generate_district(11, 300))
        for name in ("{}.csv", "{}.assessments.csv", "{}.ndjson"):
            first = (tmp_path / name.format("a")).read_bytes()
            assert first and first == (tmp_path / name.format("b")).read_bytes()

    def test_separate_processes_write_the_same_bytes(self, tmp_path: Path) -> None:
        for run, hash_seed in (("a", "1"), ("b", "2")):  # str hashing differs per process
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "deploy.local.district",
                    "--seed",
                    "8",
                    "--households",
                    "60",
                    "--out",
                    str(tmp_path / f"{run}.csv"),
                ],
                check=True,
                capture_output=True,
                env={**os.environ, "PYTHONHASHSEED": hash_seed},
            )
        for name in ("{}.csv", "{}.assessments.csv"):
            assert (tmp_path / name.format("a")).read_bytes() == (
                tmp_path / name.format("b")
            ).read_bytes()

    def test_another_seed_writes_other_households(self, tmp_path: Path) -> None:
        write_households_csv(tmp_path / "a.csv", generate_district(11, 300))
        write_households_csv(tmp_path / "b.csv", generate_district(12, 300))
        assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "b.csv").read_bytes()

    def test_the_one_pass_writer_matches_the_separate_writers(self, tmp_path: Path) -> None:
        write_district(tmp_path / "both.csv", generate_district(5, 200))
        write_households_csv(tmp_path / "rows.csv", generate_district(5, 200))
        write_assessments_csv(tmp_path / "survey.csv", generate_district(5, 200))
        write_district(tmp_path / "both.ndjson", generate_district(5, 200))
        write_households_ndjson(tmp_path / "rows.ndjson", generate_district(5, 200))
        assert (tmp_path / "both.csv").read_bytes() == (tmp_path / "rows.csv").read_bytes()
        assert (
            assessments_path(tmp_path / "both.csv").read_bytes()
            == (tmp_path / "survey.csv").read_bytes()
        )
        assert (tmp_path / "both.ndjson").read_bytes() == (tmp_path / "rows.ndjson").read_bytes()


class TestImportFiles:
    def test_csv_columns_are_the_import_columns(self) -> None:
        assert CSV_COLUMNS == IMPORT_CSV_COLUMNS

    def test_csv_reads_back_grouped_by_household_into_valid_households(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "district.csv"
        assert write_households_csv(path, generate_district(3, 400)) == 400
        with path.open("rb") as file:
            records = list(read_records(file, SourceFormat.CSV, columns=IMPORT_CSV_COLUMNS))
        rows = [r.data for r in records if r.data is not None]
        assert len(rows) == len(records)
        groups = [list(group) for _, group in groupby(rows, lambda row: row["household_ref"])]
        assert len(groups) == len({g[0]["household_ref"] for g in groups}) == 400
        for group in groups:
            household = {name: group[0][name] for name in CSV_COLUMNS[1:7] if name in group[0]}
            members = [
                PersonIn.model_validate({k: v for k, v in row.items() if k in CSV_COLUMNS[7:]})
                for row in group
            ]
            HouseholdIn.model_validate({**household, "members": members})

    def test_ndjson_objects_are_import_bodies_with_a_household_ref(self, tmp_path: Path) -> None:
        path = tmp_path / "district.ndjson"
        write_households_ndjson(path, generate_district(3, 200))
        with path.open("rb") as file:
            records = list(read_records(file, SourceFormat.NDJSON))
        assert len(records) == 200
        for record in records:
            data = dict(record.data or {})
            assert data.pop("household_ref").startswith("TB-")
            HouseholdIn.model_validate(data)  # extra="forbid": nothing else may be in it

    def test_assessments_csv_has_a_row_per_household_with_known_indicators(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "survey.csv"
        write_assessments_csv(path, generate_district(3, 300))
        with path.open("rb") as file:
            rows = [
                r.data or {}
                for r in read_records(file, SourceFormat.CSV, columns=ASSESSMENT_COLUMNS)
            ]
        assert len(rows) == 300
        for row in rows:
            standard = standard_by_code(row["standard_code"])
            named = row.get("deprived_indicators", "")
            assert set(named.split(";")) - {""} <= set(standard.indicators)
            assert int(row["income_per_person_month"]) > 0


class TestHouseholds:
    def test_every_household_is_a_valid_registration(
        self, district: list[GeneratedHousehold]
    ) -> None:
        for household in district:
            HouseholdIn.model_validate(household.body())

    def test_sizes_run_from_one_to_eight_averaging_about_3_8(
        self, district: list[GeneratedHousehold]
    ) -> None:
        sizes = [len(h.members) for h in district]
        assert min(sizes) == 1 and max(sizes) == 8
        assert 3.6 <= statistics.mean(sizes) <= 4.0

    def test_ages_agree_with_relations(self, district: list[GeneratedHousehold]) -> None:
        for household in district:
            head, *others = household.members
            assert head.relation_to_head == "head" and 2019 - head.date_of_birth.year >= 18
            for person in others:
                gap = person.date_of_birth.year - head.date_of_birth.year
                if person.relation_to_head == "spouse":
                    assert person.sex != head.sex and 2019 - person.date_of_birth.year >= 18
                elif person.relation_to_head == "child":
                    assert 19 <= gap <= 42
                elif person.relation_to_head == "grandchild":
                    assert gap >= 40
                else:
                    assert person.relation_to_head == "parent" and -35 <= gap <= -20

    def test_townships_are_urban_and_communes_rural(
        self, district: list[GeneratedHousehold]
    ) -> None:
        townships = {c.code for c in COMMUNES if c.township}
        assert {h.area for h in district if h.commune_code in townships} == {"urban"}
        assert {h.area for h in district if h.commune_code not in townships} == {"rural"}

    def test_households_per_commune_follow_the_populations(
        self, district: list[GeneratedHousehold]
    ) -> None:
        counted = Counter(h.commune_code for h in district)
        population = sum(c.population for c in COMMUNES)
        for commune in COMMUNES:
            share = commune.population / population
            assert counted[commune.code] / len(district) == pytest.approx(share, abs=0.001)
        assert apportion(10, [1, 1, 1]) == [4, 3, 3] and sum(apportion(7, [0.2, 0.5])) == 7

    def test_a_year_without_a_standard_or_a_negative_count_fails_at_once(self) -> None:
        with pytest.raises(ValueError, match="no poverty standard"):
            generate_district(1, 10, year=2010)
        with pytest.raises(ValueError, match="households"):
            generate_district(1, -1)


class TestCitizenIds:
    def test_every_id_is_valid_for_its_holder_and_unique(
        self, district: list[GeneratedHousehold]
    ) -> None:
        seen: set[str] = set()
        for person in (p for h in district for p in h.members):
            validate_citizen_id(
                person.citizen_id, sex=person.sex, date_of_birth=person.date_of_birth
            )
            assert parse_citizen_id(person.citizen_id).province_code == "089"
            assert person.citizen_id not in seen
            seen.add(person.citizen_id)

    def test_serials_of_one_birth_year_do_not_repeat(self) -> None:
        issuer = CitizenIdIssuer(offset=123)
        issued = [issuer.issue("female", 2001) for _ in range(200_000)]
        assert len(set(issued)) == len(issued)
        assert {cid[:6] for cid in issued} == {"089301"}


class TestNames:
    def test_names_follow_ethnicity(self, district: list[GeneratedHousehold]) -> None:
        prefixed = Counter[str]()
        for person in (p for h in district for p in h.members):
            first = person.full_name.split()[0]
            if person.ethnicity == "Kinh":
                assert first in KINH_FAMILY_NAMES and len(person.full_name.split()) == 3
            else:
                assert first in KHMER_LEADING_NAMES
                if first in KHMER_PREFIXES.values():
                    assert first == KHMER_PREFIXES[person.sex]
                    prefixed[person.sex] += 1
        assert prefixed["male"] > 1000 and prefixed["female"] > 1000

    def test_kinh_children_of_a_father_heading_the_household_carry_his_family_name(
        self, district: list[GeneratedHousehold]
    ) -> None:
        checked = 0
        for household in district:
            head = household.members[0]
            if head.ethnicity != "Kinh" or head.sex != "male":
                continue
            for child in (m for m in household.members if m.relation_to_head == "child"):
                assert child.full_name.split()[0] == head.full_name.split()[0]
                checked += 1
        assert checked > 5000

    def test_khmer_households_are_a_third_and_concentrated_in_the_mountain_communes(
        self, district: list[GeneratedHousehold]
    ) -> None:
        khmer = [h.commune_code for h in district if h.ethnicity == "Khmer"]
        assert 0.28 <= len(khmer) / len(district) <= 0.40
        by_commune = Counter(h.commune_code for h in district)
        share = {code: Counter(khmer)[code] / by_commune[code] for code in by_commune}
        assert min(share[c] for c in KHMER_MAJORITY) > 0.5 > max(share[c] for c in KINH_MAJORITY)


class TestPovertyRates:
    def test_decision_59_gives_the_target_rates(self, district: list[GeneratedHousehold]) -> None:
        assert {h.survey.standard_code for h in district} == {"QD-59-2015"}
        poor, near_poor = rates(district)
        assert 0.06 <= poor <= 0.10
        assert 0.05 <= near_poor <= 0.08

    def test_another_seed_stays_in_the_bands(self) -> None:
        poor, near_poor = rates(list(generate_district(77, 6_000)))
        assert 0.06 <= poor <= 0.10 and 0.05 <= near_poor <= 0.08

    def test_khmer_majority_communes_are_poorer(self, district: list[GeneratedHousehold]) -> None:
        by_commune: dict[str, list[GeneratedHousehold]] = defaultdict(list)
        for household in district:
            by_commune[household.commune_code].append(household)
        poorest_kinh = max(rates(by_commune[c])[0] for c in KINH_MAJORITY)
        assert min(rates(by_commune[c])[0] for c in KHMER_MAJORITY) > poorest_kinh

    def test_deprivations_concentrate_among_the_poor(
        self, district: list[GeneratedHousehold]
    ) -> None:
        counts: dict[PovertyClass, list[int]] = defaultdict(list)
        for household in district:
            counts[household.classification().poverty_class].append(
                len(household.survey.deprived_indicators)
            )
        mean = {k: statistics.mean(v) for k, v in counts.items()}
        assert mean[PovertyClass.POOR] > mean[PovertyClass.NEAR_POOR] > mean[PovertyClass.NOT_POOR]

    def test_surveys_fall_in_the_review_weeks_under_the_standard_in_force(self) -> None:
        for household in generate_district(4, 300, year=2023):
            survey = household.survey
            assert date(2023, 9, 1) <= survey.assessed_on <= date(2023, 11, 30)
            assert survey.standard_code == standard_for(survey.assessed_on).code == "ND-07-2021"
            household.classification()  # every indicator belongs to the standard


class TestAdminUnits:
    def test_2019_has_three_tiers_with_the_14_units_under_the_district(self) -> None:
        units = admin_units_on(date(2019, 6, 1))
        communes = [u for u in units if u.level == "commune"]
        assert len(communes) == 14 and {u.parent_code for u in communes} == {DISTRICT_CODE}
        assert admin_unit(DISTRICT_CODE, date(2019, 6, 1)).parent_code == PROVINCE_CODE
        assert {u.code for u in communes} == {c.code for c in COMMUNES}

    def test_since_july_2025_two_tiers_hold_every_former_commune(self) -> None:
        on = date(2025, 7, 1)
        units = admin_units_on(on)
        assert {u.level for u in units} == {"province", "commune"}
        province = next(u for u in units if u.level == "province")
        communes = {u.code: u for u in units if u.level == "commune"}
        assert {u.parent_code for u in communes.values()} == {province.code}
        assert {c.successor_code for c in COMMUNES} == set(communes)
        assert not any(u.confirmed for u in units)

    def test_a_reused_code_names_different_units_at_different_dates(self) -> None:
        assert admin_unit("30526", date(2025, 6, 30)).name == "Xã An Cư"
        assert admin_unit("30526", date(2025, 7, 1)).parent_code != DISTRICT_CODE
        with pytest.raises(KeyError):
            admin_unit("30523", date(2025, 7, 1))  # Văn Giáo was merged into An Cư

    def test_the_document_loads_as_the_employment_service_units_file(self, tmp_path: Path) -> None:
        from services.employment.commands.admin_units import read_units_file

        path = tmp_path / "units.json"
        path.write_text(json.dumps(admin_units_document(), ensure_ascii=False), encoding="utf-8")
        loaded = read_units_file(path)
        assert len(loaded) == len(admin_units_document()["units"])
        assert any(u.valid_from == date(2025, 7, 1) for u, _ in loaded)


class TestScale:
    def test_memory_does_not_grow_with_the_number_of_households(self, tmp_path: Path) -> None:
        def peak(households: int) -> int:
            tracemalloc.start()
            try:
                write_district(tmp_path / "scale.csv", generate_district(9, households))
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

        small, large = peak(300), peak(3_000)
        # Keeping the households would cost about 1.7 kB each: 4.6 MB more for the large run.
        assert large < small * 1.5 + 200_000


class TestCommandLine:
    def test_main_generate_writes_households_and_survey_inputs(self, tmp_path: Path) -> None:
        out = tmp_path / "data" / "district.csv"
        assert main_generate(["--seed", "3", "--households", "40", "--out", str(out)]) == 0
        assert out.read_text(encoding="utf-8").startswith(",".join(CSV_COLUMNS))
        assert len(assessments_path(out).read_text(encoding="utf-8").splitlines()) == 41

    def test_mounted_as_a_subcommand_it_takes_the_same_options(self, tmp_path: Path) -> None:
        app = typer.Typer()
        app.add_typer(generate_app, name="generate")

        @app.command()
        def other() -> None:  # a second command, so `generate` is a real sub-command
            """Stand-in for the other ansinh commands."""

        out = tmp_path / "d.ndjson"
        result = CliRunner().invoke(
            app, ["generate", "--seed", "2019", "--households", "25", "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert len(out.read_text(encoding="utf-8").splitlines()) == 25
        assert "25 households" in result.output

    def test_a_year_without_a_standard_is_a_usage_error(self, tmp_path: Path) -> None:
        assert main_generate(["--year", "2010", "--out", str(tmp_path / "x.csv")]) == 2
        assert not (tmp_path / "x.csv").exists()
