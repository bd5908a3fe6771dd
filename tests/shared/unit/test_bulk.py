"""Reading import files: CSV, JSON arrays and NDJSON, a record at a time, errors by line."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from pydantic import BaseModel, Field

from shared.bulk import (
    ErrorLog,
    ImportReport,
    MalformedFile,
    Record,
    SourceFormat,
    read_records,
    record_chunks,
    rejected_import,
    validate_record,
)


class Member(BaseModel):
    citizen_id: str = Field(pattern=r"^\d{12}$")
    born: date
    note: str | None = None


def csv_file(text: str, *, bom: bool = False) -> io.BytesIO:
    return io.BytesIO((b"\xef\xbb\xbf" if bom else b"") + text.encode())


def records(data: io.BytesIO, fmt: SourceFormat = SourceFormat.CSV, **kw: object) -> list[Record]:
    return list(read_records(data, fmt, **kw))  # type: ignore[arg-type]


def test_csv_with_a_bom_reads_the_first_column_by_its_name() -> None:
    rows = records(
        csv_file("citizen_id,born\r\n089080000001,1980-05-17\r\n", bom=True),
        columns=["citizen_id", "born"],
    )
    assert rows == [Record(2, {"citizen_id": "089080000001", "born": "1980-05-17"})]


def test_csv_rows_carry_their_physical_line_across_blank_lines_and_quoted_newlines() -> None:
    text = (
        'citizen_id,born,note\n089080000001,1980-05-17,"two\nlines"\n\n089080000002,1980-05-17,\n'
    )
    rows = records(csv_file(text))
    assert [r.line for r in rows] == [2, 5]
    assert rows[0].data == {
        "citizen_id": "089080000001",
        "born": "1980-05-17",
        "note": "two\nlines",
    }
    assert rows[1].data == {"citizen_id": "089080000002", "born": "1980-05-17"}  # empty = missing


def test_bad_csv_rows_are_reported_by_line_and_column() -> None:
    text = (
        "citizen_id,born\n089080000001,1980-05-17\n12345,1980-05-17\n089080000003,\n"
        "089080000004,1980-05-17,extra\n"
    )
    errors = ErrorLog()
    valid = [validate_record(Member, r, errors) for r in records(csv_file(text))]
    assert [m is not None for m in valid] == [True, False, False, False]
    assert [(e.line, e.field) for e in errors.kept] == [(3, "citizen_id"), (4, "born"), (5, None)]
    assert "3 cells" in errors.kept[2].message
    assert "12345" not in " ".join(e.message for e in errors.kept)  # no input echoed back


def test_validation_errors_can_name_the_column_of_the_file() -> None:
    errors = ErrorLog()
    validate_record(
        Member, Record(7, {"citizen_id": "1", "born": "2000-01-01"}), errors, citizen_id="cccd"
    )
    assert [(e.line, e.field) for e in errors.kept] == [(7, "cccd")]


def test_csv_header_must_name_the_expected_columns() -> None:
    with pytest.raises(MalformedFile) as caught:
        records(csv_file("citizen_id,birth\n1,2\n"), columns=["citizen_id", "born"])
    assert caught.value.line == 1
    assert "missing columns: born" in caught.value.message
    assert "unknown columns: birth" in caught.value.message


def test_an_empty_file_has_no_header() -> None:
    with pytest.raises(MalformedFile, match="empty"):
        records(csv_file(""))


def test_invalid_utf8_names_its_line() -> None:
    data = io.BytesIO(b"citizen_id,born\n089080000001,1980-05-17\nNguy\xe1n,1980-05-17\n")
    with pytest.raises(MalformedFile) as caught:
        records(data)
    assert caught.value.line == 3
    assert "UTF-8" in caught.value.message


def test_ndjson_records_are_numbered_by_line_and_bad_lines_do_not_stop_reading() -> None:
    data = io.BytesIO(
        b'\xef\xbb\xbf{"citizen_id": "089080000001"}\n\n{"citizen_id": \n[1, 2]\n'
        b'{"citizen_id": "089080000002"}\n'
    )
    rows = records(data, SourceFormat.NDJSON)
    assert [(r.line, r.data is not None) for r in rows] == [
        (1, True),
        (3, False),
        (4, False),
        (5, True),
    ]
    assert rows[1].problem and "not valid JSON" in rows[1].problem
    assert rows[2].problem == "expected a JSON object, got list"


def test_json_array_elements_are_numbered_by_index() -> None:
    items = [
        {"citizen_id": "089080000001", "born": "1980-05-17", "weight": 1.5},
        "x",
        {"citizen_id": "089080000002"},
    ]
    rows = records(io.BytesIO(b"\xef\xbb\xbf" + json.dumps(items).encode()), SourceFormat.JSON)
    assert [(r.line, r.data) for r in rows] == [(0, items[0]), (1, None), (2, items[2])]
    assert isinstance(rows[0].data and rows[0].data["weight"], float)


async def test_a_truncated_json_array_yields_what_came_before_then_fails() -> None:
    data = io.BytesIO(b'[{"citizen_id": "089080000001"}, {"citizen_id": "0890')
    seen: list[Record] = []
    with pytest.raises(MalformedFile) as caught:
        async for chunk in record_chunks(data, SourceFormat.JSON, size=10):
            seen += chunk
    assert [r.line for r in seen] == [0]
    assert caught.value.line == 1


def test_reading_is_incremental() -> None:
    """The first record comes after reading a small part of a large file, not all of it."""
    for fmt, body in [
        (SourceFormat.CSV, b"citizen_id,born\n" + b"089080000001,1980-05-17\n" * 100_000),
        (SourceFormat.NDJSON, b'{"citizen_id": "089080000001"}\n' * 100_000),
        (SourceFormat.JSON, b"[" + b",".join([b'{"citizen_id": "089080000001"}'] * 100_000) + b"]"),
    ]:
        data = io.BytesIO(body)
        first = next(read_records(data, fmt))
        assert first.data is not None
        assert data.tell() < len(body) // 10, fmt


async def test_chunks_cover_the_whole_file_each_time_it_is_read() -> None:
    data = csv_file("citizen_id,born\n" + "".join(f"08908000000{i},1980-05-17\n" for i in range(7)))
    for _ in range(2):
        sizes = [len(chunk) async for chunk in record_chunks(data, SourceFormat.CSV, size=3)]
        assert sizes == [3, 3, 1]


def test_error_log_keeps_the_first_errors_and_counts_all() -> None:
    errors = ErrorLog(limit=3)
    for line in range(10, 5, -1):
        errors.add(line, "born", "bad date")
    report = ImportReport()
    errors.fill(report)
    assert report.error_count == 5
    assert [e.line for e in report.errors] == [8, 9, 10]  # the first three found, by line
    assert report.truncated_errors


def test_a_rejected_import_is_a_422_problem_carrying_the_report() -> None:
    errors = ErrorLog()
    errors.add(4, "citizen_id", "bad")
    errors.add(9, None, "unreadable")
    report = ImportReport(unit="household", accepted=5, rejected=2)
    errors.fill(report)
    problem = rejected_import(report)
    assert problem.status == 422
    assert problem.detail == (
        "2 of 7 households are invalid; nothing was imported. line 4, citizen_id: bad (and 1 more)"
    )
    assert problem.extra["report"]["errors"][1] == {
        "line": 9,
        "field": None,
        "message": "unreadable",
    }
