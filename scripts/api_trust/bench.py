"""`make bench`: every stage of the pipeline per size, beside its references; writes BENCHMARKS.md.

    python -m api_trust.bench                          # 120k and 1M rows
    BENCH_ROWS="120000 1000000 10000000" python -m api_trust.bench
    BENCH_ROWS=100000000 python -m api_trust.bench     # 100M
    BENCH_LOAD_LINES=1000000 (default): the size of the three log files each size loads (OTLP: spans)
    BENCH_NOTE="...": a sentence about this run, printed in BENCHMARKS.md
    BENCH_OUT=benchmarks/100M.md: the file this run writes instead of BENCHMARKS.md
    BENCH_SKIP="landing options,one new day": stages (names as in STAGES) left out of
                                                       # this run; BENCHMARKS.md lists them
    BENCH_TRADEOFFS=1: the full build again without each of its costliest parts (the
                       personal-data scans, the data tests, client_id in the root-cause
                       cube, fct_verifications): what dropping one would buy
    python -m api_trust.bench --render                 # BENCHMARKS.md again from the last
                                                       # finished run in results.jsonl

Each size gets its own warehouse under .bench/ (never data/api_trust.duckdb)
and runs, in order, the STAGES below, each as its own process, measured by
api_trust.bench_measure (wall and CPU seconds, peak memory, spill). The
references of bench_refs run on the same machine in the same run: the anchor
writer beside generate+land, the four original metrics in DuckDB and pandas
and through dbt on the warehouse the build just made. Every measurement is
one JSON record appended to .bench/results.jsonl as soon as it is taken;
BENCHMARKS.md is rendered from this run's records (api_trust.bench_report),
so a new stage is one more entry in STAGES and one more row in the file.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from api_trust.bench_measure import (
    Measured,
    StepFailed,
    folder_mib,
    load_average,
    machine,
    run_measured,
)
from api_trust.bench_refs import METRICS, dbt_project, same_results
from api_trust.bench_report import render
from api_trust.contract import PROJECT_ROOT, project_vars
from api_trust.landing import landing_dir, sql_literal, tables_dir
from api_trust.warehouse import duckdb_settings

DEFAULT_ROWS = "120000 1000000"
DEFAULT_LOAD_LINES = 1_000_000
# What every size generates: the demo's dirt, batches and drift, so the build does real work.
GENERATOR_ARGS = ("--dirty-rate", "0.03", "--batches", "3", "--drift")
BIN = Path(sys.executable).parent


def bench_dir() -> Path:
    return Path(os.environ.get("BENCH_DIR", PROJECT_ROOT / ".bench"))


def bench_out() -> Path:
    return Path(os.environ.get("BENCH_OUT", PROJECT_ROOT / "BENCHMARKS.md"))


@dataclass
class Size:
    """One size's warehouse, folders and environment, and what its stages measured."""

    rows: int
    work: Path
    run_id: str
    load_files: dict[str, Path]
    records: list[dict] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.work / "bench.duckdb"

    @property
    def env(self) -> dict[str, str]:
        return dict(
            os.environ,
            API_TRUST_DB=str(self.db),
            DBT_PROFILES_DIR=str(PROJECT_ROOT),
            DBT_TARGET_PATH=str(self.work / "target"),
            DBT_LOG_PATH=str(self.work / "logs"),
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
            API_TRUST_DATA_DIR=str(self.work / "exports"),
            API_TRUST_DASHBOARDS_DIR=str(self.work / "dashboards"),
        )

    def spill(self) -> list[Path]:
        """Where DuckDB spills: profiles.yml's temp_directory if it names one, else
        DuckDB's default beside the warehouse."""
        return [Path(duckdb_settings(self.db).get("temp_directory", f"{self.db}.tmp"))]

    def measure(self, cmd: list[str], env: dict[str, str] | None = None) -> Measured:
        return run_measured(cmd, env or self.env, PROJECT_ROOT, self.spill())

    def scalar(self, sql: str):
        import duckdb

        con = duckdb.connect(str(self.db), read_only=True)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()

    def record(self, kind: str, name: str, rows: int, m: Measured, **extra) -> dict:
        r = {
            "run": self.run_id, "kind": kind, "size": self.rows, "stage": name, "rows": rows,
            "seconds": round(m.seconds, 3), "rows_per_s": round(rows / m.seconds) if m.seconds else None,
            "cpu_s": round(m.cpu_seconds, 2), "peak_rss_mib": round(m.peak_rss_mib),
            "tree_peak_mib": round(m.tree_peak_mib), "spill_peak_mib": round(m.spill_peak_mib, 1),
            "warehouse_mib": round(warehouse_mib(self.db), 1) if self.db.exists() else 0.0,
            "load_during": [round(min(m.load_during), 2), round(max(m.load_during), 2)]
            if m.load_during else None,
            "other_cores": None if m.other_cores is None else round(m.other_cores, 2),
            "at": time.strftime("%Y-%m-%d %H:%M:%S"), **extra,
        }  # fmt: skip
        self.records.append(r)
        return r

    def skipped(self, name: str, why: str) -> None:
        self.records.append({"run": self.run_id, "kind": "skipped", "size": self.rows,
                             "stage": name, "why": why, "at": time.strftime("%Y-%m-%d %H:%M:%S")})  # fmt: skip


