"""Incremental builds give the same warehouse as a full rebuild.

int_api_calls_validated processes only batches it has not seen (fct_api_calls
is a view of its facts); duplicates across batches still count earlier
deliveries, and batches that leave the landing zone (a regenerated demo) leave
the facts too. The day-grain marts and fct_verifications rebuild only the days
whose facts changed (doc incremental_days): a new day, late rows for past days
and an unloaded batch give the same marts as --full-refresh.
"""

from __future__ import annotations

import json
import math
import shutil
import sys

import duckdb
from api_trust.landing import tables_dir
from conftest import WRITE_JSON, Warehouse, dbt, generate, in_background, run

# the day-incremental models and what they read
DAY_INCREMENTAL = [
    "agg_api_daily", "agg_api_hourly", "fct_verifications",
    "int_rca_day_leaves_counted", "int_rca_calls_bucketed",
]  # fmt: skip
# and the models that join whole-history statistics onto them
DAYS_AND_AFTER = ["int_rca_leaves_counted"]
DAYS_SELECTED = ["--select", *(f"+{m}" for m in DAY_INCREMENTAL + DAYS_AND_AFTER),
                 "--indirect-selection", "cautious"]  # fmt: skip
DAYS = [*DAYS_SELECTED, "--exclude-resource-type", "unit_test"]
# A warehouse rebuilt with --full-refresh only to be compared with the incremental one
# builds seeds and models alone: the incremental build it is compared with ran the data
# tests, and the comparison asserts the same rows (a full build's tests run in every
# other full build of the session).
NO_DATA_TESTS = ["--exclude-resource-type", "test", "unit_test"]
HEADER = (
    "request_id,timestamp,api_name,api_version,region,client_type,client_id,document_type,"
    "verification_id,attempt_no,status,status_code,latency_ms,error_reason,error_message"
)
CORE = ["--select", "+fct_api_calls", "+dq_batch_summary", "--indirect-selection", "cautious"]
ROUTED = "select batch_id, source_record_no, call_id, route, delivery_no, reasons from intermediate.int_api_calls_validated"


def _csv_from_raw(wh: Warehouse, where: str, path) -> int:
    """Write some landed records back out as a CSV file, as a later delivery would resend them."""
    df = wh.df(f"""
        select request_id, "timestamp", api_name, api_version, region, client_type, client_id,
               document_type, verification_id, attempt_no, status, status_code, latency_ms,
               error_reason, error_message
        from raw.api_calls where {where} order by source_record_no
    """)
    df.to_csv(path, index=False)
    return len(df)


@in_background
def test_incremental_build_matches_full_rebuild(tmp_path) -> None:
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    generate(db, work, "--rows", "20000", "--seed", "11", "--dirty-rate", "0.02", "--batches", "2")
    dbt(db, work, "build", "--quiet", *CORE)
    wh = Warehouse(db, work)
    facts_before = wh.scalar("select count(*) from fct_api_calls")

    # a later file: 5 records already delivered (resent) + 3 genuinely new ones
    resend = tmp_path / "resend.csv"
    first_batch = wh.scalar("select min(batch_id) from raw.load_batches")
    n = _csv_from_raw(
        wh,
        f"batch_id = '{first_batch}' and source_record_no in (10, 20, 30, 40, 50)",
        resend,
    )
    assert n == 5
    new = tmp_path / "new.csv"
    new.write_text(
        resend.read_text(encoding="utf-8").splitlines()[0]
        + "\n"
        + "\n".join(
            f"new_{i},2026-10-20 10:0{i}:00,PAN_OCR,v2,Metro,FinTech,C0001,PAN,vnew_{i},1,"
            f"success,200,{700 + i},,"
            for i in range(3)
        )
        + "\n",
        encoding="utf-8",
    )
    run([sys.executable, "-m", "api_trust.ingest", str(resend), str(new)], db, work)
    dbt(db, work, "build", "--quiet", *CORE)

    resent = wh.rows(f"""
        select route, delivery_no from ({ROUTED}) as r
        inner join raw.load_batches as b using (batch_id)
        where b.source_name = 'resend.csv'
    """)
    # a resent record that was first quarantined is still a later delivery
    assert resent == [("duplicate", 2)] * 5
    assert wh.scalar("select count(*) from fct_api_calls") == facts_before + 3
    assert wh.scalar("select bool_and(is_reconciled) from dq_batch_summary") is True

    # the same warehouse rebuilt from scratch routes every record the same way
    (tmp_path / "full").mkdir()
    full_db = tmp_path / "full" / "warehouse.duckdb"
    shutil.copy(db, full_db)
    dbt(full_db, tmp_path / "full", "build", "--quiet", "--full-refresh", *CORE, *NO_DATA_TESTS)
    full = Warehouse(full_db, tmp_path / "full")
    assert sorted(wh.rows(ROUTED)) == sorted(full.rows(ROUTED))
    assert wh.scalar("select count(*) from fct_api_calls") == full.scalar(
        "select count(*) from fct_api_calls"
    )


