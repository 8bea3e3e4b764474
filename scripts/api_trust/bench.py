"""Throughput benchmark: generator rows/s, dbt build time and peak memory, per size.

    python -m api_trust.bench                 # 120k and 1M rows
    BENCH_ROWS="120000 10000000" python -m api_trust.bench

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


def main() -> None:
    sizes = [int(x) for x in os.environ.get("BENCH_ROWS", "120000 1000000").split()]
    results = []
    for rows in sizes:
        print(f"bench: {rows:,} rows ...", file=sys.stderr, flush=True)
        results.append(bench(rows))
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
    print(f"bench: results appended to {out}")


if __name__ == "__main__":
    main()
