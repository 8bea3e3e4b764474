"""The same dbt project on local Apache Spark (`make build-spark`, `make test-spark`).

What it does, in order:
1. a small generated warehouse (DuckDB, the generator as `make generate` runs it) in
   the Spark folder (`API_TRUST_SPARK_DIR`, default `.spark/` in the project), with
   any `--load` log files loaded beside the generated calls;
2. every raw relation exported as Parquet (`<spark dir>/raw/<table>/`): the landing
   as Spark reads it, text as delivered, through the same view DuckDB reads;
3. `dbt build --target spark` (dbt-spark, `method: session`: a local SparkSession in
   the dbt process), whose on-run-start registers those folders as the `raw` tables.

Spark's warehouse, metastore and logs stay in the Spark folder. What differs on Spark,
and what is not there yet, is in README "Running on Spark".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from api_trust.contract import PROJECT_ROOT
from api_trust.landing import quote_ident, sql_literal
from api_trust.warehouse import WarehouseError, connect, ensure_raw_tables, run_cli

# Small, but enough for every mart to hold rows (an incident, SLO alerts) when built
# on both engines and compared: 10,000 calls over 3 days
DEFAULT_ROWS = 10000
DEFAULT_DAYS = 3
# Unit tests left out on Spark: their models chain many CTEs over literal fixture rows, and
# Spark spends minutes planning each (measured: more than 4 min for one, against 1-4 s for
# every other unit test). The models themselves are built and compared on Spark.
UNIT_TESTS_NOT_ON_SPARK = [
    "int_rca_api_hours_screened", "int_rca_api_hours_baselined", "int_rca_time_windows_tested",
]  # fmt: skip


def unit_test_exclusions() -> list[str]:
    """`dbt build` arguments that leave out the unit tests of UNIT_TESTS_NOT_ON_SPARK."""
    return ["--exclude", *(f"test_type:unit,{model}" for model in UNIT_TESTS_NOT_ON_SPARK)]


# Spark's own logging: errors only, to stderr (its INFO and WARN lines would bury dbt's)
LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = spark: %p %c{1}: %m%n
# whole-stage code generation that outgrows Janino falls back to interpreted execution
# (spark.sql.codegen.fallback); each fallback would print a compiler stack trace
logger.codegen.name = org.apache.spark.sql.catalyst.expressions.codegen.CodeGenerator
logger.codegen.level = off
"""


def spark_dir() -> Path:
    """Where everything Spark writes lives (ignored by git)."""
    return Path(os.environ.get("API_TRUST_SPARK_DIR", PROJECT_ROOT / ".spark")).resolve()


def raw_dir(root: Path) -> Path:
    return root / "raw"


def export_raw(db: Path, out: Path) -> dict[str, int]:
    """Every relation of the warehouse's `raw` schema as one Parquet file per table,
    `out/<table>/part-00000.parquet`; returns the rows written per table."""
    con = connect(db)
    try:
        ensure_raw_tables(con, db)
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'raw' order by table_name").fetchall()]  # fmt: skip
        written = {}
        for table in tables:
            folder = out / table
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            target = sql_literal(str(folder / "part-00000.parquet"))
            row = con.execute(
                f"copy (select * from raw.{quote_ident(table)}) to {target} (format parquet)"
            ).fetchone()
            written[table] = int(row[0]) if row else 0
        return written
    finally:
        con.close()


def spark_env(root: Path) -> dict[str, str]:
    """The environment of a Spark dbt command: profiles.yml's spark output reads it."""
    return dict(
        os.environ,
        API_TRUST_SPARK_DIR=str(root),
        DBT_PROFILES_DIR=str(PROJECT_ROOT),
        DBT_TARGET_PATH=str(root / "target"),
        DBT_LOG_PATH=str(root / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )


def run_on(db: Path, args: list[str], what: str) -> None:
    """A project module run against the warehouse `db`; its output shown only on failure."""
    proc = subprocess.run([sys.executable, "-m", *args], env=dict(os.environ, API_TRUST_DB=str(db)),
                          cwd=PROJECT_ROOT, capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        raise WarehouseError(f"{what} failed: {(proc.stdout + proc.stderr).strip()[-2000:]}")


def generate(db: Path, rows: int, days: int) -> None:
    run_on(db, ["api_trust.generate", "--rows", str(rows), "--days", str(days), "--seed", "42",
                "--dirty-rate", "0.03", "--batches", "3", "--drift"], "the generator")  # fmt: skip


def dbt_spark(root: Path, *args: str) -> int:
    """A dbt command against the spark target; its output goes to the terminal."""
    dbt = Path(sys.executable).with_name("dbt")
    cmd = [str(dbt), *args, "--target", "spark", "--project-dir", str(PROJECT_ROOT)]
    return subprocess.run(cmd, env=spark_env(root), cwd=root).returncode


def load(db: Path, files: list[str]) -> None:
    """A team's own log files loaded into the generated warehouse (make load's reader)."""
    run_on(db, ["api_trust.ingest", *files], f"loading {' '.join(files)}")


def export_models(root: Path, names: list[str], folder: Path) -> int:
    """Models of the Spark build as Parquet, `folder/<name>/` (macro export_parquet)."""
    args = json.dumps({"names": names, "folder": str(folder)})
    return dbt_spark(root, "run-operation", "export_parquet", "--args", args)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m api_trust.spark", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--rows", type=int, default=DEFAULT_ROWS, help="generated calls (default %(default)s)"
    )
    p.add_argument(
        "--days", type=int, default=DEFAULT_DAYS, help="days they span (default %(default)s)"
    )
    p.add_argument(
        "--load", action="append", default=[], metavar="FILE",
        help="a log file to load beside the generated calls (repeatable; make load reads it)",
    )  # fmt: skip
    p.add_argument(
        "dbt_args",
        nargs="*",
        default=["build"],
        help="dbt command and its options after `--` (default: build)",
    )
    args = p.parse_args(argv)
    root = spark_dir()
    root.mkdir(parents=True, exist_ok=True)
    (root / "log4j2.properties").write_text(LOG4J2, encoding="utf-8")
    db = root / "duckdb" / "warehouse.duckdb"
    t0 = time.perf_counter()
    print(f"spark: generating {args.rows:,} calls over {args.days} days into {db}", file=sys.stderr,
          flush=True)  # fmt: skip
    shutil.rmtree(db.parent, ignore_errors=True)
    db.parent.mkdir(parents=True)
    generate(db, args.rows, args.days)
    if args.load:
        print(f"spark: loading {', '.join(args.load)}", file=sys.stderr, flush=True)
        load(db, [str(Path(f).resolve()) for f in args.load])
    written = export_raw(db, raw_dir(root))
    print(f"spark: raw exported as Parquet to {raw_dir(root)}: "
          + ", ".join(f"{t} {n:,}" for t, n in written.items()), file=sys.stderr, flush=True)  # fmt: skip
    print(f"spark: dbt {' '.join(args.dbt_args)} --target spark (local Spark starts in about "
          "15 s)", file=sys.stderr, flush=True)  # fmt: skip
    code = dbt_spark(root, *args.dbt_args)
    print(f"spark: done in {time.perf_counter() - t0:.0f} s, dbt exit code {code}; logs in "
          f"{root / 'logs'}", file=sys.stderr, flush=True)  # fmt: skip
    sys.exit(code)


if __name__ == "__main__":
    run_cli(main)
