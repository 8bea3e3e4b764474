"""The references `make bench` sets beside the pipeline, each run as its own process.

    python -m api_trust.bench_refs anchor  --rows N --db PATH   # plain typed writer
    python -m api_trust.bench_refs metrics --engine duckdb|pandas --db PATH
    python -m api_trust.bench_refs direct  --db PATH            # the metric SQL, no dbt
    python -m api_trust.bench_refs landing --db PATH --out DIR  # landing formats compared

The anchor writer is what landing N rows costs with nothing but numpy arrays,
pandas categoricals and one DuckDB insert per chunk: the same columns as
raw.api_calls, typed, with uniform random values (no simulation, no dirt, no
masking), in a file created as the warehouse is (its storage version). The four
original metrics (latency percentiles, success rate and error reasons per API,
failures per region) are defined once, in METRICS, as
plain DuckDB SQL over the facts; pandas computes the same numbers from the
same rows, and dbt runs the same SQL as models (bench.py writes that
project). The landing options write the rows the generator landed, as
delivered, in each candidate format (LANDINGS), and read them back once. Each
command prints one JSON object with its own timings. Every
connection runs under the warehouse's DuckDB settings (memory limit, spill
folder: profiles.yml), as dbt's do.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from api_trust.landing import PARQUET_OPTIONS, sql_literal
from api_trust.warehouse import apply_settings, connect

FACTS = "main.fct_api_calls"
PERCENTILES = (0.5, 0.95, 0.99)

# The four original metrics, in plain SQL over the facts: the single definition that
# the direct run, the dbt models and the comparison with pandas all use.
METRICS = {
    "latency_percentiles_by_api": f"""
        select api_name, quantile_cont(latency_ms, {list(PERCENTILES)}) as latency_ms
        from {FACTS}
        where latency_ms is not null
        group by api_name""",
    "success_rate_by_api": f"""
        select api_name, count(*) as calls, avg(cast(is_success as double)) as success_rate
        from {FACTS}
        group by api_name""",
    "failures_by_region": f"""
        select region, count(*) as failures
        from {FACTS}
        where not is_success
        group by region""",
    "error_reasons_by_api": f"""
        select api_name, error_reason, count(*) as failures
        from {FACTS}
        where not is_success
        group by api_name, error_reason""",
}
PANDAS_COLUMNS = ("api_name", "region", "error_reason", "is_success", "latency_ms")
ANCHOR_CHUNK = 1_000_000


# ---------------------------------------------------------------------------------------
# anchor writer


def _anchor_frame(rng: np.random.Generator, first: int, n: int, categories: dict):
    """One chunk of typed rows; text columns are categoricals (codes + a few strings)."""
    import pandas as pd

    def pick(name: str, codes: np.ndarray | None = None) -> pd.Categorical:
        values = categories[name]
        if codes is None:
            codes = rng.integers(0, len(values), n)
        return pd.Categorical.from_codes(codes, categories=values)

    record = np.arange(first, first + n, dtype=np.int64)
    reason = rng.integers(-8, len(categories["error_reason"]), n)  # < 0: a success
    reason = np.where(reason < 0, -1, reason)
    failed = reason >= 0
    return pd.DataFrame({
        "request_id": record,
        "timestamp": pd.to_datetime(
            np.int64(1_790_000_000_000) + rng.integers(0, 30 * 86_400_000, n), unit="ms"),
        "api_name": pick("api_name"),
        "api_version": pick("api_version"),
        "region": pick("region"),
        "client_type": pick("client_type"),
        "client_id": pick("client_id"),
        "document_type": pick("document_type"),
        "verification_id": record // 2,
        "attempt_no": rng.integers(1, 4, n).astype(np.int16),
        "status": pick("status", failed.astype(np.int8)),
        "status_code": np.where(failed, 500, 200).astype(np.int16),
        "latency_ms": rng.lognormal(5.5, 0.6, n).astype(np.int32),
        "error_reason": pick("error_reason", reason),
        "error_message": pick("error_message", reason),
        "extra_fields": pick("extra_fields"),
        "source_record_no": record,
    })  # fmt: skip


def anchor_ddl(table: str) -> str:
    """raw.api_calls' columns with the types a reader would give them."""
    return f"""
        create table {table} (
            request_id bigint, "timestamp" timestamp, api_name varchar, api_version varchar,
            region varchar, client_type varchar, client_id varchar, document_type varchar,
            verification_id bigint, attempt_no smallint, status varchar, status_code smallint,
            latency_ms integer, error_reason varchar, error_message varchar,
            http_method varchar, route varchar, service_name varchar, span_kind varchar,
            trace_id varchar, otel_status_code varchar, client_ip varchar,
            user_agent_family varchar, upstream_latency_ms double, sample_rate double,
            extra_fields varchar, batch_id varchar not null, source_name varchar not null,
            source_record_no bigint not null, loaded_at timestamp not null
        )"""