def warehouse_mib(db: Path) -> float:
    """The warehouse file, its landed records' folder and its models stored as files
    (api_trust.landing)."""
    return folder_mib(db) + folder_mib(landing_dir(db)) + folder_mib(tables_dir(db))


def generator(*extra: str, rows: int) -> list[str]:
    return [sys.executable, "-m", "api_trust.generate", "--rows", str(rows), *GENERATOR_ARGS,
            *extra]  # fmt: skip


def dbt_timings(target: Path, top: int = 12) -> dict:
    """dbt's own view of a command: its elapsed time and the slowest nodes (run_results.json)."""
    path = target / "run_results.json"
    if not path.exists():
        return {}
    results = json.loads(path.read_text(encoding="utf-8"))
    nodes = sorted(
        ((r["unique_id"], round(r.get("execution_time") or 0.0, 3)) for r in results["results"]),
        key=lambda x: -x[1],
    )
    return {
        "dbt_elapsed_s": round(results.get("elapsed_time") or 0.0, 3),
        "dbt_nodes": len(nodes),
        "dbt_node_s": round(sum(s for _, s in nodes), 3),
        "slowest_nodes": nodes[:top],
    }


# ---------------------------------------------------------------------------------------
# stages, in the order they run; each returns nothing and adds its records to the Size


def anchor_writer(s: Size) -> None:
    db = s.work / "anchor.duckdb"
    cmd = [sys.executable, "-m", "api_trust.bench_refs", "anchor", "--rows", str(s.rows),
           "--db", str(db)]  # fmt: skip
    m = s.measure(cmd)
    inner = json.loads(m.stdout)
    s.record("reference", "anchor writer", inner["rows"], m, inner_s=round(inner["seconds"], 3),
             anchor_mib=round(folder_mib(db), 1))  # fmt: skip
    for path in (db, Path(f"{db}.wal")):
        path.unlink(missing_ok=True)


def generate_land(s: Size) -> None:
    for stale in (s.db, Path(f"{s.db}.wal")):
        stale.unlink(missing_ok=True)
    # the last run's models stored as files: its next build would replace them, but until
    # then they would count as this warehouse's disk
    shutil.rmtree(tables_dir(s.db), ignore_errors=True)
    m = s.measure(generator(rows=s.rows))
    s.record("stage", "generate+land", s.rows, m,
             raw_rows=s.scalar("select count(*) from raw.api_calls"))  # fmt: skip


def landing_options(s: Size) -> None:
    """The generated records, as delivered, written in each candidate landing format."""
    cmd = [sys.executable, "-m", "api_trust.bench_refs", "landing", "--db", str(s.db),
           "--out", str(s.work / "landing_options")]  # fmt: skip
    m = s.measure(cmd)
    inner = json.loads(m.stdout)
    s.record("reference", "landing options", inner["rows"], m,
             side_values=inner["side_values"], options=inner["options"])  # fmt: skip


