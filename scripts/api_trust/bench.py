"""Throughput benchmark: generator rows/s, dbt build time and peak memory, per size.

    python -m api_trust.bench                 # 120k and 1M rows
    BENCH_ROWS="120000 10000000" python -m api_trust.bench
    BENCH_LOAD_LINES=1000000 (default): also load a 1M-line access log and 1M JSON lines

Each size gets its own warehouse under .bench/ (never data/api_trust.duckdb).
Peak memory is the largest resident set of any child process (getrusage),
measured per step by running each step as its own process. Results are
printed as a table and appended to .bench/results.jsonl.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from api_trust.contract import PROJECT_ROOT


def _run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MiB of that command)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c",
         "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
         "sys.exit(r.returncode)", *cmd],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(
            f"bench: {' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    peak_kib = int(proc.stderr.strip().splitlines()[-1])
    return seconds, peak_kib / 1024


def bench(rows: int, dirty_rate: float = 0.03) -> dict:
    work = PROJECT_ROOT / ".bench" / f"rows_{rows}"
    work.mkdir(parents=True, exist_ok=True)
    db = work / "bench.duckdb"
    for stale in (db, Path(f"{db}.wal")):
        stale.unlink(missing_ok=True)
    env = dict(os.environ, API_TRUST_DB=str(db), DBT_PROFILES_DIR=str(PROJECT_ROOT),
               DBT_TARGET_PATH=str(work / "target"), DBT_LOG_PATH=str(work / "logs"))  # fmt: skip
    bin_dir = Path(sys.executable).parent
    gen_s, gen_mb = _run_measured(
        [sys.executable, "-m", "api_trust.generate", "--rows", str(rows), "--dirty-rate",
         str(dirty_rate), "--batches", "3", "--drift"], env)  # fmt: skip
    build_s, build_mb = _run_measured([str(bin_dir / "dbt"), "build", "--quiet"], env)
    size_mb = db.stat().st_size / 2**20
    return {
        "rows": rows, "dirty_rate": dirty_rate, "generate_s": round(gen_s, 1),
        "generate_rows_per_s": round(rows / gen_s), "generate_peak_mib": round(gen_mb),
        "dbt_build_s": round(build_s, 1), "dbt_build_rows_per_s": round(rows / build_s),
        "dbt_build_peak_mib": round(build_mb), "warehouse_mib": round(size_mb),
        "cores": os.cpu_count(), "at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }  # fmt: skip


def write_log_files(folder: Path, lines: int) -> dict[str, Path]:
    """An nginx access log (with timings) and flat OTel JSON lines, written by DuckDB."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"access_log": folder / f"access_{lines}.log", "jsonl": folder / f"spans_{lines}.jsonl"}
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
    con.close()
    return paths


def bench_load(lines: int) -> list[dict]:
    """Load speed per shape: `python -m api_trust.ingest` of one file into an empty warehouse."""
    work = PROJECT_ROOT / ".bench" / f"load_{lines}"
    out = []
    for shape, path in write_log_files(work, lines).items():
        db = work / f"{shape}.duckdb"
        for stale in (db, Path(f"{db}.wal")):
            stale.unlink(missing_ok=True)
        env = dict(os.environ, API_TRUST_DB=str(db))
        seconds, peak = _run_measured([sys.executable, "-m", "api_trust.ingest", str(path)], env)
        out.append({"shape": shape, "lines": lines, "load_s": round(seconds, 1),
                    "lines_per_s": round(lines / seconds), "peak_mib": round(peak),
                    "at": time.strftime("%Y-%m-%d %H:%M:%S")})  # fmt: skip
    return out


def main() -> None:
    sizes = [int(x) for x in os.environ.get("BENCH_ROWS", "120000 1000000").split()]
    load_lines = int(os.environ.get("BENCH_LOAD_LINES", "1000000"))
    results = []
    for rows in sizes:
        print(f"bench: {rows:,} rows ...", file=sys.stderr, flush=True)
        results.append(bench(rows))
    loads = []
    if load_lines:
        print(f"bench: loading {load_lines:,}-line log files ...", file=sys.stderr, flush=True)
        loads = bench_load(load_lines)
    out = PROJECT_ROOT / ".bench" / "results.jsonl"
    with out.open("a", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(r) + "\n")
    header = f"{'rows':>12} {'gen s':>7} {'gen rows/s':>11} {'gen MiB':>8} {'build s':>8} {'build MiB':>9} {'db MiB':>7}"
    print(header)
    for r in results:
        print(f"{r['rows']:>12,} {r['generate_s']:>7} {r['generate_rows_per_s']:>11,} "
              f"{r['generate_peak_mib']:>8} {r['dbt_build_s']:>8} {r['dbt_build_peak_mib']:>9} "
              f"{r['warehouse_mib']:>7}")  # fmt: skip
    for r in loads:
        print(
            f"load {r['shape']:>10}: {r['lines']:,} lines in {r['load_s']} s = "
            f"{r['lines_per_s']:,} lines/s, peak {r['peak_mib']} MiB"
        )
        with out.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(r) + "\n")
    print(f"bench: results appended to {out}")


if __name__ == "__main__":
    main()