@in_background
def test_validated_files_follow_the_landed_batches(tmp_path) -> None:
    """int_api_calls_validated is a view over Parquet files, one per run (macros/batch_files.sql):
    a batch that leaves is written out of the file it shares with a batch that stays, a file
    a killed run left half-written is never read, a table of the model from before the
    files (an old warehouse) gives way to the view, and when every batch leaves (a demo
    regenerated) its facts leave too and one file stays."""
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    generate(db, work, "--rows", "6000", "--seed", "3", "--dirty-rate", "0.02", "--batches", "2")
    dbt(db, work, "build", "--quiet", *CORE)
    wh = Warehouse(db, work)
    folder = tables_dir(db) / "intermediate" / "int_api_calls_validated"
    (first_file,) = folder.glob("*.parquet")
    kept, leaving = [b for (b,) in wh.rows("select batch_id from raw.load_batches order by 1")]
    kept_rows = sorted(wh.rows(f"{ROUTED} where batch_id = '{kept}'"))
    assert wh.scalar(f"select count(distinct batch_id) from read_parquet('{first_file}')") == 2

    run([sys.executable, "-m", "api_trust.unload", leaving], db, work)
    killed = folder / "run-killed.parquet.pending"
    killed.write_bytes(b"PAR1 half a file")
    dbt(db, work, "build", "--quiet", *CORE)
    assert not first_file.exists() and not killed.exists()
    (second_file,) = folder.glob("*.parquet")
    assert wh.rows(f"select distinct batch_id from read_parquet('{second_file}')") == [(kept,)]
    assert sorted(wh.rows(ROUTED)) == kept_rows
    assert wh.scalar("select bool_and(is_reconciled) from dq_batch_summary") is True

    with duckdb.connect(str(db)) as con:
        con.execute(
            "create table intermediate.old_layout as select * from intermediate.int_api_calls_validated"
        )
        con.execute("drop view intermediate.int_api_calls_validated")
        con.execute("alter table intermediate.old_layout rename to int_api_calls_validated")
    dbt(db, work, "build", "--quiet", *CORE)
    assert (
        wh.scalar(
            "select table_type from information_schema.tables where table_name = 'int_api_calls_validated'"
        )
        == "VIEW"
    )
    assert sorted(wh.rows(ROUTED)) == kept_rows
    assert len(list(folder.glob("*.parquet"))) == 1

    # every batch leaves, twice (a demo regenerated at another size): the pre-hook keeps an
    # empty file so that the view has its columns, and the run removes it once it has
    # written its own, so one file stays, not one more for each time
    for rows, seed in (("3000", "4"), ("2000", "5")):
        generate(db, work, "--rows", rows, "--seed", seed)
        dbt(db, work, "build", "--quiet", *CORE)
        files = [
            wh.scalar(f"select count(*) from read_parquet('{p}')") for p in folder.glob("*.parquet")
        ]
        assert files == [wh.scalar("select count(*) from raw.api_calls")], files
        batches = {b for (b,) in wh.rows("select distinct batch_id from fct_api_calls")}
        landed = {b for (b,) in wh.rows("select batch_id from raw.load_batches")}
        assert batches == landed and len(landed) == 1
        assert wh.scalar("select count(*) from fct_api_calls") == int(rows)


