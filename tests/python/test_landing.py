"""Landed records are Parquet files of their batch, read through the view raw.api_calls.

Checked on small generated warehouses: files per batch, the view's rows equal what
raw.load_batches says landed, a warehouse from before (records in a table) moves to
files unchanged, generated files of the first typed layout are rewritten unchanged, a
folder without a batch row goes at the next landing, a moved warehouse reads its
files again after the check `make build` runs first, and the view is replaced only when
its definition changes.
"""

from __future__ import annotations

import shutil
import sys

import duckdb
from api_trust.landing import (
    GENERATED_TEXT,
    SCHEMA_FOLDER,
    landing_dir,
    planted_bit,
    quote_ident,
)
from api_trust.warehouse import connect, ensure_raw_tables
from conftest import generate, query, run

ROWS = ["--rows", "3000", "--seed", "5", "--dirty-rate", "0.05", "--batches", "2", "--drift"]


def _rows(db) -> list[tuple]:
    with query(db) as con:
        return con.execute(
            "select * from raw.api_calls order by batch_id, source_record_no"
        ).fetchall()


def test_each_batch_lands_as_files_read_through_the_view(tmp_path) -> None:
    db = tmp_path / "warehouse.duckdb"
    generate(db, tmp_path, *ROWS)
    folders = sorted(p.name for p in (landing_dir(db) / "api_calls").iterdir())
    with query(db) as con:
        kind = con.execute(
            "select table_type from information_schema.tables where table_name = 'api_calls'"
        ).fetchone()[0]
        batches = con.execute(
            "select batch_id, landed_count from raw.load_batches order by 1"
        ).fetchall()
        per_batch = con.execute(
            "select batch_id, count(*) from raw.api_calls group by 1 order by 1"
        ).fetchall()
    assert kind == "VIEW"
    assert folders == sorted([SCHEMA_FOLDER, *(b for b, _ in batches)])
    assert per_batch == batches and sum(n for _, n in batches) > 3000  # dirt adds duplicates


def test_generated_records_land_typed_and_show_exactly_their_planted_values(tmp_path) -> None:
    """The generator lands typed files with its planted values beside them: through the
    view, a record differs from the text its typed values deliver exactly in the column
    the dirt planted (a null, an empty or a blank value included), and nowhere else."""
    db = tmp_path / "warehouse.duckdb"
    generate(db, tmp_path, *ROWS)
    parts = list((landing_dir(db) / "api_calls").glob("gen_*/*.parquet"))
    assert parts and all(p.name.startswith("gen-") for p in parts)
    files = ", ".join(f"'{p}'" for p in parts)
    delivered = ", ".join(
        f"{expr} as {quote_ident('gen__' + c)}" for c, expr in GENERATED_TEXT.items()
    )
    generated = f"select batch_id, source_record_no, {delivered} from read_parquet([{files}])"
    differs = " union all ".join(
        f"select r.batch_id, r.source_record_no, '{c}' from raw.api_calls as r "
        f"inner join ({generated}) as g "
        "on r.batch_id = g.batch_id and r.source_record_no = g.source_record_no "
        f"where r.{quote_ident(c)} is distinct from g.{quote_ident('gen__' + c)}"
        for c in GENERATED_TEXT
    )
    with query(db) as con:
        changed = set(con.execute(differs).fetchall())
        planted = set(con.execute(
            "select batch_id, source_record_no, column_name from raw.planted_defects "
            "where kind != 'duplicate_delivery'"
        ).fetchall())  # fmt: skip
        blanks = con.execute(
            "select count(*) from raw.planted_defects where kind = 'missing_required'"
        ).fetchone()[0]
    assert blanks > 0 and len(planted) > 50 and changed == planted


def test_records_in_a_table_from_before_move_to_files_unchanged(tmp_path) -> None:
    """A warehouse whose raw.api_calls is a table (landed before Parquet, or made by dbt
    alone): the first command that lands, or `make build`'s check, moves its records."""
    db = tmp_path / "warehouse.duckdb"
    generate(db, tmp_path, *ROWS)
    before = _rows(db)
    con = duckdb.connect(str(db))
    con.execute("create table raw.api_calls_table as select * from raw.api_calls")
    con.execute("drop view raw.api_calls")
    con.execute("alter table raw.api_calls_table rename to api_calls")
    con.close()
    shutil.rmtree(landing_dir(db))
    run([sys.executable, "-m", "api_trust.warehouse"], db, tmp_path)
    assert _rows(db) == before
    with query(db) as con:
        assert (
            con.execute(
                "select table_type from information_schema.tables where table_name = 'api_calls'"
            ).fetchone()[0]
            == "VIEW"
        )
    assert len(list((landing_dir(db) / "api_calls").glob("gen_*/part-*.parquet"))) == 2