def anchor(rows: int, db: Path, chunk: int = ANCHOR_CHUNK) -> dict:
    """Land `rows` typed rows in a fresh DuckDB file, chunk by chunk; return the timing."""
    from api_trust.generate import MESSAGES
    from api_trust.simulation import CLIENT_TYPES, DOCUMENT_TYPES, REASONS, REGIONS, load_catalogue

    t0 = time.perf_counter()
    categories = {
        "api_name": list(load_catalogue().names),
        "api_version": ["v1", "v2", "v3"],
        "region": list(REGIONS),
        "client_type": list(CLIENT_TYPES),
        "client_id": [f"C{i:04d}" for i in range(1, 241)],
        "document_type": list(DOCUMENT_TYPES),
        "status": ["success", "fail"],
        "error_reason": list(REASONS),
        "error_message": [MESSAGES[r] for r in REASONS],
        "extra_fields": [f'{{"sdk_version":"mobile-sdk-5.{i}"}}' for i in range(3)],
    }
    for path in (db, Path(f"{db}.wal")):
        path.unlink(missing_ok=True)
    # opened as the warehouse is (a new file in profiles.yml's storage version, its
    # settings), so that the yardstick writes the same format as what it measures
    con = connect(db)
    con.execute(anchor_ddl("api_calls"))
    rng = np.random.default_rng(2026)
    for first in range(1, rows + 1, chunk):
        n = min(chunk, rows + 1 - first)
        con.register("chunk_df", _anchor_frame(rng, first, n, categories))
        con.execute("""
            insert into api_calls by name
            select *, 'anchor_b001' as batch_id, 'anchor' as source_name,
                   timestamp '2026-11-01 00:00:00' as loaded_at
            from chunk_df
        """)
        con.unregister("chunk_df")
    con.execute("checkpoint")
    landed = con.execute("select count(*) from api_calls").fetchone()[0]
    con.close()
    return {"rows": landed, "seconds": time.perf_counter() - t0}


# ---------------------------------------------------------------------------------------
# landing options: the same delivered records written in each candidate format

# Columns whose delivered text a typed landing would store as a type, and the type. A
# value whose text does not come back from the type exactly (` 123`, `12ms`, an epoch
# in a timestamp column) would go to a side table, one row a value, so nothing is lost.
TYPED = {"timestamp": "timestamp", "latency_ms": "integer", "status_code": "smallint",
         "attempt_no": "smallint"}  # fmt: skip
# One scan as staging reads raw: every row, ids, text lengths, parsed numbers and times.
LANDING_SCAN = """
    select count(*), count(distinct request_id), sum(length(error_message)),
           count(try_cast("timestamp" as timestamp)), sum(try_cast(latency_ms as bigint)),
           count(distinct api_name || region)
    from {table}"""
LANDINGS = ("duckdb, text table (the landing before)", "duckdb, 4 columns typed + side table",
            "parquet, text (the file loaders' landing)")  # fmt: skip


def _typed_select() -> tuple[str, str]:
    """The typed table's select list and the side table's rows of values that do not
    come back from their type; both over the chunk `t`."""
    replace = ", ".join(f'try_cast("{c}" as {t}) as "{c}"' for c, t in TYPED.items())
    side = " union all ".join(
        f"select batch_id, source_record_no, '{c}' as column_name, \"{c}\" as value from t "
        f'where "{c}" is not null '
        f'and cast(try_cast("{c}" as {t}) as varchar) is distinct from "{c}"'
        for c, t in TYPED.items()
    )
    return f"* replace ({replace})", side