def _late_rows(wh: Warehouse, path, tag: str, day_no: int) -> None:
    """A late file: a new verification on a past day, and a retry, the day after, of a
    verification that failed its first attempt on that day (so it spans two days); and a
    call that day to an API outside the catalogue, as new routes and misspelt names come
    with most batches (it must not make every day stale)."""
    day = wh.scalar(f"select min(cast(called_at as date)) + {day_no} from fct_api_calls")
    api, version, region, client_type, client, document, verification = wh.rows(f"""
        select api_name, api_version, region, client_type, client_id, document_type, verification_id
        from fct_api_calls
        where cast(called_at as date) = date '{day}' and attempt_no = 1 and not is_success
          and is_api_traffic
        order by request_id limit 1
    """)[0]  # fmt: skip
    next_day = wh.scalar(f"select date '{day}' + 1")
    fields = f"{api},{version},{region},{client_type},{client},{document}"
    path.write_text(
        f"{HEADER}\n"
        f"{tag}_1,{day} 09:00:00,{fields},{tag}_v,1,success,200,321.5,,\n"
        f"{tag}_2,{next_day} 00:30:00,{fields},{verification},2,success,200,250,,\n"
        f"{tag}_3,{day} 12:00:00,{fields},{tag}_v,2,success,200,100,,\n"
        f"{tag}_4,{day} 13:00:00,{tag.upper()}_UNCATALOGUED,{fields.split(',', 1)[1]},{tag}_w,1,"
        "success,200,80,,\n",
        encoding="utf-8",
    )


def _tables(wh: Warehouse) -> list[str]:
    """Every table and view built (marts and internal steps; int_api_calls_validated is a
    view over its files) but the ledger, whose rows say when."""
    return [f"{schema}.{table}" for schema, table in wh.rows(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('main', 'intermediate') "
        "and table_name != 'int_incremental_days_built' order by 1, 2")]  # fmt: skip


# columns that say which dbt run wrote a row: the runs differ, the data must not
RUN_STAMPS = {"validated_at", "scanned_at"}


def _rows_by_kind(wh: Warehouse, qualified: str) -> list[tuple[tuple, tuple]]:
    """A table's rows as (exact values, doubles), in one order: doubles are compared to a
    relative 1e-9 (a sum over other rows may round differently), the rest exactly; the
    run stamps are left out."""
    columns = [(c, kind) for c, kind in wh.rows(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        qualified.split(".")) if c not in RUN_STAMPS]  # fmt: skip
    exact = [f'"{c}"' for c, kind in columns if kind not in ("DOUBLE", "FLOAT")]
    doubles = [f'"{c}"' for c, kind in columns if kind in ("DOUBLE", "FLOAT")]
    rows = wh.rows(f"select {', '.join(exact + doubles)} from {qualified}")
    split = [(r[: len(exact)], r[len(exact) :]) for r in rows]
    return sorted(split, key=lambda r: tuple((v is None, str(v)) for v in r[0]))


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@in_background
def test_new_day_late_rows_and_an_unloaded_batch_rebuild_only_their_days(tmp_path) -> None:
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    generate(db, work, "--rows", "12000", "--seed", "5", "--days", "8", "--batches", "2")
    wh, early = Warehouse(db, work), tmp_path / "early.csv"
    dbt(db, work, "build", "--quiet", *DAYS)
    days = wh.scalar("select count(*) from intermediate.int_call_days_fingerprinted")
    _late_rows(wh, early, "early", 2)
    run([sys.executable, "-m", "api_trust.ingest", str(early)], db, work)
    dbt(db, work, "build", "--quiet", *DAYS)
    assert (
        wh.scalar("select attempts from fct_verifications where verification_id = 'early_v'") == 2
    )
    built = wh.rows(
        "select model_name, count(*) from intermediate.int_incremental_days_built group by 1"
    )
    assert sorted(built) == [(m, days + 2) for m in sorted(DAY_INCREMENTAL)]  # every day, then 2

    # one run: the next day arrives, the early file leaves, another late file arrives
    generate(
        db, work, "--rows", "12000", "--seed", "5", "--days", "8", "--batches", "2", "--append-day"
    )
    early_batch = wh.scalar("select batch_id from raw.load_batches where source_name = 'early.csv'")
    run([sys.executable, "-m", "api_trust.unload", early_batch], db, work)
    late = tmp_path / "late.csv"
    _late_rows(wh, late, "late", 5)
    run([sys.executable, "-m", "api_trust.ingest", str(late)], db, work)
    dbt(db, work, "build", "--quiet", *DAYS, extra_env=WRITE_JSON)
    # the new day, the early file's two days, the late file's two days: nothing else,
    # each model's rows of those days deleted and inserted again
    assert _days_rebuilt_last(wh) == [(m, 5) for m in sorted(DAY_INCREMENTAL)]
    assert _built_incrementally(work) == dict.fromkeys(DAY_INCREMENTAL, True)
    assert (
        wh.scalar("select count(*) from fct_verifications where verification_id = 'early_v'") == 0
    )
    assert wh.scalar("select attempts from fct_verifications where verification_id = 'late_v'") == 2

    _assert_full_refresh_gives_the_same(wh, tmp_path / "full")


