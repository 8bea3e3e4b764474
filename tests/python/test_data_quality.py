"""Dirty input, drift and reconciliation, checked against the generator's own record of truth.

The generator plants one defect per dirty record and writes it to
raw.planted_defects; these tests join that truth to where each record ended up.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import sys

import duckdb
import pytest
from api_trust.dirt import EXPECTED_OUTCOME, UNLISTED
from api_trust.pii import has_pii_sql
from conftest import ROOT, Warehouse, dbt, generate, in_background, run

PII = re.compile(r"\b[A-Z]{5}[0-9]{4}[A-Z]\b|\b[0-9]{4}\s?[0-9]{4}\s?[0-9]{4}\b")


def _outcomes(wh: Warehouse):
    return wh.df("""
        select
            p.defect_kind, p.column_name, p.request_id,
            v.route, v.reasons, v.is_known_api,
            f.request_id is not null as in_facts,
            f.has_unlisted_value,
            f.region, f.document_type, f.client_type, f.status, f.api_name, f.api_version,
            f.error_message, f.latency_ms, d.name_source
        from staging.stg_logs__planted_defects as p
        inner join intermediate.int_api_calls_validated as v using (batch_id, source_record_no)
        left join fct_api_calls as f
            on v.call_id = f.request_id and v.route = 'fact'
        left join dim_apis as d on f.api_name = d.api_name
    """)


def test_every_defect_kind_is_planted(demo_warehouse: Warehouse) -> None:
    kinds = {k for (k,) in demo_warehouse.rows("select distinct kind from raw.planted_defects")}
    assert kinds == set(EXPECTED_OUTCOME), f"kinds never planted: {set(EXPECTED_OUTCOME) - kinds}"


def test_every_planted_defect_is_caught(demo_warehouse: Warehouse) -> None:
    df = _outcomes(demo_warehouse)
    assert len(df) > 1000
    missed = []
    for row in df.itertuples(index=False):
        where, reason = EXPECTED_OUTCOME[row.defect_kind]
        if where == "quarantine":
            wanted = reason.format(col=row.column_name)
            ok = row.route == "quarantine" and wanted in (row.reasons or "").split(";")
        elif where == "duplicate":
            ok = row.route == "duplicate"
        elif where == "fact_unknown_api":
            # kept, and told from a service of its own: a likely misspelling (dim_apis)
            ok = row.in_facts and not row.is_known_api and row.name_source == "likely_typo"
        elif where == "fact_unlisted":  # a team's own value: a fact, as delivered
            value = getattr(row, row.column_name)
            ok = (
                bool(row.in_facts and row.has_unlisted_value) and value in UNLISTED[row.column_name]
            )
        elif where == "fact_kept":  # a fact, with the value as delivered
            ok = bool(row.in_facts) and row.latency_ms == 0
        elif where == "fact_masked":
            message = row.error_message or ""
            masked = "[PAN]" in message or "[AADHAAR]" in message
            ok = bool(row.in_facts) and masked and not PII.search(message)
        else:  # fact_normalised: the value is back in its canonical spelling
            canonical = {
                "region": {"Metro", "Tier1", "Tier2", "Rural"},
                "document_type": {"PAN", "Aadhaar", "Passport", "DrivingLicense", "VoterID"},
                "client_type": {"FinTech", "E-Commerce", "Bank", "Telecom", "NBFC", "Insurance"},
                "status": {"success", "fail"},
            }
            value = getattr(row, row.column_name)
            if row.column_name == "api_name":
                ok = row.in_facts and bool(row.is_known_api)
            elif row.column_name == "api_version":
                ok = row.in_facts and re.fullmatch(r"v[0-9]+", value or "") is not None
            else:
                ok = row.in_facts and value in canonical[row.column_name]
        if not ok:
            missed.append((row.defect_kind, row.column_name, row.route, row.reasons))
    assert not missed, f"{len(missed)} planted defects not caught, e.g. {missed[:5]}"


def test_only_planted_misspellings_are_likely_misspellings(demo_warehouse: Warehouse) -> None:
    """The other half of catching api_typo: no name the generator did not misspell (a
    catalogue API's) is taken for a misspelling, and each is close to the API it names."""
    flagged = demo_warehouse.rows(
        "select api_name, likely_typo_of from dim_apis where name_source = 'likely_typo'"
    )
    planted = {
        name
        for (name,) in demo_warehouse.rows("""
            select distinct f.api_name
            from staging.stg_logs__planted_defects as p
            inner join fct_api_calls as f using (request_id)
            where p.defect_kind = 'api_typo'
        """)
    }
    assert flagged and {name for name, _ in flagged} == planted
    known = {a for (a,) in demo_warehouse.rows("select api_name from reference.api_catalogue")}
    assert all(of in known for _, of in flagged)


def test_no_clean_record_is_quarantined_or_dropped(demo_warehouse: Warehouse) -> None:
    routes = dict(
        demo_warehouse.rows("""
        select v.route, count(*)
        from intermediate.int_api_calls_validated as v
        anti join raw.planted_defects as p using (batch_id, source_record_no)
        group by v.route
    """)
    )
    assert set(routes) == {"fact"}, routes
    # and every record the generator produced is somewhere
    landed = demo_warehouse.scalar("select count(*) from raw.api_calls")
    accounted = demo_warehouse.scalar("""
        select sum(fact_count + quarantined_count + set_aside_count + duplicate_count + rejected_count)
        from dq_batch_summary
    """)
    assert landed == accounted


def test_drift_is_detected_and_renamed_values_reach_facts(demo_warehouse: Warehouse) -> None:
    drift = set(demo_warehouse.rows(
        "select batch_id, change_type, column_name from dq_schema_drift where severity != 'info'"))  # fmt: skip
    batches = [
        b for (b,) in demo_warehouse.rows("select batch_id from raw.load_batches order by 1")
    ]
    assert len(batches) == 3
    first, second, third = batches
    # every generated batch delivers sdk_version outside the contract; drift adds device_os
    always = {(b, "added", "sdk_version") for b in batches}
    assert always <= drift
    assert not {d for d in drift - always if d[0] == first}, (
        "the reference batch must show no drift"
    )
    assert (second, "renamed", "latency") in drift
    assert (second, "added", "device_os") in drift
    assert (third, "type_changed", "timestamp") in drift
    assert (third, "missing", "error_message") in set(
        demo_warehouse.rows("select batch_id, change_type, column_name from dq_schema_drift"))  # fmt: skip
    # renamed column: latency values of drifted batches are in the facts, as numbers
    n = demo_warehouse.scalar(
        "select count(*) from fct_api_calls where batch_id in (?, ?) and latency_ms >= 0", [second, third])  # fmt: skip
    facts = demo_warehouse.scalar("select count(*) from fct_api_calls where batch_id in (?, ?)",
                                  [second, third])  # fmt: skip
    assert n == facts > 30000
    # epoch-millisecond timestamps (the type change) parse into the same window
    lo, hi = demo_warehouse.rows(
        "select min(called_at), max(called_at) from fct_api_calls where batch_id = ?", [third])[0]  # fmt: skip
    assert lo.year == 2026 and hi.year == 2026


def test_no_pii_in_any_relation_raw_included(demo_warehouse: Warehouse) -> None:
    """The rules of macros/pii.sql (the ones the loaders mask with) find nothing anywhere."""
    with duckdb.connect(str(demo_warehouse.db), read_only=True) as con:
        tables = con.execute("""
            select table_schema, table_name, column_name from information_schema.columns
            where table_schema in ('main', 'staging', 'intermediate', 'raw')
              and (data_type = 'VARCHAR' or data_type like 'MAP%')
              -- digests, not text from a log: a sha256, and the day fingerprints (an md5 of
              -- a model's code and sums of hashes, whose digit runs can read as a phone number)
              and column_name not in ('content_hash', 'day_fingerprint')
            order by table_schema, table_name
        """).fetchall()
        assert len({t[1] for t in tables}) >= 10
        leaks = []
        # one scan a relation, each column counted apart (a view is computed once, not once
        # a column: 4.1-4.3 s against 5.8-6.4 s for the demo warehouse's 499 columns)
        for (schema, table), found in itertools.groupby(tables, key=lambda t: t[:2]):
            columns = [column for _, _, column in found]
            counts = ", ".join(
                f"count(*) filter (where {has_pii_sql(f'cast({chr(34)}{c}{chr(34)} as varchar)')})"
                for c in columns
            )
            hits = con.execute(f'select {counts} from "{schema}"."{table}"').fetchone()
            leaks += [(schema, table, c, n) for c, n in zip(columns, hits, strict=True) if n]
    assert not leaks, leaks
    # raw holds the masked text: every planted PAN or Aadhaar became a token at landing
    planted, masked = demo_warehouse.rows("""
        select count(*),
               count(*) filter (where regexp_matches(c.error_message, '\\[(PAN|AADHAAR)\\]'))
        from raw.planted_defects p
        join raw.api_calls c using (batch_id, source_record_no)
        where p.kind like 'pii_%'
    """)[0]  # fmt: skip
    assert planted > 0 and masked == planted


def test_grain_test_with_latest_of_checks_the_latest_runs_rows(tmp_path) -> None:
    """`unique_combination_of_columns` with `latest_of` reads only the rows of the latest
    stamp (what the last run wrote): it flags a repeat there, not one among older rows;
    without stamps it checks every row; without `latest_of`, every repeat."""
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    with duckdb.connect(str(db)) as con:
        con.execute("""
            create table main.stamped as select * from (values
                ('b0', 1, null), ('b0', 1, null),                    -- before stamps existed
                ('b1', 1, timestamp '2026-11-01'), ('b1', 1, timestamp '2026-11-01'),
                ('b2', 1, timestamp '2026-11-02'), ('b2', 2, timestamp '2026-11-02'),
                ('b2', 2, timestamp '2026-11-02'), ('b3', 1, timestamp '2026-11-02')
            ) as t(batch_id, record_no, written_at)
        """)
        con.execute(
            "create table main.unstamped as select * from main.stamped where written_at is null"
        )
    checks = {
        "all": ("stamped", ""),
        "latest": ("stamped", ", latest_of='written_at'"),
        "unstamped": ("unstamped", ", latest_of='written_at'"),
    }
    inline = " union all ".join(
        f"select '{name}' as probe, batch_id, record_no from ({{{{ api_trust.test_unique_combination_of_columns("
        f"api.Relation.create(database='warehouse', schema='main', identifier='{table}'), "
        f"['batch_id', 'record_no']{args}) }}}}) as t"
        for name, (table, args) in checks.items()
    )
    shown = dbt(
        db, work, "show", "--quiet", "--output", "json", "--limit", "-1", "--inline", inline
    )
    flagged = {name: sorted(f"{r['batch_id']}/{r['record_no']}" for r in json.loads(shown.stdout)["show"]
                            if r["probe"] == name) for name in checks}  # fmt: skip
    assert flagged == {"all": ["b0/1", "b1/1", "b2/2"], "latest": ["b2/2"], "unstamped": ["b0/1"]}


def test_no_pii_test_flags_a_value_never_a_row_split_across_columns(tmp_path) -> None:
    """The `no_pii_in_text` test matches a row's text columns joined by a line feed: a
    value with personal data in any column (text or map) is flagged, a PAN or phone split
    over two columns is not, and a row without text is never flagged. With `distinct`
    it flags each distinct flagged combination once; `exclude` leaves a column out."""
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    with duckdb.connect(str(db)) as con:
        con.execute("""
            create table main.probe as select * from (values
                (1, 'ABCDE', '1234F', null),          -- a PAN split over two columns
                (2, 'call 98765', '43210', null),     -- a phone number split likewise
                (3, 'fine', 'ABCDE1234F', null),      -- a PAN in one value
                (4, 'ip 10.1.2.3', null, null),       -- an IP, the other columns empty
                (5, null, 'write to a@b.co', null),   -- an email after an empty column
                (6, 'ok', 'ok', map {'aadhaar': '1234 5678 9012'}),  -- in a map column
                (7, null, null, null),
                (8, 'fine', 'ABCDE1234F', null)       -- row 3's text again
            ) as t(id, a, b, extra)
        """)
    relation = "api.Relation.create(database='warehouse', schema='main', identifier='probe')"
    scans = {
        "rows": "",
        "distinct": ", distinct=true",
        "distinct_without_b": ", exclude=['b'], distinct=true",
    }
    inline = " union all ".join(
        f"select '{name}' as scan, a from ({{{{ api_trust.test_no_pii_in_text({relation}{args}) }}}}) as t"
        for name, args in scans.items()
    )
    shown = dbt(
        db, work, "show", "--quiet", "--output", "json", "--limit", "-1", "--inline", inline
    )
    flagged = {name: sorted(str(r["a"]) for r in json.loads(shown.stdout)["show"] if r["scan"] == name)
               for name in scans}  # fmt: skip
    # rows 3-6 and 8 (each row); rows 3 and 8 once with distinct; without b, only the IP
    # in a and the Aadhaar in the map
    assert flagged == {
        "rows": ["None", "fine", "fine", "ip 10.1.2.3", "ok"],
        "distinct": ["None", "fine", "ip 10.1.2.3", "ok"],
        "distinct_without_b": ["ip 10.1.2.3", "ok"],
    }


SCANS = ["int_landed_batches_scanned_for_pii", "int_fact_batches_scanned_for_pii"]
SCAN_SELECTION = ["--select", *(f"+{m}" for m in SCANS), "--indirect-selection", "cautious"]


@in_background
def test_personal_data_in_a_landed_batch_fails_every_build_until_the_batch_leaves(
    tmp_path,
) -> None:
    """The landed records and the facts are scanned for personal data once per batch:
    a batch that lands with a PAN (here written past the loader's masking) fails the
    build, and the next one too, until it leaves; a batch scanned before is not scanned
    again unless its facts are validated again (a full refresh)."""
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    generate(db, work, "--rows", "2000", "--seed", "3")
    dbt(db, work, "build", "--quiet", *SCAN_SELECTION)
    wh = Warehouse(db, work)
    scans = " union all ".join(
        f"select '{m.split('_')[1]}' as scan, batch_id, pii_record_count, first_pii_record_no, "
        f"scanned_at from intermediate.{m}"
        for m in SCANS
    )
    ((first, scanned_at),) = wh.rows(f"select distinct batch_id, scanned_at from ({scans})")

    # a second batch: the first one's records as new calls, one with a PAN for client id
    # and one with a PAN in an extra dimension's field, spelt with JSON escapes: the landed
    # text does not show it, the value the facts decode from it (fct_call_dimensions) does;
    # and two landed under a file name with a PAN (a lineage column, scanned once per value)
    folder = db.parent / f"{db.name}.landing" / "api_calls" / "leaky_b1"
    folder.mkdir(parents=True)
    with duckdb.connect(str(db)) as con:
        con.execute(f"""
            copy (select * replace ('leaky_b1' as batch_id, 'leaky_' || request_id as request_id,
                                    case when source_record_no = 7 then 'ABCDE1234F'
                                         else client_id end as client_id,
                                    case when source_record_no = 9
                                         then '{{"sdk_version": "ABCDE\\u00312\\u00334F"}}'
                                         else extra_fields end as extra_fields,
                                    case when source_record_no in (3, 4) then 'kyc_ABCDE1234F.csv'
                                         else source_name end as source_name)
                  from raw.api_calls where batch_id = '{first}')
            to '{folder / "part-00000.parquet"}' (format parquet)
        """)  # fmt: skip
        con.execute(f"""
            insert into raw.load_batches by name
            select * replace ('leaky_b1' as batch_id, now()::timestamp as loaded_at)
            from raw.load_batches where batch_id = '{first}'
        """)  # fmt: skip
    for _ in range(2):  # the batch keeps failing the build while it is landed
        proc = dbt(db, work, "build", *SCAN_SELECTION, check=False)
        assert proc.returncode != 0
        for scan in SCANS:
            assert f"FAIL 1 expressions_are_true_{scan}" in proc.stdout
        assert wh.rows(f"""
            select scan, batch_id, pii_record_count, first_pii_record_no, scanned_at = '{scanned_at}'
            from ({scans}) order by all
        """) == [
            ("fact", first, 0, None, True), ("fact", "leaky_b1", 2, 7, False),
            ("landed", first, 0, None, True), ("landed", "leaky_b1", 3, 3, False),
        ]  # fmt: skip

    # the batch leaves: its scans go with it and the build passes
    with duckdb.connect(str(db)) as con:
        con.execute("delete from raw.load_batches where batch_id = 'leaky_b1'")
    shutil.rmtree(folder)
    dbt(db, work, "build", "--quiet", *SCAN_SELECTION)
    assert wh.rows(f"select scan, batch_id, scanned_at = '{scanned_at}' from ({scans}) order by all") == [
        ("fact", first, True), ("landed", first, True)
    ]  # fmt: skip

    # the facts validated again (a full refresh of that model alone): the facts' scan runs
    # again, the landed records' is kept
    dbt(db, work, "build", "--quiet", "--full-refresh", "--select", "int_api_calls_validated")
    dbt(db, work, "build", "--quiet", *SCAN_SELECTION)
    assert wh.rows(f"select scan, scanned_at = '{scanned_at}' from ({scans}) order by all") == [
        ("fact", False), ("landed", True)
    ]  # fmt: skip


def test_reconciliation_test_fails_when_records_go_missing(tmp_path) -> None:
    """Tamper with the independent record count: the error-severity test must fail the build."""
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    generate(db, work, "--rows", "3000", "--seed", "5", "--batches", "2")
    con = duckdb.connect(str(db))
    con.execute(
        "update raw.load_batches set record_count = record_count + 7 where batch_id like '%b002'"
    )
    con.close()
    proc = dbt(db, work, "build", "--select", "+dq_batch_summary", "--indirect-selection", "cautious",
               check=False)  # fmt: skip
    assert proc.returncode != 0
    assert "FAIL 1 expressions_are_true_dq_batch_summary " in proc.stdout  # the tampered batch


@in_background
def test_loader_only_warehouse_builds_with_generator_tables_empty(tmp_path) -> None:
    """A team with only its own logs: make load into a new warehouse, then build everything."""
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    csv = tmp_path / "own_logs.csv"
    csv.write_text(
        "timestamp,api_name,api_version,region,client_type,document_type,status,status_code,"
        "latency_ms,error_reason\n"
        "2026-10-01 10:00:00,PAN_OCR,v2,Metro,FinTech,PAN,success,200,812,\n"
        "2026-10-01 10:00:05,PAN_OCR,v2,Rural,Bank,PAN,fail,422,1290,blurry_image\n"
        "2026-10-01 10:01:00,FACE_MATCH,v3,tier2,Telecom,Aadhaar,success,200,455,\n"
        "2026-10-01 10:02:00,NEW_SERVICE,v1,Tier1,FinTech,PAN,success,200,95,\n"
        "2026-10-01 10:03:00,BANK_VERIFY,v1,Atlantis,Bank,PAN,success,200,1500,\n"
        "2026-10-01 10:04:00,/kyc.face-match/Verify,v1,Metro,Bank,PAN,success,200,700,\n",
        encoding="utf-8",
    )
    run([sys.executable, "-m", "api_trust.ingest", str(csv)], db, work)
    dbt(db, work, "build", "--quiet")
    wh = Warehouse(db, work)
    assert wh.scalar("select count(*) from raw.generator_effects") == 0
    assert wh.scalar("select count(*) from raw.planted_defects") == 0
    # a region our seed does not list (Atlantis) is the team's own: a fact, as delivered
    assert wh.scalar("select count(*) from fct_api_calls") == 6
    assert wh.scalar("select count(*) from dq_quarantine") == 0
    unlisted = (
        "select region, has_unlisted_value from fct_api_calls where region in ('Atlantis', 'Metro')"
    )
    assert sorted(wh.rows(unlisted)) == [("Atlantis", True), ("Metro", False), ("Metro", False)]
    # a name with dots and slashes (a gRPC method) is a name, its separators underscores
    assert (
        wh.scalar("select count(*) from fct_api_calls where api_name = 'KYC_FACE_MATCH_VERIFY'")
        == 1
    )
    assert (
        wh.scalar("select is_known_api from fct_api_calls where api_name = 'NEW_SERVICE'") is False
    )
    # the original's shape has no request_id: ids are derived, one verification per call
    assert wh.scalar("select bool_and(is_request_id_derived) from fct_api_calls") is True
    assert wh.scalar("select count(*) from dq_batch_summary where is_reconciled") == 1


@in_background
def test_a_teams_own_regions_are_facts_and_the_seed_merges_their_spellings(tmp_path) -> None:
    """A team's logs say `north`, `South` or `Москва`, which our seed does not list: those
    calls are facts with the region as delivered, and the build warns which values the
    seed lacks. A value with no letter or digit (`-`) is no region: quarantined as
    missing. Rows the team adds to seed value_aliases then merge spellings (`north` and
    `North `), and every batch is checked again. The rows go into the built seed table
    here (a test may not edit the project's seed file), and the build leaves the seed out."""
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    csv = tmp_path / "team_regions.csv"
    regions = ["north", "North ", "south", "SOUTH", "Metro", "Москва", "-"]
    csv.write_text(
        "timestamp,api_name,api_version,region,client_type,document_type,status,status_code,"
        "latency_ms,error_reason\n"
        + "".join(f"2026-10-01 10:0{i}:00,PAN_OCR,v2,{region},Bank,PAN,success,200,{300 + i},\n"
                  for i, region in enumerate(regions)),
        encoding="utf-8",
    )  # fmt: skip
    run([sys.executable, "-m", "api_trust.ingest", str(csv)], db, work)
    select = ["--select", "+fct_api_calls", "+agg_success_by_region", "+agg_failures_by_region",
              "+agg_api_daily", "+dq_quarantine"]  # fmt: skip
    built = dbt(db, work, "build", *select, "--indirect-selection", "cautious")
    wh = Warehouse(db, work)
    assert wh.rows("select primary_reason, count(*) from dq_quarantine group by 1") == [
        ("missing_region", 1)]  # fmt: skip
    assert wh.rows("select region, calls from agg_success_by_region order by region") == sorted(
        (region.strip(), 1) for region in regions[:-1])  # fmt: skip
    # the one warning: the five values the seed lacks (Metro is ours)
    assert "Warning in test canonical_values_fct_api_calls_region " in built.stdout
    assert "Got 5 results" in built.stdout and "WARN=1 " in built.stdout, built.stdout
    with duckdb.connect(str(db)) as con:
        con.execute("insert into reference.value_aliases (dimension, alias_key, canonical_value) "
                    "values ('region', 'north', 'North'), ('region', 'south', 'South')")  # fmt: skip
    # buildable: the tests of the selected models run though one of their parents (the
    # seed) is left out
    built = dbt(db, work, "build", *select, "--exclude", "value_aliases",
                "--indirect-selection", "buildable")  # fmt: skip
    assert wh.rows("select region, calls from agg_success_by_region order by region") == sorted(
        [("Metro", 1), ("Москва", 1), ("North", 2), ("South", 2)])  # fmt: skip
    assert "Got 1 result," in built.stdout and "WARN=1 " in built.stdout, built.stdout  # Москва


def test_no_data_test_lists_a_vocabulary_the_seed_holds() -> None:
    """The regions, client types and document types a team may extend live in seed
    value_aliases alone: a data test that listed them too (accepted_values) would fail the
    build of a team that added its own (three such lists on region once did). Status is
    the pipeline's own (success, fail), not a team's vocabulary."""
    import csv

    import yaml

    with (ROOT / "seeds" / "value_aliases.csv").open(encoding="utf-8") as fh:
        vocabulary = {row["canonical_value"] for row in csv.DictReader(fh)
                      if row["dimension"] != "status"}  # fmt: skip

    def lists(node):
        if isinstance(node, dict):
            values = (node.get("accepted_values") or {}).get("arguments", {}).get("values")
            if isinstance(values, list):
                yield values
            for child in node.values():
                yield from lists(child)
        elif isinstance(node, list):
            for child in node:
                yield from lists(child)

    found = {
        str(path.relative_to(ROOT)): sorted(set(values) & vocabulary)
        for path in sorted((ROOT / "models").rglob("*.yml"))
        for values in lists(yaml.safe_load(path.read_text(encoding="utf-8")))
        if set(values) & vocabulary
    }
    assert vocabulary and found == {}, found


@pytest.mark.parametrize("rows", [2000])
def test_second_generator_run_replaces_instead_of_doubling(tmp_path, rows: int) -> None:
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    generate(db, work, "--rows", str(rows), "--seed", "3", "--dirty-rate", "0.05")
    generate(db, work, "--rows", str(rows), "--seed", "3", "--dirty-rate", "0.05")
    wh = Warehouse(db, work)
    planted_dups = wh.scalar(
        "select count(*) from raw.planted_defects where kind = 'duplicate_delivery'"
    )
    assert wh.scalar("select count(*) from raw.api_calls") == rows + planted_dups
    assert wh.scalar("select count(*) from raw.load_batches") == 1
    assert wh.scalar("select count(*) from raw.generator_runs") == 1
