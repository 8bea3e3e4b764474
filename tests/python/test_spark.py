"""The Spark build's raw input: every raw relation of a warehouse exported as Parquet.

Spark itself is not started here (`make build-spark` runs it): the export is checked on
a small generated warehouse with dirt, drift and a loaded access log.
"""

from __future__ import annotations

import sys

import duckdb
from api_trust.spark import export_raw
from conftest import generate, query, run


def test_every_raw_relation_is_exported_whole_as_parquet(tmp_path) -> None:
    db = tmp_path / "warehouse.duckdb"
    generate(db, tmp_path, "--rows", "3000", "--seed", "5", "--dirty-rate", "0.05",
             "--batches", "2", "--drift")  # fmt: skip
    log = tmp_path / "access.log"
    log.write_text(
        '10.0.0.1 - - [01/Nov/2026:10:00:00 +0530] "POST /v1/pan/verify HTTP/1.1" 200 12 "-" "curl/8" 0.120\n'
        "not an access log line\n"
    )
    run([sys.executable, "-m", "api_trust.ingest", str(log)], db, tmp_path)
    out = tmp_path / "raw"
    written = export_raw(db, out)
    with query(db) as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()]  # fmt: skip
        expected = {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in tables}
        originals = {
            t: con.execute(f"select * from raw.{t} order by all").fetchall() for t in tables
        }
    assert written == expected and expected["api_calls"] > 3000 and expected["load_rejects"] >= 1
    con = duckdb.connect()
    for table in tables:
        files = sorted((out / table).glob("*.parquet"))
        assert [f.name for f in files] == ["part-00000.parquet"], table
        rows = con.execute(f"select * from read_parquet('{files[0]}') order by all").fetchall()
        assert rows == originals[table], table