def _days_rebuilt_last(wh: Warehouse) -> list[tuple[str, int]]:
    """How many days each day-incremental model rebuilt in the last build."""
    return sorted(wh.rows("""
        select model_name, count(*) from intermediate.int_incremental_days_built
        where built_at = (select max(built_at) from intermediate.int_incremental_days_built)
        group by 1
    """))  # fmt: skip


def _built_incrementally(work) -> dict[str, bool]:
    """Of the last dbt command (run with WRITE_JSON), whether each day-incremental model
    ran its incremental SQL (which reads the days it recorded: stale_days) or was built
    afresh."""
    results = json.loads((work / "target" / "run_results.json").read_text(encoding="utf-8"))
    return {
        r["unique_id"].split(".")[-1]: "recency = 1" in r["compiled_code"]
        for r in results["results"]
        if r["unique_id"].split(".")[-1] in DAY_INCREMENTAL and r["unique_id"].startswith("model.")
    }


def _assert_full_refresh_gives_the_same(wh: Warehouse, folder, *args: str) -> None:
    """A copy of the warehouse rebuilt with --full-refresh (and `args`) holds the same
    tables with the same rows, table by table."""
    folder.mkdir()
    full_db = folder / "warehouse.duckdb"
    shutil.copy(wh.db, full_db)
    # the last build's parse, under the same `args`: a command with --vars parses the
    # project again (about 8 s) unless the parse it finds was made with the same vars
    (folder / "target").mkdir()
    shutil.copy(wh.work / "target" / "partial_parse.msgpack", folder / "target")
    dbt(
        full_db, folder, "build", "--quiet", "--full-refresh", *DAYS_SELECTED, *NO_DATA_TESTS, *args
    )
    full = Warehouse(full_db, folder)
    tables = _tables(wh)
    assert {t.split(".")[1] for t in tables} >= set(DAY_INCREMENTAL + DAYS_AND_AFTER)
    assert tables == _tables(full)
    for table in tables:
        mine, theirs = _rows_by_kind(wh, table), _rows_by_kind(full, table)
        assert len(mine) == len(theirs), table
        for (exact_a, doubles_a), (exact_b, doubles_b) in zip(mine, theirs, strict=True):
            assert exact_a == exact_b, table
            assert all(_close(a, b) for a, b in zip(doubles_a, doubles_b, strict=True)), table