def landing(db: Path, out: Path, chunk: int = ANCHOR_CHUNK) -> dict:
    """Write raw.api_calls of `db`, chunk by chunk, in each of LANDINGS under `out`; time
    only the writing (each chunk is read from the warehouse once, untimed), then one scan
    of each. Memory stays bounded by a chunk."""
    import shutil

    import duckdb

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    src = duckdb.connect(str(db), read_only=True)
    apply_settings(src, db)
    reader = src.execute("select * from raw.api_calls").to_arrow_reader(chunk)
    memory = duckdb.connect()
    apply_settings(memory)
    targets = [connect(out / "text.duckdb"), connect(out / "typed.duckdb"), memory]
    typed, side = _typed_select()
    write_s = dict.fromkeys(LANDINGS, 0.0)
    rows = 0
    for i, batch in enumerate(reader):
        rows += batch.num_rows
        steps = (
            ["create table if not exists a as select * from t limit 0",
             "insert into a select * from t"],
            [f"create table if not exists a as select {typed} from t limit 0",
             "create table if not exists side as select * from (" + side + ") limit 0",
             f"insert into a select {typed} from t", f"insert into side {side}"],
            [f"copy t to {sql_literal(str(out / f'chunk_{i:05d}.parquet'))} "
             f"({PARQUET_OPTIONS})"],
        )  # fmt: skip
        for name, con, sqls in zip(LANDINGS, targets, steps, strict=True):
            con.register("t", batch)
            t0 = time.perf_counter()
            for sql in sqls:
                con.execute(sql)
            write_s[name] += time.perf_counter() - t0
            con.unregister("t")
    for name, con in zip(LANDINGS[:2], targets[:2], strict=True):
        t0 = time.perf_counter()
        con.execute("checkpoint")
        write_s[name] += time.perf_counter() - t0
    side_values = targets[1].execute("select count(*) from side").fetchone()[0]
    tables = ("a", "a", f"read_parquet({sql_literal(str(out / 'chunk_*.parquet'))})")
    result = {"rows": rows, "side_values": side_values, "options": []}
    for name, con, table, files in zip(LANDINGS, targets, tables,
                                       (["text.duckdb"], ["typed.duckdb"], ["chunk_*.parquet"]),
                                       strict=True):  # fmt: skip
        t0 = time.perf_counter()
        con.execute(LANDING_SCAN.format(table=table)).fetchall()
        scan_s = time.perf_counter() - t0
        mib = sum(p.stat().st_size for f in files for p in out.glob(f)) / 2**20
        result["options"].append({"name": name, "write_s": write_s[name], "scan_s": scan_s,
                                  "mib": mib})  # fmt: skip
        con.close()
    src.close()
    shutil.rmtree(out, ignore_errors=True)
    return result


# ---------------------------------------------------------------------------------------
# the four metrics


def _rows(records) -> list[list]:
    """Rows as plain JSON-able lists (NaN and pandas NA become null), sorted."""

    def plain(v):
        if v is None:
            return None
        if isinstance(v, (list, tuple, np.ndarray)):
            return [plain(x) for x in v]
        if isinstance(v, (np.integer,)):
            return int(v)
        if isinstance(v, (float, np.floating)):
            return None if math.isnan(v) else float(v)
        return None if type(v).__name__ == "NAType" else v  # pandas.NA

    out = [[plain(v) for v in r] for r in records]
    return sorted(out, key=lambda r: json.dumps(r, default=str))


def metrics_duckdb(db: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)

    apply_settings(con, db)
    t0 = time.perf_counter()
    fetched = {name: con.execute(sql).fetchall() for name, sql in METRICS.items()}
    compute = time.perf_counter() - t0
    results = {name: _rows(rows) for name, rows in fetched.items()}
    rows = con.execute(f"select count(*) from {FACTS}").fetchone()[0]
    con.close()
    return {"engine": "duckdb", "rows": rows, "load_s": 0.0, "compute_s": compute,
            "results": results}  # fmt: skip


