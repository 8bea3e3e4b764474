"""The same project on Spark: its raw input, its build, and every mart against DuckDB's.

The export of the raw landing runs in `make test` (no Spark). The tests marked `spark`
run in `make test-spark` only (`-m spark`; they need Java and the Spark extra): one
generated dataset (dirt, drift, three batches) is built on local Spark with every model,
seed, data test and unit test, then on DuckDB from the same raw landing, and every mart
is compared between the two.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from api_trust.engine_compare import compare_marts, mart_names
from api_trust.spark import export_models, export_raw, unit_test_exclusions
from conftest import ROOT, WRITE_JSON, assert_ok, dbt, generate, query, run
from test_hostile_build import call, dst_local_times, write_csv, zone_forms

SPARK_ROWS = os.environ.get("API_TRUST_SPARK_TEST_ROWS", "10000")
SPARK_DAYS = os.environ.get("API_TRUST_SPARK_TEST_DAYS", "3")


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


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> Path:
    """One dataset built on Spark (everything, unit tests included but those that
    Spark plans for minutes: api_trust.spark.UNIT_TESTS_NOT_ON_SPARK), then on DuckDB."""
    root = tmp_path_factory.mktemp("spark")
    env = dict(os.environ, API_TRUST_SPARK_DIR=str(root))
    # beside the generated calls, the zone forms engines could disagree on: offsets, names
    # (in any case, short ids), local times that occur twice or never, unknown zones,
    # fractions of epoch seconds
    extra = [
        call("zs_lower", "2026-10-05 10:00:00 asia/kolkata"),
        call("zs_short", "2026-10-05 10:00:00 IST"),
        call("zs_only_duckdb", "2026-10-05 10:00:00 US/Pacific-New"),
        # and values both engines must tell apart alike: a region the seed does not list, in
        # another script (kept), one with no letter or digit (missing), an API name with dots
        call("vs_cyrillic", "2026-10-05 10:01:00", region="Москва"),
        call("vs_placeholder", "2026-10-05 10:02:00", region="-"),
        call("vs_grpc_name", "2026-10-05 10:03:00", api_name="/kyc.PanService/Verify"),
    ]
    files = [zone_forms(root), dst_local_times(root), write_csv(root, "zone_spellings", extra)]
    loads = [arg for f in files for arg in ("--load", str(f))]
    spark = subprocess.run(
        [sys.executable, "-m", "api_trust.spark", "--rows", SPARK_ROWS, "--days", SPARK_DAYS,
         *loads, "--", "build", *unit_test_exclusions()],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    (root / "spark_build.log").write_text(spark.stdout + spark.stderr, encoding="utf-8")
    assert_ok(spark)
    # the build's results, before the export's run-operation writes its own
    shutil.copyfile(root / "target" / "run_results.json", root / "build_run_results.json")
    assert export_models(root, mart_names(), root / "marts") == 0, "exporting the marts failed"
    db = root / "duckdb" / "warehouse.duckdb"
    # its run_results.json is read below: test commands write no JSON unless asked
    dbt(db, root / "duckdb", "build", extra_env=WRITE_JSON)
    return root


@pytest.mark.spark
def test_every_model_seed_and_test_passes_on_spark(engines) -> None:
    """Every node succeeds on Spark, and the data tests that warn are those that warn on
    DuckDB over the same landing (the drifted batches' schema drift)."""
    results = json.loads((engines / "build_run_results.json").read_text())["results"]
    duck = json.loads((engines / "duckdb" / "target" / "run_results.json").read_text())["results"]
    by_type: dict[str, int] = {}
    for r in results:
        kind = r["unique_id"].split(".")[0]
        by_type[kind] = by_type.get(kind, 0) + 1
        # exposures (the dashboards) are documentation: dbt runs nothing for them
        ok = ("no-op",) if kind == "exposure" else ("success", "pass", "warn")
        assert r["status"] in ok, (r["unique_id"], r["status"], r["message"])
    warned = {r["unique_id"] for r in results if r["status"] == "warn"}
    assert warned == {r["unique_id"] for r in duck if r["status"] == "warn"}
    manifest = json.loads((engines / "target" / "manifest.json").read_text())
    models = {k for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert by_type.get("model") == len(models) and by_type.get("unit_test", 0) > 0, by_type


@pytest.mark.spark
@pytest.mark.parametrize("mart", mart_names())
def test_every_mart_agrees_between_engines(engines, mart: str) -> None:
    (result,) = compare_marts(engines / "duckdb" / "warehouse.duckdb", engines / "marts", [mart])
    assert result.agrees, "\n".join(result.problems)
    # every mart holds rows at this size (an incident and SLO alerts among them)
    assert result.rows[0] > 0, f"{mart} is empty on both engines: nothing was compared"


def test_every_zone_name_of_the_seed_converts_on_duckdb() -> None:
    """Seed time_zone_names lists names both engines convert; DuckDB's side is checked here
    (Spark's by make test-spark, whose data carries zone names and short ids)."""
    with (ROOT / "seeds" / "time_zone_names.csv").open() as f:
        names = [line.strip() for line in f][1:]
    con = duckdb.connect()
    known = {n for (n,) in con.execute("select name from pg_timezone_names()").fetchall()}
    assert len(names) > 500 and "Asia/Kolkata" in names and "IST" in names
    assert set(names) <= known, sorted(set(names) - known)
    for name in names:
        local = con.execute(
            "select timezone(?, timestamp '2026-06-01 12:00:00')", [name]
        ).fetchone()[0]
        assert local is not None, name