@in_background
def test_an_edited_validation_rule_checks_every_batch_again(tmp_path) -> None:
    """int_api_calls_validated checks a batch once, under the key of its definition (its
    code, the seeds and vars in its meta): after a var it reads is edited, the next build
    checks every batch again and the day models rebuild every day, as --full-refresh
    would. The edit here changes values of facts, not which records are facts, so only
    the key (folded into every day's fingerprint) can tell the day models."""
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    generate(db, work, "--rows", "3000", "--seed", "9", "--days", "4", "--batches", "2")
    wh = Warehouse(db, work)
    # a gateway's file: the contract's columns and the HTTP method
    methods = tmp_path / "methods.csv"
    day = "2026-10-21"
    methods.write_text(
        f"{HEADER},http_method\n"
        + "".join(
            f"m_{i},{day} 10:0{i}:00,PAN_OCR,v2,Metro,FinTech,C0001,PAN,m_v{i},1,success,200,"
            f"{300 + i},,,{method}\n"
            for i, method in enumerate(["GET", "GET", "HEAD", "POST"])
        ),
        encoding="utf-8",
    )
    run([sys.executable, "-m", "api_trust.ingest", str(methods)], db, work)
    dbt(db, work, "build", "--quiet", *DAYS)
    probes = "select count(*) from fct_api_calls where traffic_class = 'probe_method'"
    assert wh.scalar(probes) == 1
    days = wh.scalar("select count(*) from intermediate.int_call_days_fingerprinted")

    edited = ["--vars", "{non_api_methods: [HEAD, OPTIONS, GET]}"]
    dbt(db, work, "build", "--quiet", *DAYS, *edited, extra_env=WRITE_JSON)
    assert wh.scalar(probes) == 3
    built = "select model_name, count(*) from intermediate.int_incremental_days_built group by 1"
    # every day built twice; no day still current, so every day model was built afresh
    # (macro should_full_refresh), not every day deleted and inserted again
    assert sorted(wh.rows(built)) == [(m, 2 * days) for m in sorted(DAY_INCREMENTAL)]
    assert _built_incrementally(work) == dict.fromkeys(DAY_INCREMENTAL, False)
    _assert_full_refresh_gives_the_same(wh, tmp_path / "full", *edited)


