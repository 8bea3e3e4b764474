"""Hostile input at the landing: every line accounted for, nothing leaked, names are data.

Each writer in LANDING_HOSTILE_FILES makes one hand-made file for a landing defect of
the hardening issue (a stray quote, personal data in every column and in names, a
wide header, a record longer than the reader keeps). The warehouse test at the end
loads them all, beside generated data, builds, exports, and unloads one batch again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from api_trust.contract import PROJECT_ROOT
from api_trust.pii import has_pii_sql
from conftest import Warehouse, dbt, run
from test_ingest import FULL, csv_text, record
from test_log_shapes import _attr

# Values a careful user found reaching facts and exports unmasked (issue 8, defect 5).
PII_VALUES = [
    "abcde1234f", "AbCdE1234f", "ABCDE1234F_suffix", "xABCDE1234F", "1234-5678-9012",
    "1234  5678  9012", "1234.5678.9012", "1234\u00a05678\u00a09012", "123456789012x",
    "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff11\uff12",
    "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662",
    "\u0967\u0968\u0969\u096a \u096b\u096c\u096d\u096e \u096f\u0966\u0967\u0968",
    "1234\u200b5678\u200b9012", "ravi.k@example.co.in", "+91 98765 43210", "9876543210",
    "10.20.30.40", "2001:db8::8a2e:370:7334",
]  # fmt: skip


def _write_rows(path: Path, columns: list[str], rows: list[list[str]]) -> Path:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v

    lines = [",".join(cell(c) for c in columns)] + [",".join(cell(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stray_quote(folder: Path) -> Path:
    """2,000 records; row 2's last field opens a quote that never closes (defect 1)."""
    lines = csv_text(2000).replace("req_", "req_stray_").splitlines()
    fields = lines[2].split(",")
    fields[-1] = '"' + fields[-1]
    lines[2] = ",".join(fields)
    path = folder / "stray_quote.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def pii_everywhere(folder: Path) -> Path:
    """Personal data in free text, in ids, in an extra field, a header and the file name."""
    columns = [*FULL, "customer_note_abcde1234f"]
    rows = []
    for i, value in enumerate(PII_VALUES, start=1):
        r = record(i, FULL)
        r[0] = f"req_pii_{i}"
        r[FULL.index("error_message")] = f"customer {value} retried"
        r[FULL.index("client_id")] = value if i % 2 else "C0001"
        r[FULL.index("request_id")] = f"req_{value}" if i % 3 else r[FULL.index("request_id")]
        r[FULL.index("verification_id")] = value
        rows.append([*r, f"note {value}"])
    return _write_rows(folder / "export_ABCDE1234F_9876543210.csv", columns, rows)


# Ids machines make whose digit runs read as an Aadhaar or a mobile number (about 1 random
# UUID in 50 and 1 W3C trace id in 30 did): the same id, or one in text, with personal
# data beside it; and an Aadhaar after a word, which no id shape hides
MACHINE_IDS = [
    ("3f2a9c1e-7b4d-4e8a-9c2b-446655440000", "4bf92f3577b34da6a3ce929876543210", "upstream timeout"),
    ("C0FFEE00-1234-4ABC-8DEF-987654321012", "a1b2c39876543210", "retry of 3f2a9c1e-7b4d-4e8a-9c2b-446655440000"),
    ("5d0c1b2a-9e8f-4a7b-b6c5-123456789012", "0af7651916cd43dd8448eb211c803191", "call by ravi.k@example.co.in"),
    ("aadhaar-234567890123", "00f067aa0ba902b7", "id 5d0c1b2a-9e8f-4a7b-b6c5-123456789012 for ravi.k@example.co.in"),
]  # fmt: skip


def machine_ids(folder: Path) -> Path:
    """Request ids, trace ids and messages holding machine-made ids (MACHINE_IDS)."""
    columns = [*FULL, "trace_id"]
    rows = []
    for i, (request_id, trace_id, message) in enumerate(MACHINE_IDS, start=1):
        r = record(i, FULL)
        r[0], r[FULL.index("error_message")] = request_id, message
        rows.append([*r, trace_id])
    return _write_rows(folder / "machine_ids.csv", columns, rows)


def wide_header(folder: Path) -> Path:
    """499 columns: the contract and 484 extra fields (defect 6: one ALTER per column)."""
    extras = [f"attr_{i:03d}" for i in range(499 - len(FULL))]
    rows = [
        [f"req_wide_{i}", *record(i, FULL)[1:], *(f"v{i}_{j}" for j in range(len(extras)))]
        for i in range(1, 51)
    ]
    return _write_rows(folder / "wide.csv", [*FULL, *extras], rows)