def test_generated_files_of_the_first_typed_layout_are_rewritten_unchanged(tmp_path) -> None:
    """A warehouse generated with a `planted__<column>` per raw column (the first typed
    layout): `make build`'s check rewrites its files with one planted_value, and the view
    shows the same records, planted values included."""
    db = tmp_path / "warehouse.duckdb"
    generate(db, tmp_path, *ROWS)
    before = _rows(db)
    parts = sorted((landing_dir(db) / "api_calls").glob("*/gen-*.parquet"))
    # the old layout: the planted value in the column its bit names, the rest null
    old = ", ".join(
        f"case when planted_mask & {planted_bit(c)} <> 0 then planted_value end "
        f"as {quote_ident('planted__' + c)}"
        for c in GENERATED_TEXT
    )
    con = duckdb.connect()
    for part in parts:
        source = f"read_parquet('{part}')"
        old_file = part.with_name("old.parquet")
        con.execute(
            f"copy (select * exclude (planted_value, batch_id, source_name, loaded_at), {old}, "
            f"batch_id, source_name, loaded_at from {source}) to '{old_file}' (format parquet)"
        )
        old_file.replace(part)
    con.close()
    proc = run([sys.executable, "-m", "api_trust.warehouse"], db, tmp_path)
    assert proc.stderr.count("landing: rewriting generated file") == len(parts)
    assert _rows(db) == before
    with query(db) as con:
        for part in parts:
            names = [r[0] for r in con.execute(f"describe from read_parquet('{part}')").fetchall()]
            assert "planted_value" in names and not any(n.startswith("planted__") for n in names)


def test_a_folder_without_a_batch_row_goes_at_the_next_landing(tmp_path) -> None:
    db = tmp_path / "warehouse.duckdb"
    generate(db, tmp_path, *ROWS)
    before = _rows(db)
    # what a landing killed before its commit leaves: files of a batch never recorded
    orphan = landing_dir(db) / "api_calls" / "file_000000000000"
    orphan.mkdir()
    for part in (landing_dir(db) / "api_calls").glob("gen_*/*.parquet"):
        shutil.copy(part, orphan / part.name)
        break
    assert len(_rows(db)) > len(before)
    csv = tmp_path / "one.csv"
    csv.write_text(
        "timestamp,api_name,status_code,latency_ms\n2026-10-20 10:00:00,PAN_VERIFY,200,90\n"
    )
    run([sys.executable, "-m", "api_trust.ingest", str(csv)], db, tmp_path)
    assert not orphan.exists()
    after = _rows(db)
    assert len(after) == len(before) + 1 and set(before) <= set(after)


def test_a_moved_warehouse_reads_its_files_again(tmp_path) -> None:
    db = tmp_path / "a" / "warehouse.duckdb"
    db.parent.mkdir()
    generate(db, tmp_path, *ROWS)
    before = _rows(db)
    moved = tmp_path / "b" / "warehouse.duckdb"
    moved.parent.mkdir()
    shutil.move(db, moved)
    shutil.move(landing_dir(db), landing_dir(moved))
    run([sys.executable, "-m", "api_trust.warehouse"], moved, tmp_path)
    assert _rows(moved) == before


def _view(con) -> tuple[int, str]:
    return con.execute(
        "select view_oid, comment from duckdb_views() "
        "where schema_name = 'raw' and view_name = 'api_calls'"
    ).fetchone()


def test_the_view_is_replaced_only_when_its_definition_changes(tmp_path) -> None:
    """Each landing and build makes sure of raw.api_calls; replacing an unchanged view would
    make every command's last checkpoint rewrite the catalog. (A view's oid is stable
    within one connection only, so the checks run on one.)"""
    db = tmp_path / "a" / "warehouse.duckdb"
    db.parent.mkdir()
    generate(db, tmp_path, *ROWS)
    moved = tmp_path / "b" / "warehouse.duckdb"  # the files' folder is in the definition
    moved.parent.mkdir()
    shutil.move(db, moved)
    shutil.move(landing_dir(db), landing_dir(moved))
    con = connect(moved)
    try:
        before = _view(con)
        ensure_raw_tables(con, moved)
        replaced = _view(con)
        ensure_raw_tables(con, moved)
        kept = _view(con)
        rows = con.execute("select count(*) from raw.api_calls").fetchone()[0]
    finally:
        con.close()
    assert replaced[0] != before[0] and replaced[1] != before[1]
    assert kept == replaced
    assert rows > 3000
