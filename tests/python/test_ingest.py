"""The file loader: every batch reconciles, bad files fail alone and say why.

Files are built here with Python, loaded into a warehouse in tmp_path, and checked
through the raw landing tables. CLI behaviour (exit code, one-line stderr, no
traceback) is checked by running `python -m api_trust.ingest` as a subprocess.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from api_trust import ingest
from api_trust.contract import PROJECT_ROOT
from api_trust.warehouse import connect, ensure_raw_tables
from conftest import held

FULL = ["request_id", "timestamp", "api_name", "api_version", "region", "client_type",
        "client_id", "document_type", "verification_id", "attempt_no", "status", "status_code",
        "latency_ms", "error_reason", "error_message"]  # fmt: skip
ORIGINAL = ["timestamp", "api_name", "api_version", "region", "client_type", "document_type",
            "status", "status_code", "latency_ms", "error_reason"]  # fmt: skip


def record(i: int, columns: list[str]) -> list[str]:
    """One plausible log record for record number i, in the given column order."""
    failed = i % 7 == 0
    values = {
        "request_id": f"req_{i:06d}",
        "timestamp": f"2026-10-01 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
        "api_name": ("pan_verify", "aadhaar_ekyc", "face_match")[i % 3],
        "api_version": "v2",
        "region": ("Metro", "Tier1", "Rural")[i % 3],
        "client_type": "FinTech",
        "client_id": f"C{i % 40:04d}",
        "document_type": "pan",
        "verification_id": f"ver_{i // 2:06d}",
        "attempt_no": str(1 + i % 2),
        "status": "fail" if failed else "success",
        "status_code": "422" if failed else "200",
        "latency_ms": f"{100 + i % 250}.5",
        "latency": str(100 + i % 250),
        "error_reason": "blurry_image" if failed else "",
        "error_message": "Image quality, low: recapture" if failed else "",
        "sdk_version": f"mobile-sdk-5.{i % 3}",
    }
    return [values[c] for c in columns]


def csv_text(n: int, columns: list[str] = FULL, newline: str = "\n") -> str:
    """A clean CSV with a header and n records (fields with commas are quoted)."""

    def cell(v: str) -> str:
        return f'"{v}"' if "," in v else v

    lines = [",".join(columns)] + [
        ",".join(cell(v) for v in record(i, columns)) for i in range(1, n + 1)
    ]
    return newline.join(lines) + newline


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("API_TRUST_DB", str(path))
    return path


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def load(*paths: Path) -> int:
    return ingest.load_files([str(p) for p in paths])


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def batches(db: Path) -> list[tuple]:
    """(batch_id, source_name, format, records, landed, rejected, columns) of every batch."""
    return rows(db, """
        select batch_id, source_name, source_format, record_count, landed_count,
               rejected_count, columns_seen
        from raw.load_batches order by loaded_at, batch_id
    """)  # fmt: skip


def assert_reconciled(db: Path) -> None:
    """Per batch: landed + rejected == records, and the raw tables hold exactly those rows."""
    bad = rows(db, """
        select b.batch_id, b.record_count, b.landed_count, b.rejected_count,
               (select count(*) from raw.api_calls c where c.batch_id = b.batch_id),
               (select count(*) from raw.load_rejects r where r.batch_id = b.batch_id),
               (select count(distinct source_record_no) from raw.api_calls c
                where c.batch_id = b.batch_id)
        from raw.load_batches b
    """)  # fmt: skip
    for batch_id, records, landed, rejected, calls, rejects, distinct_no in bad:
        assert landed + rejected == records, batch_id
        assert (calls, rejects, distinct_no) == (landed, rejected, landed), batch_id


def cli(*args: str | Path, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "API_TRUST_DB": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "api_trust.ingest", *map(str, args)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --------------------------------------------------------------------------- pure parts


def test_profile_counts_records_not_lines() -> None:
    text = 'a,b\r\n1,"x\r\ny"\r\n\r\n2,z\r\n3,"p,q"\r\n'
    profile = ingest.profile_csv(text.splitlines(keepends=True))
    assert profile.header == ("a", "b")
    assert profile.record_count == 3
    # record 2 starts on reader line 4 (blank line counted, quoted newline not)...
    assert profile.locate(4) == (2, 5)
    # ... and the blank line is no record.
    assert profile.locate(3) is None


def test_profile_one_column_blank_line_is_a_record() -> None:
    assert ingest.profile_csv(["timestamp\n", "1\n", "\n", "2\n"]).record_count == 3


def test_profile_unterminated_quote_is_one_last_record() -> None:
    lines = ["a,b\n", "1,x\n", '2,"y\n', "3,z\n", "4,w\n"]
    profile = ingest.profile_csv(lines)
    assert profile.record_count == 2
    assert profile.locate(3) == (2, 3)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["200"] * 99 + ["oops"], "BIGINT"),  # a dirty value is not a type change
        (["200"] * 90 + ["oops"] * 10, "VARCHAR"),
        (["12", "12.5"] * 50, "DOUBLE"),
        (["1790000000000"] * 100, "BIGINT"),  # epoch milliseconds
        (["2026-10-01T10:00:00Z"] * 100, "TIMESTAMP"),
        (["true", "false"] * 50, "BOOLEAN"),
        (["", None] * 50, "VARCHAR"),
    ],
)
def test_sniff_type_by_majority(values: list[str | None], expected: str) -> None:
    con = duckdb.connect()
    con.execute("create table s (c1 varchar, ordinality bigint)")
    con.executemany("insert into s values (?, ?)", [[v, i] for i, v in enumerate(values, 1)])
    counts = con.execute(ingest._sniff_sql(["c1"], "s")).fetchone()
    assert ingest.sniff_type(counts[0], dict(zip(ingest.TYPE_LADDER, counts[1:], strict=True))) == (
        expected
    )


def test_plan_columns_normalises_and_refuses() -> None:
    plan = ingest.plan_columns([" Timestamp ", "LATENCY", "sdk_version"])
    assert plan.delivered == ("timestamp", "latency", "sdk_version")
    assert plan.targets == ("timestamp", "latency_ms", None)  # alias -> contract; extra field
    with pytest.raises(ingest.FileError, match="known log column"):
        ingest.plan_columns(["a", "b"])
    with pytest.raises(ingest.FileError, match=r"repeats column\(s\) status \(positions 1, 2\)"):
        ingest.plan_columns(["status", "Status "])
    with pytest.raises(ingest.FileError, match="lineage"):
        ingest.plan_columns(["status", "batch_id"])


def test_plan_columns_refuses_empty_names_with_their_position() -> None:
    # Issue 8, defect 9: an empty header name used to become `column_4`.
    with pytest.raises(ingest.FileError, match="position 2, 4 without a name"):
        ingest.plan_columns(["status", " ", "api_name", ""])


def test_names_other_generators_use_land_as_ours(db: Path, tmp_path: Path, capsys) -> None:
    """A log whose columns carry other common names (vars.log_column_aliases) lands them
    under ours: nothing required is reported missing that it delivers."""
    path = write(tmp_path / "other.csv",
                 "event_timestamp,endpoint_name,method,path,http_status_code,response_time_ms\n"
                 "2026-10-01 10:00:00,pan_verify,POST,/v1/pan/verify,200,85.5\n"
                 "2026-10-01 10:00:01,face_match,POST,/v2/face/match,503,12\n")  # fmt: skip
    assert load(path) == 0
    assert rows(db, """
        select timestamp, api_name, http_method, route, status_code, latency_ms
        from raw.api_calls order by source_record_no
    """) == [("2026-10-01 10:00:00", "pan_verify", "POST", "/v1/pan/verify", "200", "85.5"),
             ("2026-10-01 10:00:01", "face_match", "POST", "/v2/face/match", "503", "12")]  # fmt: skip
    err = capsys.readouterr().err
    assert not re.search(
        r"no column for required field\(s\) [^\n]*(timestamp|api_name|status_code|latency_ms)", err
    ), err


def test_a_file_without_a_status_or_a_timestamp_says_every_record_will_be_quarantined(
    db: Path, tmp_path: Path, capsys
) -> None:
    """A JSON log whose outcome is nested (`http.status`) or named as no alias says (`outcome`)
    landed without a word, and the build then quarantined every record. The load still lands
    it (nothing is lost), and says what is missing, why it matters and what to do."""
    record = ('{"ts": "2026-10-01T10:00:00Z", "api": "face-match", "outcome": "ok", '
              '"http": {"status": 200}}\n')  # fmt: skip
    nested = write(tmp_path / "nested.jsonl", record * 3)
    timeless = write(tmp_path / "timeless.csv", "api_name,status_code\nPAN_OCR,200\n")
    assert load(nested) == 0 and load(timeless) == 0
    err = capsys.readouterr().err
    assert re.search(r"nested\.jsonl: no field maps to status or status_code \(reason "
                     r"missing_column_status\): every record of this batch will be quarantined", err), err  # fmt: skip
    assert re.search(r"timeless\.csv: no field maps to timestamp \(reason missing_column_timestamp\)"
                     r": every record", err), err  # fmt: skip
    assert "nested.jsonl: no field maps to timestamp" not in err
    assert rows(db, "select count(*) from raw.api_calls") == [(4,)]


def test_names_spelt_as_people_and_programs_write_them_land_as_ours(
    db: Path, tmp_path: Path, capsys
) -> None:
    """`API Name`, `Latency (ms)` (a spreadsheet's header) and `statusCode`, `timeStamp`
    (JSON's camelCase) were extra fields: every record was quarantined for want of an API
    name, a timestamp and a status. Names are compared in letters and digits, any case."""
    csv = write(tmp_path / "sheet.csv",
                "Time Stamp,API Name,Status Code,Latency (ms),Error-Reason\n"
                "2026-10-01 10:00:00,PAN_OCR,503,85.5,upstream_timeout\n")  # fmt: skip
    json = write(tmp_path / "camel.jsonl",
                 '{"timeStamp": "2026-10-01T10:00:01Z", "apiName": "FACE_MATCH", '
                 '"statusCode": 200, "durationMs": 12, "requestID": "r-1"}\n')  # fmt: skip
    assert load(csv) == 0 and load(json) == 0
    assert rows(db, """
        select timestamp, api_name, status_code, latency_ms, error_reason, request_id
        from raw.api_calls order by source_name
    """) == [("2026-10-01T10:00:01Z", "FACE_MATCH", "200", "12", None, "r-1"),
             ("2026-10-01 10:00:00", "PAN_OCR", "503", "85.5", "upstream_timeout", None)]  # fmt: skip
    assert "no field maps to" not in capsys.readouterr().err


def test_two_aliases_of_one_column_are_refused() -> None:
    # Issue 8, defect 8: `duration_ms` and `latency` both mean latency_ms; one was kept silently.
    with pytest.raises(ingest.FileError, match="duration_ms and latency both mean latency_ms"):
        ingest.plan_columns(["timestamp", "duration_ms", "latency"])
    with pytest.raises(ingest.FileError, match="latency_ms and latency both mean latency_ms"):
        ingest.plan_columns(["latency_ms", "latency"])


def test_too_many_columns_are_refused_with_the_limit() -> None:
    # Issue 8, defect 6: 10,000 columns never finished; now a clear error past vars.max_columns.
    header = ["timestamp", *(f"x{i}" for i in range(600))]
    with pytest.raises(ingest.FileError, match="601 columns, more than the limit of 500"):
        ingest.plan_columns(header)


def test_reconcile_warns_when_counts_differ() -> None:
    profile = ingest.profile_csv(["a,b\n", "1,2\n", "3,4\n", "5,6\n"])
    assert ingest.reconcile(profile, 2, [3]).in_step
    lost = ingest.reconcile(profile, 1, [3])
    assert not lost.in_step
    assert "dbt's reconciliation test" in lost.warnings[0]


# --------------------------------------------------------------------------- good files


def test_good_csv(db: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "calls.csv", csv_text(3000))
    assert load(path) == 0
    [(batch_id, name, fmt, records, landed, rejected, cols)] = batches(db)
    # no digit: a digest's digit run could read as personal data and fail every build
    assert re.fullmatch(r"file_[a-p]{12}", batch_id), batch_id
    assert (name, fmt, records, landed, rejected) == ("calls.csv", "csv", 3000, 3000, 0)
    assert cols == ",".join(FULL)
    assert rows(db, "select min(source_record_no), max(source_record_no) from raw.api_calls") == [
        (1, 3000)
    ]
    # the text is as delivered, quoted commas included, in file order
    assert rows(db, "select error_message from raw.api_calls where source_record_no = 7") == [
        ("Image quality, low: recapture",)
    ]
    types = dict(rows(db, "select column_name, sniffed_type from raw.load_batch_columns"))
    assert types["timestamp"] == "TIMESTAMP"
    assert types["status_code"] == types["attempt_no"] == "BIGINT"
    assert types["latency_ms"] == "DOUBLE"
    assert types["api_name"] == "VARCHAR"
    assert_reconciled(db)


def test_same_file_twice_is_skipped(db: Path, tmp_path: Path, capsys) -> None:
    path = write(tmp_path / "calls.csv", csv_text(50))
    assert load(path) == 0
    before = batches(db)
    assert load(path) == 0
    out = capsys.readouterr().out
    assert f"already loaded as batch {before[0][0]}" in out
    assert batches(db) == before
    assert rows(db, "select count(*) from raw.api_calls") == [(50,)]


def test_gzip_of_a_loaded_file_is_skipped(db: Path, tmp_path: Path, capsys) -> None:
    text = csv_text(50)
    plain = write(tmp_path / "a.csv", text)
    packed = write(tmp_path / "a.csv.gz", gzip.compress(text.encode()))
    assert load(plain, packed) == 0
    assert "skipped: already loaded" in capsys.readouterr().out
    assert [b[2] for b in batches(db)] == ["csv"]
    assert_reconciled(db)


def test_gzipped_file(db: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "calls.csv.gz", gzip.compress(csv_text(200).encode()))
    assert load(path) == 0
    [(_, name, fmt, records, landed, rejected, _)] = batches(db)
    assert (name, fmt, records, landed, rejected) == ("calls.csv.gz", "csv.gz", 200, 200, 0)


def test_crlf_and_bom(db: Path, tmp_path: Path) -> None:
    crlf = write(tmp_path / "crlf.csv", csv_text(100, newline="\r\n"))
    bom = write(tmp_path / "bom.csv", b"\xef\xbb\xbf" + csv_text(101).encode())
    assert load(crlf, bom) == 0
    assert sorted(b[3:6] for b in batches(db)) == [(100, 100, 0), (101, 101, 0)]
    # no stray \r in the last column, no BOM in the first column's name
    assert rows(db, "select count(*) from raw.api_calls where error_message like '%\r%'") == [(0,)]
    assert {b[6] for b in batches(db)} == {",".join(FULL)}
    assert rows(db, "select count(*) from raw.api_calls where request_id is null") == [(0,)]


@pytest.mark.parametrize("delimiter", ["\t", ";", "|"], ids=["tab", "semicolon", "pipe"])
def test_a_header_split_at_a_tab_semicolon_or_pipe_lands_every_field(
    db: Path, tmp_path: Path, delimiter: str
) -> None:
    """A spreadsheet that writes the comma as its decimal mark exports with `;`; other
    tools write tabs or `|`. The header says which: the delimiter that makes the most of
    its names known. Values land as delivered, a decimal comma too (`100,5`); the batch
    records its decimal mark, the comma for a `;` file only, for staging to read it by
    (test_log_shapes' spreadsheet export)."""

    def cell(value: str) -> str:
        return f'"{value}"' if delimiter in value or "," in value else value

    records = [record(i, FULL) for i in range(1, 31)]
    if delimiter == ";":
        at = FULL.index("latency_ms")
        records = [[*r[:at], r[at].replace(".", ","), *r[at + 1 :]] for r in records]
    text = "\n".join(delimiter.join(map(cell, r)) for r in [FULL, *records]) + "\n"
    assert load(write(tmp_path / "calls.csv", text)) == 0
    [(_, _, _, count, landed, rejected, columns)] = batches(db)
    assert (count, landed, rejected) == (30, 30, 0) and columns == ",".join(FULL)
    landed_rows = rows(
        db, f"select {', '.join(FULL)}, extra_fields from raw.api_calls order by request_id"
    )
    assert [list(r[:-1]) for r in landed_rows] == [[v or None for v in r] for r in records]
    assert {r[-1] for r in landed_rows} == {None}
    marks = rows(db, "select decimal_mark from raw.load_batches")
    assert marks == [("," if delimiter == ";" else ".",)]


@pytest.mark.parametrize(
    ("dates", "given", "order", "note"),
    [
        (["28/11/2026 10:00:00", "01/12/2026 10:05:00", "2026-12-01 11:00:00"], None, "dmy", None),
        (["11/28/2026 10:00:00", "12/1/2026 10:05:00", "1.2.2026 08:00"], None, "mdy", None),
        (["01/02/2026 10:00:00", "03-04-2026 10:00:00"], None, None, "neither number over 12"),
        (["13/02/2026 10:00:00", "02/13/2026 10:00:00"], None, None, "both a first and a second"),
        (["2026-11-28T10:00:00Z", "1764324000000"], None, None, None),
        # the user says what the values cannot; a date their order cannot read is noted
        (["01/02/2026 10:00:00", "03-04-2026 10:00:00"], "dmy", "dmy", None),
        (["01/02/2026 10:00:00", "13/04/2026 10:00:00"], "mdy", "mdy", "a month over 12"),
    ],
)
def test_dates_written_as_numbers_are_read_day_or_month_first_as_the_file_shows(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture, dates: list[str], given, order, note
) -> None:
    """`01/12/2026`: the 1st of December or the 12th of January, as the file's exporter
    wrote it. A number over 12 in either place says which; the batch records it for staging.
    A file where none says, or where both do, gets no order and a note saying its records
    will be quarantined, unless `--date-order` says which."""
    columns = ["request_id", "timestamp", "api_name", "latency_ms"]
    lines = [",".join(columns)] + [f"r{i},{d},pan_verify,100" for i, d in enumerate(dates)]
    path = write(tmp_path / "dates.csv", "\n".join(lines) + "\n")
    assert ingest.load_files([str(path)], date_order=given) == 0
    assert rows(db, "select date_order from raw.load_batches") == [(order,)]
    err = capsys.readouterr().err
    assert (note in err) if note else "dates written as numbers" not in err
    assert ("write the date as numbers" in err) == (given is None and order is None and bool(note))


def test_header_only_is_an_empty_batch(db: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "header.csv", ",".join(FULL) + "\n")
    assert load(path) == 0
    [(_, _, _, records, landed, rejected, _)] = batches(db)
    assert (records, landed, rejected) == (0, 0, 0)
    assert rows(db, "select count(*) from raw.load_batch_columns") == [(len(FULL),)]


def test_renamed_and_extra_columns_land_as_delivered(db: Path, tmp_path: Path) -> None:
    columns = [c if c != "latency_ms" else "latency" for c in FULL] + ["sdk_version"]
    path = write(tmp_path / "drift.csv", csv_text(40, columns))
    assert load(path) == 0
    # Values as delivered, under the contract name; the delivered name is the batch's record.
    assert rows(
        db,
        "select count(latency_ms), count(extra_fields->>'$.sdk_version'), "
        "min(extra_fields->>'$.sdk_version') from raw.api_calls",
    ) == [(40, 40, "mobile-sdk-5.0")]
    types = dict(rows(db, "select column_name, sniffed_type from raw.load_batch_columns"))
    assert types["latency"] == "BIGINT" and types["sdk_version"] == "VARCHAR"


def test_a_status_of_http_codes_lands_as_the_status_code(db: Path, tmp_path: Path, capsys) -> None:
    """Most logs call the HTTP status `status` (nginx's $status): ours is success or fail, and
    read as ours every record was `unknown_status`. A file with no status code field whose
    `status` holds codes lands it as the status code, and says so; one of our own
    success/fail words among codes (under 95% codes) stays ours, as does a file that has both."""
    codes = write(tmp_path / "codes.csv", "timestamp,api_name,status,latency_ms\n"
                  + "".join(f"2026-10-01 00:00:{i:02d},PAN_OCR,{(200, 503)[i % 2]},85\n"
                            for i in range(20)))  # fmt: skip
    lines = write(tmp_path / "codes.jsonl", "".join(
        json.dumps({"ts": "2026-10-01T00:01:00Z", "api": "PAN_OCR", "status": code, "latency": 9})
        + "\n" for code in (200, "404", " 200 ")))  # fmt: skip
    words = write(tmp_path / "words.csv", "timestamp,api_name,status,latency_ms\n"
                  + "".join(f"2026-10-01 00:02:{i:02d},PAN_OCR,{'fail' if i == 0 else 200},85\n"
                            for i in range(10)))  # fmt: skip
    assert load(codes, lines, words, write(tmp_path / "ours.csv", csv_text(5))) == 0
    err = capsys.readouterr().err
    for name in ("codes.csv", "codes.jsonl"):
        assert (f"{name}: field 'status' holds HTTP status codes (200, 503): landed as the "
                "status code") in err  # fmt: skip
    assert "words.csv: field 'status'" not in err and "ours.csv: field 'status'" not in err
    # codes.csv's warning of missing fields does not name the status code it delivered
    assert (
        re.search(r"codes\.csv: no column for required field\(s\) [^\n]*status_code", err) is None
    )
    landed = rows(db, """
        select b.source_name, count(a.status), count(a.status_code), min(a.status_code)
        from raw.api_calls a join raw.load_batches b using (batch_id) group by 1 order by 1
    """)  # fmt: skip
    assert landed == [("codes.csv", 0, 20, "200"), ("codes.jsonl", 0, 3, " 200 "),
                      ("ours.csv", 5, 5, "200"), ("words.csv", 10, 0, None)]  # fmt: skip
    # the batch's record of its columns says where `status` landed (the drift check reads it)
    assert rows(db, """
        select b.source_name, c.landed_as from raw.load_batch_columns c
        join raw.load_batches b using (batch_id) where c.column_name = 'status' order by 1
    """) == [("codes.csv", "status_code"), ("codes.jsonl", "status_code"),
             ("ours.csv", "status"), ("words.csv", "status")]  # fmt: skip


def test_original_ten_column_shape(db: Path, tmp_path: Path, capsys) -> None:
    path = write(tmp_path / "original.csv", csv_text(120, ORIGINAL))
    assert load(path) == 0
    assert batches(db)[0][3:7] == (120, 120, 0, ",".join(ORIGINAL))
    assert rows(db, "select count(*) from raw.api_calls where request_id is null") == [(120,)]
    assert "warning" not in capsys.readouterr().err  # every required column is there


def test_dirty_records_are_rejected_in_place(db: Path, tmp_path: Path) -> None:
    lines = csv_text(10).splitlines()
    lines[3] = "req_short,2026-10-01 00:00:03,pan_verify"  # record 3: too few columns
    lines[6] = lines[6] + ",surplus"  # record 6: too many
    lines.insert(8, "")  # a blank line: skipped, not a record
    path = write(tmp_path / "dirty.csv", "\n".join(lines) + "\n")
    assert load(path) == 0
    assert batches(db)[0][3:6] == (10, 8, 2)
    assert rows(db, "select source_line, error_type from raw.load_rejects order by 1") == [
        (4, "MISSING COLUMNS"),
        (7, "TOO MANY COLUMNS"),
    ]
    # landed records keep their place in the file: no number taken by a reject
    numbers = rows(db, "select source_record_no, request_id from raw.api_calls order by 1")
    assert [n for n, _ in numbers] == [1, 2, 4, 5, 7, 8, 9, 10]
    assert all(rid == f"req_{n:06d}" for n, rid in numbers)
    assert_reconciled(db)


def test_rejects_stay_with_their_batch(db: Path, tmp_path: Path) -> None:
    # reject_errors is a TEMP table shared by every scan on a connection: each batch must
    # copy only its own rejects, and no scratch table may be left behind.
    files = []
    for n, bad_record in ((20, 3), (25, 11)):
        lines = csv_text(n).splitlines()
        lines[bad_record] = lines[bad_record].rsplit(",", 4)[0]
        files.append(write(tmp_path / f"dirty{n}.csv", "\n".join(lines) + "\n"))
    con = connect(db)
    try:
        ensure_raw_tables(con)
        results = [ingest.load_file(con, f, datetime(2026, 11, 1)) for f in files]
        [(scratch,)] = con.execute(
            "select count(*) from duckdb_tables() where temporary"
        ).fetchall()
    finally:
        con.close()
    assert scratch == 0
    assert [(r.record_count, r.landed, r.rejected) for r in results] == [(20, 19, 1), (25, 24, 1)]
    assert rows(db, "select source_name, source_line from raw.load_rejects order by 1") == [
        ("dirty20.csv", 4),
        ("dirty25.csv", 12),
    ]
    assert_reconciled(db)


def unterminated(columns: list[str]) -> str:
    """20 records where record 5 opens a quote in api_name and never closes it."""
    lines = csv_text(20, columns).splitlines()
    fields = lines[5].split(",")
    fields[columns.index("api_name")] = '"' + fields[columns.index("api_name")]
    lines[5] = ",".join(fields)
    return "\n".join(lines) + "\n"


def assert_lines_reconciled(db: Path) -> None:
    """Per batch: every physical line is the header, blank, or in a landed or rejected record."""
    for batch_id, lines, header, blank, landed, rejected, reject_lines in rows(db, """
        select b.batch_id, b.line_count, b.header_line_count, b.blank_line_count,
               b.landed_line_count, b.rejected_line_count,
               (select coalesce(sum(line_count), 0) from raw.load_rejects r
                where r.batch_id = b.batch_id)
        from raw.load_batches b
    """):  # fmt: skip
        assert lines == header + blank + landed + rejected, batch_id
        assert rejected == reject_lines, batch_id


def test_unterminated_quote_to_end_of_file(db: Path, tmp_path: Path) -> None:
    # Issue 8, defect 1: record 5 opened a quote that never closes; it used to swallow
    # records 5-20 as one reject with a green build. Now only its line is rejected.
    text = unterminated(ORIGINAL)
    assert load(write(tmp_path / "unterminated.csv", text)) == 0
    [(_, _, _, records, landed, rejected, _)] = batches(db)
    assert (records, landed, rejected) == (20, 19, 1)
    [(line, error_type, message, raw, span)] = rows(
        db,
        "select source_line, error_type, error_message, raw_record, line_count "
        "from raw.load_rejects",
    )
    assert (line, error_type, span) == (6, "UNBALANCED QUOTE", 1) and "not closed" in message
    assert raw == text.splitlines()[5]
    numbers = rows(db, "select source_record_no from raw.api_calls order by 1")
    assert [n for (n,) in numbers] == [n for n in range(1, 21) if n != 5]
    assert_reconciled(db)
    assert_lines_reconciled(db)


def test_unterminated_quote_closed_by_a_later_quote(db: Path, tmp_path: Path) -> None:
    # Record 7's quoted error_message would close the stray quote (records 5-7 read as
    # one): the record-like line after the open quote gives it away; only line 6 is lost.
    assert load(write(tmp_path / "unterminated.csv", unterminated(FULL))) == 0
    [(_, _, _, records, landed, rejected, _)] = batches(db)
    assert (records, landed, rejected) == (20, 19, 1)
    assert rows(db, "select source_line from raw.load_rejects") == [(6,)]
    numbers = rows(db, "select source_record_no, request_id from raw.api_calls order by 1")
    assert numbers[3:5] == [(4, "req_000004"), (6, "req_000006")]
    assert_reconciled(db)
    assert_lines_reconciled(db)


def test_stray_quote_in_a_2000_row_file_loses_one_line(db: Path, tmp_path: Path) -> None:
    # Issue 8, defect 1 as reported: a stray quote at the start of the last field of row 2.
    lines = csv_text(2000).splitlines()
    fields = lines[2].split(",")
    fields[-1] = '"' + fields[-1]
    lines[2] = ",".join(fields)
    assert load(write(tmp_path / "stray.csv", "\n".join(lines) + "\n")) == 0
    [(_, _, _, records, landed, rejected, _)] = batches(db)
    assert (records, landed, rejected) == (2000, 1999, 1)
    assert_reconciled(db)
    assert_lines_reconciled(db)


def test_long_rejected_record_is_kept_whole(db: Path, tmp_path: Path) -> None:
    # Issue 8, defect 9: the reader cuts a reject's text at 10,000 characters.
    lines = csv_text(5).splitlines()
    lines[3] = lines[3] + "," + "x" * 25000  # one column too many, very long
    assert load(write(tmp_path / "long.csv", "\n".join(lines) + "\n")) == 0
    [(raw, line)] = rows(db, "select raw_record, source_line from raw.load_rejects")
    assert line == 4 and raw == lines[3] and len(raw) > 25000
    assert_reconciled(db)
    assert_lines_reconciled(db)


def test_quoted_multi_line_message_is_one_record(db: Path, tmp_path: Path) -> None:
    # A real multi-line field (a stack trace without commas) is not an unbalanced quote.
    lines = csv_text(6).splitlines()
    fields = lines[2].split(",")
    fields[-1] = '"Traceback:\n  File x line 3\n  ValueError boom"'
    lines[2] = ",".join(fields)
    assert load(write(tmp_path / "multi.csv", "\n".join(lines) + "\n")) == 0
    [(_, _, _, records, landed, rejected, _)] = batches(db)
    assert (records, landed, rejected) == (6, 6, 0)
    assert rows(db, "select line_count, landed_line_count from raw.load_batches") == [(9, 8)]
    assert_reconciled(db)
    assert_lines_reconciled(db)


# --------------------------------------------------------------------------- bad files (CLI)


ACCESS_LOG = (
    b'83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash.png HTTP/1.1" '
    b'200 203023 "http://semicomplete.com/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1)"\n'
) * 3
BAD_FILES = {
    "empty.csv": (b"", "is empty (0 bytes)"),
    "junk.bin": (bytes(range(256)) * 8, "NUL byte"),
    "latin1.csv": ("timestamp,api_name\n2026-10-01,caf\xe9\n".encode("latin-1"), "not UTF-8"),
    "other.csv": (b"name,age,city\nann,34,Pune\n", "known log column"),
    "blank.csv": (b"\n\n\n", "no header row"),
    "broken.csv.gz": (gzip.compress(b"timestamp,api_name\n" * 50)[:30], "not a valid gzip"),
    "notes.txt": (
        b"hello world\nthis is not a log\n",
        "the known shapes (log_shapes/): access_log",
    ),
    "utf16.csv": ("timestamp,api_name\n1,a\n".encode("utf-16"), "UTF-16"),
    "mixed.csv": (b"timestamp,api_name\r\n1,a\n2,b\r\n", "mixes line endings"),
}


@pytest.mark.parametrize("name", [*BAD_FILES, "missing.csv"])
def test_bad_file_fails_alone(db: Path, tmp_path: Path, name: str) -> None:
    assert load(write(tmp_path / "good.csv", csv_text(30))) == 0
    before = batches(db)
    if name in BAD_FILES:
        write(tmp_path / name, BAD_FILES[name][0])
        expected = BAD_FILES[name][1]
    else:
        expected = "no such file"
    proc = cli(tmp_path / name, db=db)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"error: {tmp_path / name}: ")
    assert expected in errors[0]
    assert batches(db) == before
    assert_reconciled(db)


def test_several_files_all_tried(db: Path, tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", csv_text(30))
    empty = write(tmp_path / "empty.csv", b"")
    b = write(tmp_path / "b.csv", csv_text(31))
    proc = cli(a, empty, tmp_path / "missing.csv", b, db=db)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    out = proc.stdout.strip().splitlines()
    assert out[0].startswith(f"load: {a} -> batch file_") and out[0].endswith(
        "30 records, 30 landed, 0 rejected"
    )
    assert out[1].startswith(f"load: {b} -> batch file_")
    assert out[-1].startswith("load: 4 file(s): 2 loaded (61 records landed), 0 skipped, 2 failed")
    assert len(proc.stderr.strip().splitlines()) == 2
    assert sorted(x[1] for x in batches(db)) == ["a.csv", "b.csv"]
    assert_reconciled(db)


def test_the_known_shapes_are_listed_once_a_run(db: Path, tmp_path: Path) -> None:
    """Files of a shape no mapping knows each fail with the list of known shapes: the
    first error lists them, the others point to it (a folder of 14 such files printed
    the 1.5 KB list 14 times)."""
    from api_trust.readers import known_shapes_text

    names = [write(tmp_path / f"day{i}.csv", b"when,what,outcome\n1,2,3\n") for i in range(3)]
    proc = cli(*names, db=db)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 3 and all("is a known log column" in e for e in errors), errors
    assert proc.stderr.count(known_shapes_text()) == 1 and known_shapes_text() in errors[0]
    assert all(e.endswith("shapes (log_shapes/): as listed above") for e in errors[1:]), errors


def test_no_arguments_is_a_usage_error(db: Path) -> None:
    proc = cli(db=db)
    assert proc.returncode == 2 and "FILE" in proc.stderr and "Traceback" not in proc.stderr


def test_locked_warehouse(db: Path, tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", csv_text(10))
    with held(db):
        proc = cli(good, db=db)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and "locked" in line and "close" in line
    # and once the holder is gone, the same command works
    assert cli(good, db=db).returncode == 0


def test_dotted_fields_are_read_flat_or_nested(db: Path, tmp_path: Path) -> None:
    """An OTel span spells `http.route` as one key or as nested objects, even within one
    file; a file that never nests reads its flat keys alone (no nested path is looked for
    unless some record has the path's first key)."""
    flat = {"span_id": "s1", "timestamp": "2026-11-01T10:00:00Z", "duration_ms": 12.5,
            "http.route": "/v1/pan/verify", "http.request.method": "POST",
            "http.response.status_code": 200, "service.name": "kyc"}  # fmt: skip
    nested = {"span_id": "s2", "timestamp": "2026-11-01T10:00:01Z", "duration_ms": 7,
              "http": {"route": "/v2/face/match", "request": {"method": "POST"},
                       "response": {"status_code": 503}},
              "service": {"name": "face"}, "http.route": None}  # fmt: skip
    mixed = write(tmp_path / "mixed.jsonl", json.dumps(flat) + "\n" + json.dumps(nested) + "\n")
    only_flat = write(tmp_path / "flat.jsonl", json.dumps({**flat, "span_id": "s3"}) + "\n")
    nested.pop("http.route")
    only_nested = write(tmp_path / "nested.jsonl", json.dumps({**nested, "span_id": "s4"}) + "\n")
    assert ingest.load_files([str(only_nested)], "otel_spans") == 0
    assert load(mixed, only_flat) == 0
    got = rows(db, """
        select request_id, route, http_method, status_code, service_name, latency_ms
        from raw.api_calls order by request_id
    """)  # fmt: skip
    assert got == [
        ("s1", "/v1/pan/verify", "POST", "200", "kyc", "12.5"),
        ("s2", "/v2/face/match", "POST", "503", "face", "7"),
        ("s3", "/v1/pan/verify", "POST", "200", "kyc", "12.5"),
        ("s4", "/v2/face/match", "POST", "503", "face", "7"),
    ]
    assert_reconciled(db)


def test_loading_binds_no_parameter_so_pandas_is_never_imported(db: Path, tmp_path: Path) -> None:
    """DuckDB's Python client imports pandas on the first bound parameter (0.5-1.7 s a
    command); the loader renders its values as literals, so a load never pays it, for a
    CSV with rejects and unbalanced quotes as for JSON lines."""
    good = write(tmp_path / "good.csv", csv_text(5) + 'x,"never closed\n')
    spans = write(
        tmp_path / "spans.jsonl",
        '{"span_id": "s1", "http.route": "/v1/x", '
        '"timestamp": "2026-11-01T10:00:00Z", "http.response.status_code": 200}\n',
    )
    code = ("import sys; from api_trust import ingest; failed = ingest.load_files(sys.argv[1:]); "
            "print(failed, sorted({'pandas', 'pyarrow'} & set(sys.modules)))")  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", code, str(good), str(spans)],
        cwd=PROJECT_ROOT, env={**os.environ, "API_TRUST_DB": str(db)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "0 []"
    assert len(batches(db)) == 2
    assert rows(db, "select count(*) from raw.load_rejects") == [(1,)]
    assert_reconciled(db)