def long_reject(folder: Path) -> Path:
    """A record of 25,000 characters with one field too many (the reader keeps 10,000)."""
    lines = csv_text(30).replace("req_", "req_long_").splitlines()
    lines[7] += "," + "y" * 25000
    path = folder / "long_reject.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def hostile_names(folder: Path) -> Path:
    """JSON lines whose field names hold a NUL, a quote and a key written twice: a NUL in a
    name refused the whole file (it cannot stand in a query's text)."""
    lines = []
    for i in range(1, 6):
        fields = dict(zip(FULL, record(i, FULL), strict=True)) | {"request_id": f"req_names_{i}"}
        extra = f'"note\\u0000{i % 2}": "n{i}", "it\'s": "q{i}", "dup": "first", "dup": "last"'
        lines.append(json.dumps(fields)[:-1] + ", " + extra + "}")
    path = folder / "hostile_names.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def hostile_spans(folder: Path) -> Path:
    """An OTLP export whose spans each broke the whole file: an attribute written twice, a
    start time no timestamp holds, an entry of the span list that is a string; and a line
    of JSON that holds no spans (rejected)."""

    spans = [{"traceId": "ab" * 16, "spanId": f"{i:016x}", "kind": 2,
              "startTimeUnixNano": str(1790000000000000000 + i * 10**9),
              "endTimeUnixNano": str(1790000000080000000 + i * 10**9),
              "attributes": [_attr("http.route", "/v1/pan/verify"),
                             _attr("http.request.method", "POST"),
                             _attr("http.route", "/v1/pan/verify/again")]}
             for i in range(4)]  # fmt: skip
    spans[1]["startTimeUnixNano"] = "9" * 25
    spans.append("not a span")
    request = {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "kyc")]},
                                  "scopeSpans": [{"spans": spans}]}]}  # fmt: skip
    path = folder / "hostile_spans.json"
    path.write_text(json.dumps(request) + "\n" + json.dumps({"resourceSpans": 5}) + "\n")
    return path


LANDING_HOSTILE_FILES: dict[str, Callable[[Path], Path]] = {
    "stray_quote": stray_quote,
    "pii_everywhere": pii_everywhere,
    "machine_ids": machine_ids,
    "wide_header": wide_header,
    "long_reject": long_reject,
    "hostile_names": hostile_names,
    "hostile_spans": hostile_spans,
}