def dbt_build(s: Size, name: str, rows: int) -> None:
    # as `make build` runs it: unit tests check SQL on fixtures and run once, in make dbt-test
    m = s.measure([str(BIN / "dbt"), "build", "--quiet", "--exclude-resource-type", "unit_test"])
    s.record("stage", name, rows, m, **dbt_timings(s.work / "target"),
             fact_rows=s.scalar("select count(*) from main.fct_api_calls"))  # fmt: skip
    # each build's per-node results kept apart (the next build overwrites run_results.json):
    # when each node started and ended, to find what a build waits on
    results = s.work / "target" / "run_results.json"
    if results.exists():
        shutil.copyfile(results, s.work / "target" / f"run_results_{name.replace(' ', '_')}.json")


def dbt_build_full(s: Size) -> None:
    dbt_build(s, "dbt build full", s.scalar("select count(*) from raw.api_calls"))


def tradeoffs() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """What the full build's costliest parts cost: each is one `dbt build --full-refresh`
    argument set that leaves that part out. The numbers behind a decision to drop one of
    them, never a default; "as built" is the same command with nothing left out."""
    dims = project_vars()["analysis_dimensions"]
    without_client = json.dumps({"analysis_dimensions": {
        "core": [d for d in dims["core"] if d != "client_id"], "extra": dims["extra"]}})  # fmt: skip
    scans = ("int_landed_batches_scanned_for_pii", "int_fact_batches_scanned_for_pii")
    return (
        ("as built", ()),
        ("without the two personal-data scans", ("--exclude", *scans)),
        ("without data tests", ("--resource-type", "model", "seed", "snapshot")),
        ("without client_id in the root-cause cube", ("--vars", without_client)),
        ("without fct_verifications and what reads it", ("--exclude", "fct_verifications+")),
        ("without all four", ("--resource-type", "model", "seed", "snapshot", "--exclude",
                              *scans, "fct_verifications+", "--vars", without_client)),
    )  # fmt: skip


def trade_offs(s: Size) -> None:
    """BENCH_TRADEOFFS=1: the full build again, once as built and once without each of
    its costliest parts (tradeoffs), each from scratch (--full-refresh). The last is a
    plain build, so that the stages after this one read the warehouse as built."""
    if os.environ.get("BENCH_TRADEOFFS", "") != "1":
        s.skipped("trade-offs", "opt-in, BENCH_TRADEOFFS=1 (seven more full builds)")
        return
    raw = s.scalar("select count(*) from raw.api_calls")
    base = [str(BIN / "dbt"), "build", "--quiet", "--exclude-resource-type", "unit_test",
            "--full-refresh"]  # fmt: skip
    for name, args in tradeoffs():
        m = s.measure([*base, *args])
        s.record("tradeoff", name, raw, m, **dbt_timings(s.work / "target"))
    m = s.measure(base)
    s.record("tradeoff", "as built, again (restores the warehouse)", raw, m,
             **dbt_timings(s.work / "target"))  # fmt: skip


# pandas' peak memory per fact row for the four metrics: 2,455 MiB at 10M rows in the
# BENCHMARKS.md run of 2026-12-03 (257 bytes), rounded up.
PANDAS_BYTES_PER_ROW = 300


def pandas_fits(rows: int) -> bool:
    """Whether pandas can hold the metrics' columns in at most half of this machine's RAM
    (at 100M rows it would need about 28 GiB and the kernel would kill it, or worse)."""
    ram_gib = machine().get("ram_gib") or 0
    return rows * PANDAS_BYTES_PER_ROW <= ram_gib * 2**30 / 2


def four_metrics(s: Size) -> None:
    """The four metrics in DuckDB and in pandas on the facts; the numbers must agree."""
    out = {}
    facts = s.scalar("select count(*) from main.fct_api_calls")
    if not pandas_fits(facts):
        s.skipped("four metrics, pandas",
                  f"pandas would need about {facts * PANDAS_BYTES_PER_ROW / 2**30:.0f} GiB for "
                  f"{facts:,} rows, more than half of this machine's RAM")  # fmt: skip
    for engine in ("duckdb", "pandas") if pandas_fits(facts) else ("duckdb",):
        cmd = [sys.executable, "-m", "api_trust.bench_refs", "metrics", "--engine", engine,
               "--db", str(s.db)]  # fmt: skip
        m = s.measure(cmd)
        out[engine] = inner = json.loads(m.stdout)
        s.record("reference", f"four metrics, {engine}", inner["rows"], m,
                 load_s=round(inner["load_s"], 3), compute_s=round(inner["compute_s"], 3))  # fmt: skip
    if "pandas" in out:
        s.records[-1]["disagree"] = same_results(out["duckdb"]["results"], out["pandas"]["results"])