@in_background
def test_a_batch_that_changes_which_routes_fold_checks_every_batch_again(tmp_path) -> None:
    """Past vars.max_routes_per_service (200) templates a service keeps its busiest routes
    and folds the rest into `<first segment>/{other}`, over every batch's calls. A later
    batch can push a route an earlier batch validated as its own API past the limit: the
    routes a folding service keeps are in the validation's key, so that earlier batch is
    checked again and its calls fold as a full rebuild folds them."""
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    wh = Warehouse(db, work)

    def access_log(name: str, routes: dict[str, int]) -> None:
        lines = ["request_id,timestamp,route,status_code,latency_ms"]
        for route, calls in routes.items():
            lines += [f"{name}_{route.strip('/')}_{i},2026-10-21 10:00:0{i % 10},GET {route},200,12"
                      for i in range(calls)]  # fmt: skip
        (tmp_path / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        run([sys.executable, "-m", "api_trust.ingest", str(tmp_path / f"{name}.csv")], db, work)
        dbt(db, work, "build", "--quiet", *CORE)

    # 200 routes of 3 calls each are kept, two quieter ones fold
    access_log("first", {f"/r{i}": 3 for i in range(200)} | {"/beta": 2, "/gamma": 1})
    apis = "select api_name, count(*) from fct_api_calls where request_id like 'first_r99_%' group by 1"
    assert wh.rows(apis) == [("GET /r99", 3)]
    assert wh.scalar("select count(distinct api_name) from fct_api_calls") == 202
    # /gamma becomes the busiest: the last of the 200 by name, /r99, is now past the limit
    access_log("second", {"/gamma": 10})
    assert wh.rows(apis) == [("GET /r99/{other}", 3)]
    assert wh.scalar("select count(*) from fct_api_calls") == 613

    (tmp_path / "full").mkdir()
    full_db = tmp_path / "full" / "warehouse.duckdb"
    shutil.copy(db, full_db)
    dbt(full_db, tmp_path / "full", "build", "--quiet", "--full-refresh", *CORE, *NO_DATA_TESTS)
    calls = "select request_id, api_name, is_api_from_route from fct_api_calls order by request_id"
    assert wh.rows(calls) == Warehouse(full_db, tmp_path / "full").rows(calls)

    # right after an upgrade the routes table is an older model's, without a column the key
    # reads: a build that selects only the validation checks every batch again with it
    # instead of stopping on DuckDB's binder error
    validated_at = "select min(validated_at) from intermediate.int_api_calls_validated"
    before = wh.scalar(validated_at)
    with duckdb.connect(str(db)) as con:
        con.execute("alter table intermediate.int_api_routes_mapped drop column is_service_folding")
    dbt(db, work, "build", "--quiet", "--select", "int_api_calls_validated")
    assert wh.scalar(validated_at) > before
    assert wh.rows(calls) == Warehouse(full_db, tmp_path / "full").rows(calls)


def test_a_model_key_holds_the_views_and_macros_it_reads(tmp_path) -> None:
    """The code a day model's fingerprint and the validation's key hash (macro
    code_closure) reaches every view and project macro behind the model: an edit of
    fct_api_calls rebuilds the day marts, an edit of a personal-data rule validates
    every batch again. It stops at tables (their rows are fingerprinted apart) and
    leaves dbt's own macros out."""
    db = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(db)).close()
    models = ("agg_api_daily", "int_api_calls_validated")
    inline = " | ".join(
        f"{{{{ api_trust.code_closure(graph.nodes['model.api_trust.{model}']) | join(' ') }}}}"
        for model in models
    )
    out = dbt(db, tmp_path, "compile", "--quiet", "--inline", inline).stdout.strip()
    closures = dict(zip(models, (part.split() for part in out.split(" | ")), strict=True))
    daily, validated = closures["agg_api_daily"], closures["int_api_calls_validated"]
    # the model first, then the views it reads, then the macros by name
    assert daily[:2] == ["model.api_trust.agg_api_daily", "model.api_trust.fct_api_calls"]
    assert validated[0] == "model.api_trust.int_api_calls_validated"
    assert {"model.api_trust.stg_logs__api_calls", "model.api_trust.stg_logs__load_batches"} <= set(
        validated
    )
    # tables and seeds are data: int_api_calls_validated's files, dim_apis, the seeds
    for closure in closures.values():
        assert not {"model.api_trust.dim_apis", "seed.api_trust.error_reasons"} & set(closure)
        assert all(item.startswith(("model.api_trust.", "macro.api_trust.")) for item in closure)
        assert len(closure) == len(set(closure))
    assert "model.api_trust.int_api_calls_validated" not in daily
    macros = [item for item in validated if item.startswith("macro.")]
    assert macros == sorted(macros)
    # reached only through other macros and adapter.dispatch: mask_pii_id -> has_pii ->
    # default__has_pii -> default__pii_normalise -> pii_normalised, and the rules
    assert {"macro.api_trust.default__has_pii", "macro.api_trust.pii_normalised",
            "macro.api_trust.pii_rules", "macro.api_trust.pii_translation"} <= set(validated)  # fmt: skip
    # called only when the model runs incrementally, which dbt's parse does not record
    # (and a run adds to the node as it renders: a key that read those changed within a
    # run), and the materialization this project writes for it
    assert {"macro.api_trust.batches_not_yet_in",
            "macro.api_trust.materialization_batch_files_duckdb"} <= set(validated)  # fmt: skip
    # dbt's persist_docs, which the materialization calls, runs this project's override
    assert "macro.api_trust.duckdb__persist_docs" in validated
    # the day machinery itself is code the day marts are made with
    assert {"macro.api_trust.stale_days", "macro.api_trust.code_closure"} <= set(daily)