def pandas_metrics(df) -> dict:
    """The four metrics from a frame of the facts' columns: the same numbers as METRICS."""
    groups = {"dropna": False, "observed": True, "sort": False}
    measured = df[df["latency_ms"].notna()]
    q = measured.groupby("api_name", **groups)["latency_ms"].quantile(list(PERCENTILES))
    latency = [[api, row.tolist()] for api, row in q.unstack().iterrows()]
    success = df.groupby("api_name", **groups)["is_success"].agg(["size", "mean"])
    failed = df[df["is_success"] == False]  # noqa: E712  (a nullable column: keep nulls out)
    by_region = failed.groupby("region", **groups).size()
    by_reason = failed.groupby(["api_name", "error_reason"], **groups).size()
    return {
        "latency_percentiles_by_api": _rows(latency),
        "success_rate_by_api": _rows(
            [api, int(r["size"]), float(r["mean"])] for api, r in success.iterrows()
        ),
        "failures_by_region": _rows([region, int(n)] for region, n in by_region.items()),
        "error_reasons_by_api": _rows([a, r, int(n)] for (a, r), n in by_reason.items()),
    }


def metrics_pandas(db: Path) -> dict:
    """Read the facts' columns into pandas (the load), then compute the metrics there."""
    import duckdb
    import pandas  # noqa: F401  (imported before the clock starts: the load is not the import)

    con = duckdb.connect(str(db), read_only=True)

    apply_settings(con, db)
    t0 = time.perf_counter()
    df = con.execute(f"select {', '.join(PANDAS_COLUMNS)} from {FACTS}").df()
    con.close()
    t1 = time.perf_counter()
    results = pandas_metrics(df)
    t2 = time.perf_counter()
    return {"engine": "pandas", "rows": len(df), "load_s": t1 - t0, "compute_s": t2 - t1,
            "results": results}  # fmt: skip


def _close(a, b, rel: float) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)
    return a == b


def same_results(a: dict, b: dict, rel: float = 1e-9) -> list[str]:
    """The metrics on which two engines disagree (integers exactly, doubles to `rel`)."""
    return [name for name in METRICS if not _close(a.get(name), b.get(name), rel)]


def direct(db: Path, schema: str = "bench_direct") -> dict:
    """The four metrics' SQL as tables, straight through DuckDB: what dbt adds is the rest."""
    import duckdb

    con = duckdb.connect(str(db))

    apply_settings(con, db)
    t0 = time.perf_counter()
    con.execute(f"create schema if not exists {schema}")
    for name, sql in METRICS.items():
        con.execute(f"create or replace table {schema}.{name} as {sql}")
    seconds = time.perf_counter() - t0
    con.close()
    return {"sql_s": seconds}


def dbt_project(folder: Path, db: Path, schema: str = "bench_dbt") -> Path:
    """A throwaway dbt project whose four models are METRICS' SQL, verbatim, as tables."""
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "dbt_project.yml").write_text(
        "name: bench_overhead\nversion: '1.0'\nconfig-version: 2\nprofile: bench_overhead\n"
        f"models:\n  bench_overhead:\n    +materialized: table\n    +schema: {schema}\n",
        encoding="utf-8",
    )
    (folder / "profiles.yml").write_text(
        "bench_overhead:\n  target: bench\n  outputs:\n    bench:\n      type: duckdb\n"
        f"      path: {json.dumps(str(db))}\n      threads: 2\n"
        "      settings:\n        TimeZone: UTC\n",
        encoding="utf-8",
    )
    for name, sql in METRICS.items():
        (folder / "models" / f"{name}.sql").write_text(sql.strip() + "\n", encoding="utf-8")
    return folder


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("anchor")
    a.add_argument("--rows", type=int, required=True)
    a.add_argument("--db", type=Path, required=True)
    m = sub.add_parser("metrics")
    m.add_argument("--engine", choices=("duckdb", "pandas"), required=True)
    m.add_argument("--db", type=Path, required=True)
    d = sub.add_parser("direct")
    d.add_argument("--db", type=Path, required=True)
    lo = sub.add_parser("landing")
    lo.add_argument("--db", type=Path, required=True)
    lo.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if args.command == "anchor":
        out = anchor(args.rows, args.db)
    elif args.command == "metrics":
        out = (metrics_duckdb if args.engine == "duckdb" else metrics_pandas)(args.db)
    elif args.command == "landing":
        out = landing(args.db, args.out)
    else:
        out = direct(args.db)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