def dbt_overhead(s: Size) -> None:
    """The four metrics' SQL as dbt models (first run parses, second reuses the parse),
    against the same statements run straight through DuckDB."""
    folder = s.work / "dbt_overhead"
    shutil.rmtree(folder, ignore_errors=True)
    dbt_project(folder, s.db)
    env = dict(s.env, DBT_PROFILES_DIR=str(folder), DBT_TARGET_PATH=str(folder / "target"),
               DBT_LOG_PATH=str(folder / "logs"))  # fmt: skip
    cmd = [str(BIN / "dbt"), "run", "--quiet", "--project-dir", str(folder)]
    for name in ("dbt run, 4 metric models (parse)", "dbt run, 4 metric models (parsed)"):
        m = s.measure(cmd, env)
        s.record("reference", name, s.rows, m, **dbt_timings(folder / "target", top=len(METRICS)))
    m = s.measure([sys.executable, "-m", "api_trust.bench_refs", "direct", "--db", str(s.db)])
    s.record("reference", "same SQL direct", s.rows, m,
             sql_s=round(json.loads(m.stdout)["sql_s"], 3))  # fmt: skip


def append_day(s: Size) -> None:
    before = s.scalar("select count(*) from raw.api_calls")
    m = s.measure(generator("--append-day", rows=s.rows))
    day = s.scalar("select count(*) from raw.api_calls") - before
    s.record("stage", "generate+land one new day", day, m)
    dbt_build(s, "dbt build after one new day", day)


def dashboards(s: Size) -> None:
    m = s.measure([sys.executable, "-m", "api_trust.dashboards"])
    folder = s.work / "dashboards"
    s.record("stage", "dashboards", s.scalar("select count(*) from main.fct_api_calls"), m,
             pngs=len(list(folder.glob("*.png"))), dashboards_mib=round(folder_mib(folder), 1))  # fmt: skip


def report(s: Size) -> None:
    m = s.measure([sys.executable, "-m", "api_trust.report"])
    s.record("stage", "report", s.scalar("select count(*) from main.fct_api_calls"), m)


def export(s: Size) -> None:
    m = s.measure([sys.executable, "-m", "api_trust.export"])
    s.record("stage", "export", s.scalar("select count(*) from main.fct_api_calls"), m,
             exports_mib=round(folder_mib(s.work / "exports"), 1))  # fmt: skip


def load_files(s: Size) -> None:
    """Own log files landed onto this size's warehouse (last: nothing after reads them).
    Rows: the batch's records as raw.load_batches counts them (a line each, but a span each
    in OTLP)."""
    for shape, path in s.load_files.items():
        m = s.measure([sys.executable, "-m", "api_trust.ingest", str(path)])
        rows = s.scalar("select record_count from raw.load_batches "
                        f"where source_name = {sql_literal(path.name)}")  # fmt: skip
        s.record("stage", f"load a file ({shape})", rows, m, file_mib=round(folder_mib(path), 1))


STAGES: tuple[tuple[str, Callable[[Size], None]], ...] = (
    ("anchor writer", anchor_writer),
    ("generate+land", generate_land),
    ("landing options", landing_options),
    ("dbt build full", dbt_build_full),
    ("trade-offs", trade_offs),
    ("four metrics", four_metrics),
    ("dbt overhead", dbt_overhead),
    ("one new day", append_day),
    ("dashboards", dashboards),
    ("report", report),
    ("export", export),
    ("load a file", load_files),
)


# ---------------------------------------------------------------------------------------


# Spans per line of the OTLP file: one export request of the Collector's file exporter each
OTLP_SPANS_PER_REQUEST = 512