def pii_hits(db: Path, schemas: tuple[str, ...]) -> list[tuple[str, str, str, int]]:
    """(schema, table, column, rows) for every text or map column where the rules match."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = con.execute(
            f"""
            select table_schema, table_name, column_name from information_schema.columns
            where table_schema in ({", ".join("?" for _ in schemas)})
              and (data_type = 'VARCHAR' or data_type like 'MAP%')
              -- digests, not text from a log: a sha256, and the day fingerprints (an md5 of
              -- a model's code and sums of hashes, whose digit runs can read as a phone number)
              and column_name not in ('content_hash', 'day_fingerprint')
            """,
            list(schemas),
        ).fetchall()
        hits = []
        for schema, table, column in cols:
            n = con.execute(
                f'select count(*) from "{schema}"."{table}" '
                f"where {has_pii_sql(f'cast({chr(34)}{column}{chr(34)} as varchar)')}"
            ).fetchone()[0]
            if n:
                hits.append((schema, table, column, n))
        return hits
    finally:
        con.close()


def load_cli(db: Path, *paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "api_trust.ingest", *map(str, paths)],
        cwd=PROJECT_ROOT, env={**os.environ, "API_TRUST_DB": str(db)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_personal_data_never_lands(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    proc = load_cli(db, pii_everywhere(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert pii_hits(db, ("raw",)) == []
    con = duckdb.connect(str(db), read_only=True)
    messages = [m for (m,) in con.execute(
        "select error_message from raw.api_calls order by source_record_no").fetchall()]  # fmt: skip
    ids = con.execute("select client_id, verification_id from raw.api_calls").fetchall()
    name, columns = con.execute("select source_name, columns_seen from raw.load_batches").fetchone()
    con.close()
    assert all(m.startswith("customer ") and "[" in m and m.endswith(" retried") for m in messages)
    # ids keep their identity (equal stay equal) but not their value
    hashed = [c for c, _ in ids if c.startswith("pii_")]
    # (full-width and Arabic-Indic 123456789012 are the same number: one hash)
    assert len(hashed) == 9 and len(set(hashed)) == 8 and "C0001" in {c for c, _ in ids}
    assert all(v.startswith("pii_") for _, v in ids)
    assert name == "export_[PAN]_[PHONE].csv" and "customer_note_[PAN]" in columns


def test_ids_machines_make_are_not_personal_data(tmp_path: Path) -> None:
    """A UUID, trace or span id lands exactly as delivered, in its column or in text; text
    with personal data besides such an id is masked, and an Aadhaar after a word is."""
    db = tmp_path / "warehouse.duckdb"
    proc = load_cli(db, machine_ids(tmp_path))
    assert proc.returncode == 0, proc.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        landed = con.execute(
            "select request_id, trace_id, error_message from raw.api_calls order by source_record_no"
        ).fetchall()
    assert landed[:2] == MACHINE_IDS[:2]
    assert landed[2][:2] == MACHINE_IDS[2][:2] and landed[2][2] == "call by [EMAIL]"
    assert landed[3][0].startswith("pii_") and landed[3][1] == MACHINE_IDS[3][1]
    # masking errs towards masking: the id's digits go with the email beside them
    assert landed[3][2] == "id 5d0c1b2a-9e8f-4a7b-b6c5-[AADHAAR] for [EMAIL]"
    assert pii_hits(db, ("raw",)) == []


def test_personal_data_a_url_percent_encodes_never_lands(tmp_path: Path) -> None:
    """A query string writes `@` and spaces as %40 and %20 (every access log that logs the
    request URI; CloudFront encodes the `%` again): the email, Aadhaar and phone in it are
    masked, and a URL without personal data lands exactly as written, its encodings kept."""
    log = tmp_path / "access.log"
    line = ('203.0.113.5 - - [05/Nov/2026:10:00:0{i} +0000] "GET {path} HTTP/1.1" 200 512 "-" '
            '"curl/8.4.0"\n')  # fmt: skip
    paths = ["/v1/kyc/verify?email=jane.doe%40example.com&aadhaar=1234%205678%209012",
             "/v1/kyc/verify?email=ravi%2540example.org&m=%252B919812345678",
             "/v1/kyc/verify?EMAIL=JANE.D%40EXAMPLE.com&m=%2b91%209876543210",
             "/v1/search?q=100%25%20match&next=%2Fv2"]  # fmt: skip
    log.write_text("".join(line.format(i=i, path=p) for i, p in enumerate(paths)))
    db = tmp_path / "warehouse.duckdb"
    proc = load_cli(db, log)
    assert proc.returncode == 0, proc.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        routes = [r for (r,) in con.execute(
            "select route from raw.api_calls order by source_record_no").fetchall()]  # fmt: skip
    assert routes == [
        "/v1/kyc/verify?email=[EMAIL]&aadhaar=[AADHAAR]",
        # (twelve digits after +: the Aadhaar rule masks them first, as it does unencoded)
        "/v1/kyc/verify?email=[EMAIL]&m=+[AADHAAR]",
        "/v1/kyc/verify?EMAIL=[EMAIL]&m=[PHONE]",
        "/v1/search?q=100%25%20match&next=%2Fv2",
    ]
    assert pii_hits(db, ("raw",)) == []


def test_wide_header_lands_without_widening_raw(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    assert load_cli(db, wide_header(tmp_path)).returncode == 0
    con = duckdb.connect(str(db), read_only=True)
    width = con.execute(
        "select count(*) from information_schema.columns where table_name = 'api_calls'"
    ).fetchone()[0]
    keys, value = con.execute(
        "select len(json_keys(extra_fields)), extra_fields->>'$.attr_483' from raw.api_calls "
        "where source_record_no = 7"
    ).fetchone()
    con.close()
    assert width < 40 and keys == 484 and value == "v7_483"  # the DDL width, not 499


def test_ten_thousand_columns_get_one_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    path = tmp_path / "very_wide.csv"
    path.write_text(",".join(["timestamp", *(f"c{i}" for i in range(9999))]) + "\n1\n")
    proc = load_cli(db, path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "10,000 columns, more than the limit of 500" in line


NASTY_NAMES = ["`touch PWNED`.csv", "x||touch PWNED||.csv", "$(touch PWNED).csv",
               "it's here.csv", "a;touch PWNED.csv", "with  two spaces.csv"]  # fmt: skip


def test_make_load_passes_file_names_as_data(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    paths = []
    for i, name in enumerate(NASTY_NAMES):
        paths.append(tmp_path / name)
        paths[-1].write_text(csv_text(5 + i), encoding="utf-8")
    quoted = " ".join(f'"{p}"' for p in paths) + f' "{tmp_path / "missing.csv"}"'
    env = {**os.environ, "API_TRUST_DB": str(db)}
    proc = subprocess.run(
        ["make", "-C", str(PROJECT_ROOT), "--no-print-directory", "load", f"FILES={quoted}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert not any(
        p.name.startswith("PWNED") for p in [*tmp_path.iterdir(), *PROJECT_ROOT.iterdir()]
    )
    assert proc.returncode != 0, proc.stdout  # one file is missing: the call fails ...
    assert (
        f"6 loaded ({sum(5 + i for i in range(6))} records landed)" in proc.stdout
    )  # ... the rest stay
    assert "missing.csv: no such file" in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def hostile_landing(hostile_warehouse: Warehouse) -> Warehouse:
    """Every hostile file at once, landing-side and model-side (conftest.hostile_warehouse)."""
    return hostile_warehouse


def test_hostile_landing_builds_and_every_line_is_accounted_for(hostile_landing: Warehouse) -> None:
    wh = hostile_landing
    assert wh.scalar("select bool_and(is_reconciled) from dq_batch_summary") is True
    files = wh.rows("""
        select source_name, line_count, unaccounted_line_count, fact_count + quarantined_count
               + set_aside_count + duplicate_count, rejected_count
        from dq_batch_summary where source_kind = 'file' order by source_name
    """)  # fmt: skip
    by_name = {f[0]: f[1:] for f in files}
    assert by_name["stray_quote.csv"] == (2001, 0, 1999, 1)
    assert by_name["long_reject.csv"] == (31, 0, 29, 1)
    # every record lands, none refuses its file; the line of no spans is the one reject
    assert by_name["hostile_names.jsonl"] == (5, 0, 5, 0)
    assert by_name["hostile_spans.json"] == (2, 0, 5, 1)
    # machine-made ids reach the facts as delivered (the build's personal-data tests pass)
    assert by_name["machine_ids.csv"] == (5, 0, 4, 0)
    kept = [request_id for request_id, _, _ in MACHINE_IDS[:3]]
    facts = wh.rows("select request_id from fct_api_calls where request_id in (?, ?, ?)", kept)
    assert sorted(r for (r,) in facts) == sorted(kept)
    # every physical line of every file, the model-side hostile files included
    assert len(by_name) >= 15
    assert all(unaccounted == 0 for _, unaccounted, _, _ in by_name.values())
    assert pii_hits(wh.db, ("raw", "staging", "intermediate", "main")) == []


def test_export_of_hostile_landing_holds_no_personal_data(hostile_landing: Warehouse) -> None:
    wh = hostile_landing
    run([sys.executable, "-m", "api_trust.export"], wh.db, wh.work)
    exported = wh.work / "data" / "processed_api_logs.csv"
    con = duckdb.connect()
    lines, hits = con.execute(
        f"""select count(*), count(*) filter (where {has_pii_sql("line")})
            from read_csv('{exported}', columns = {{'line': 'VARCHAR'}}, delim = '\x01',
                          quote = '', escape = '', header = false)"""
    ).fetchone()
    # the CSV holds the Parquet file's rows in its order, which is by time and request id
    parquet = wh.work / "data" / "processed_api_logs.parquet"
    out_of_order, unlike = con.execute(
        f"""with pq as (select row_number() over () as n, request_id, called_at,
                               lag((called_at, request_id)) over () as previous_key
                        from read_parquet('{parquet}')),
                 sheet as (select row_number() over () as n, request_id
                           from read_csv('{exported}', all_varchar = true, header = true))
            select
                count(*) filter (where (pq.called_at, pq.request_id) < pq.previous_key),
                count(*) filter (where sheet.request_id is distinct from pq.request_id
                                       and sheet.request_id is distinct from '''' || pq.request_id)
            from pq full join sheet on pq.n = sheet.n"""
    ).fetchone()
    con.close()
    assert lines == wh.scalar("select count(*) from fct_api_calls") + 1 and hits == 0
    assert (out_of_order, unlike) == (0, 0)


def test_unload_removes_a_batch_everywhere(hostile_landing: Warehouse) -> None:
    wh = hostile_landing
    [(batch_id, facts)] = wh.rows(
        "select batch_id, fact_count from dq_batch_summary where source_name = 'wide.csv'"
    )
    assert facts == 50
    proc = run([sys.executable, "-m", "api_trust.unload", "wide.csv"], wh.db, wh.work)
    assert f"removed batch {batch_id}" in proc.stdout
    # the facts and the reconciliation: that every day-incremental mart then rebuilds the
    # batch's days and equals a full rebuild is test_incremental's (an unloaded batch); a
    # whole build here took 29-32 s of the main thread
    dbt(wh.db, wh.work, "build", "--quiet", "--select", "+fct_api_calls", "+dq_batch_summary",
        "--indirect-selection", "cautious")  # fmt: skip
    assert wh.scalar("select count(*) from fct_api_calls where batch_id = ?", [batch_id]) == 0
    assert wh.scalar("select count(*) from dq_batch_summary where batch_id = ?", [batch_id]) == 0
    assert wh.scalar("select count(*) from raw.api_calls where batch_id = ?", [batch_id]) == 0
    bad = run([sys.executable, "-m", "api_trust.unload", "nope"], wh.db, wh.work, check=False)
    assert bad.returncode == 1 and "no batch 'nope'" in bad.stderr