def write_log_files(folder: Path, lines: int) -> dict[str, Path]:
    """An nginx access log (with timings), flat OTel JSON lines and OTLP/JSON export requests
    (`lines` spans, half of them SERVER spans), written by DuckDB."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"access_log": folder / f"access_{lines}.log", "jsonl": folder / f"spans_{lines}.jsonl",
             "otlp_json": folder / f"otlp_{lines}.json"}  # fmt: skip
    con = duckdb.connect()
    con.execute(f"""
        copy (select printf('10.%d.%d.%d - - [01/Nov/2026:%02d:%02d:%02d +0530] "POST %s HTTP/1.1" %d 512 "-" "okhttp/4.9.0" 0.%03d 0.%03d',
                            i % 250, (i // 250) % 250, i % 7, (i // 3600) % 24, (i // 60) % 60, i % 60,
                            ['/v1/pan/verify', '/v1/aadhaar/otp', '/v2/face/match', '/health',
                             '/v1/bank/verify/' || (i % 5000)][1 + i % 5],
                            [200, 200, 200, 200, 404, 500, 429][1 + i % 7], 100 + i % 900, 100 + i % 800)
              from range({lines}) t(i))
        to '{paths["access_log"]}' (format csv, header false, quote '', delimiter '\x01')
    """)  # fmt: skip
    con.execute(f"""
        copy (select md5(cast(i as varchar)) as trace_id, 's' || i as span_id,
                     '2026-11-01T10:00:00Z' as "timestamp", 0.5 + i % 900 as duration_ms,
                     ['/v1/pan/verify', '/v2/face/match'][1 + i % 2] as "http.route",
                     'POST' as "http.request.method",
                     [200, 200, 200, 500][1 + i % 4] as "http.response.status_code",
                     'kyc' as "service.name", '1.' || (i % 5) as sdk_version
              from range({lines}) t(i))
        to '{paths["jsonl"]}' (format json)
    """)  # fmt: skip
    attribute = """'{"key":"%s","value":{"%s":"%s"}}'"""
    con.execute(f"""
        copy (
            with spans as (
                select i, i // {OTLP_SPANS_PER_REQUEST} as request,
                       printf('{{"traceId":"%s","spanId":"%s","name":"POST %s","kind":%d,'
                              || '"startTimeUnixNano":"%d","endTimeUnixNano":"%d",'
                              || '"attributes":[%s,%s,%s,%s],"status":{{"code":%d}}}}',
                              md5(cast(i // 2 as varchar)), left(md5(cast(i as varchar)), 16),
                              route, 2 + i % 2, start_ns, start_ns + (1 + i % 900) * 1000000,
                              printf({attribute}, 'http.route', 'stringValue', route),
                              printf({attribute}, 'http.request.method', 'stringValue', 'POST'),
                              printf({attribute}, 'http.response.status_code', 'intValue', cast(code as varchar)),
                              printf({attribute}, 'tenant.id', 'stringValue', 't-' || (i % 97)),
                              case when code >= 500 then 2 else 0 end) as span
                from (select i, ['/v1/pan/verify', '/v2/face/match', '/v1/bank/verify'][1 + i % 3] as route,
                             [200, 200, 200, 500][1 + i % 4] as code,
                             1793500000000000000 + i * 100000000 as start_ns
                      from range({lines}) t(i))
            )
            select printf('{{"resourceSpans":[{{"resource":{{"attributes":[%s,%s]}},'
                          || '"scopeSpans":[{{"scope":{{"name":"bench"}},"spans":[%s]}}]}}]}}',
                          printf({attribute}, 'service.name', 'stringValue', 'kyc-gateway'),
                          printf({attribute}, 'service.version', 'stringValue', '2.4.' || (request % 3)),
                          string_agg(span, ',' order by i)) as line
            from spans group by request order by request
        ) to '{paths["otlp_json"]}' (format csv, header false, quote '', delimiter '\x01')
    """)  # fmt: skip
    con.close()
    return paths


def bench_size(rows: int, run_id: str, files: dict[str, Path], log: Callable[[dict], None]) -> Size:
    """Every stage at one size; a failing stage is recorded and ends this size's run."""
    work = bench_dir() / f"rows_{rows}"
    for stale in ("dashboards", "exports", "target"):
        shutil.rmtree(work / stale, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    s = Size(rows=rows, work=work, run_id=run_id, load_files=files)
    for name, stage in STAGES:
        done = len(s.records)
        try:
            if name in skipped_stages():
                s.skipped(name, "left out of this run by BENCH_SKIP")
            else:
                stage(s)
        except StepFailed as err:
            s.records.append({"run": run_id, "kind": "failed", "size": rows, "stage": name,
                              "error": str(err)[:2000], "at": time.strftime("%Y-%m-%d %H:%M:%S")})  # fmt: skip
        for r in s.records[done:]:
            log(r)
        if s.records and s.records[-1]["kind"] == "failed":
            break
    s.records.append({"run": run_id, "kind": "disk", "size": rows,
                      "warehouse_mib": round(warehouse_mib(s.db), 1),
                      "wal_mib": round(folder_mib(Path(f"{s.db}.wal")), 1),
                      "bench_folder_mib": round(folder_mib(work), 1)})  # fmt: skip
    log(s.records[-1])
    return s


def skipped_stages() -> set[str]:
    """The stages BENCH_SKIP names; a name that is no stage is an error, not a silent no-op."""
    names = {x.strip() for x in os.environ.get("BENCH_SKIP", "").split(",") if x.strip()}
    unknown = names - {name for name, _ in STAGES}
    if unknown:
        known = ", ".join(name for name, _ in STAGES)
        sys.exit(f"bench: BENCH_SKIP names no stage {sorted(unknown)}; the stages are: {known}")
    return names


def progress(r: dict) -> None:
    if r["kind"] in ("stage", "reference", "tradeoff"):
        print(f"bench: {r['size']:>11,} rows  {r['stage']:<36} {r['seconds']:>8.1f} s  "
              f"{r['rows_per_s'] or 0:>11,} rows/s  peak {r['peak_rss_mib']:>6,} MiB "
              f"(tree {r['tree_peak_mib']:,})", file=sys.stderr, flush=True)  # fmt: skip
    elif r["kind"] == "failed":
        print(f"bench: {r['size']:,} rows: {r['stage']} FAILED\n{r['error']}", file=sys.stderr)
    elif r["kind"] == "skipped":
        print(f"bench: {r['size']:,} rows: {r['stage']} not run: {r['why']}", file=sys.stderr)


def render_last_run(results: Path) -> str:
    """BENCHMARKS.md from the last finished run in results.jsonl (a run record ends a run)."""
    records = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    finished = [r["run"] for r in records if r["kind"] == "run"]
    if not finished:
        raise SystemExit(f"bench: no finished run in {results}")
    return render([r for r in records if r["run"] == finished[-1]])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--render"]:
        bench_out().write_text(render_last_run(bench_dir() / "results.jsonl"), encoding="utf-8")
        print(f"bench: wrote {bench_out()} from the last run in {bench_dir() / 'results.jsonl'}")
        return
    sizes = [int(x) for x in os.environ.get("BENCH_ROWS", DEFAULT_ROWS).split()]
    lines = int(os.environ.get("BENCH_LOAD_LINES", DEFAULT_LOAD_LINES))
    run_id = f"{time.strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:6]}"
    out_dir = bench_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    results = out_dir / "results.jsonl"
    run = {"run": run_id, "kind": "run", "sizes": sizes, "load_lines": lines,
           "generator_args": list(GENERATOR_ARGS), "machine": machine(),
           "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_start": load_average(),
           "note": os.environ.get("BENCH_NOTE", "")}  # fmt: skip
    records: list[dict] = [run]

    def log(r: dict) -> None:
        progress(r)
        with results.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(r) + "\n")

    skipped_stages()  # a misspelt stage stops the run before it starts
    t0 = time.perf_counter()
    print(f"bench: run {run_id}, sizes {sizes}, load average {run['load_start']}", file=sys.stderr)
    files = write_log_files(out_dir / "load_files", lines)
    for rows in sizes:
        records += bench_size(rows, run_id, files, log).records
        run.update(load_end=load_average(), seconds=round(time.perf_counter() - t0, 1))
        bench_out().write_text(render(records), encoding="utf-8")  # a partial run still shows
    log(run)
    print(f"bench: wrote {bench_out()}; records appended to {results}")
    if any(r["kind"] == "failed" for r in records):
        sys.exit(1)


if __name__ == "__main__":
    main()
