"""Where one model spends its time: its SQL run once under DuckDB's profiler.

    python -m api_trust.profile MODEL [--top N]      (make profile MODEL=int_api_calls_validated)

Compiles MODEL as a full refresh (`dbt compile --full-refresh`), runs it as
`create table` into a scratch table of the built warehouse (so writing the
table is measured, as in a build), with DuckDB's JSON profiler on, then drops
the table. Prints the wall time, the rows, DuckDB's CPU time and the N
operators that took longest (their own time, depth in the plan, rows out and
what they compute). The full profile stays in target/profile/MODEL.json
($DBT_TARGET_PATH/profile/ when that is set).

The model's inputs must already be built (`make build`); the model itself is
not changed. A DuckDB operator's time is its own; the `CREATE_TABLE_AS` line
is the sink, which also waits for the pipelines that feed it.
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

from api_trust.contract import PROJECT_ROOT, db_path, dbt_target_dir
from api_trust.warehouse import WarehouseError, connect, run_cli

SCRATCH = "main._api_trust_profile"


def compiled_sql(model: str) -> str:
    """The model's SQL as a full refresh would run it, from dbt compile."""
    dbt = Path(sys.executable).with_name("dbt")
    # the build's parse, so that the compile reads it instead of parsing the project
    # whole (7.2 -> 5.3 s on a 120k warehouse); dbt parses again if the project changed
    built, seeded = (
        profile_dir().parent / "partial_parse.msgpack",
        profile_dir() / "partial_parse.msgpack",
    )
    if built.exists() and (not seeded.exists() or seeded.stat().st_mtime < built.stat().st_mtime):
        profile_dir().mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, seeded)
    proc = subprocess.run(
        [str(dbt), "compile", "--quiet", "--full-refresh", "--output", "json", "--select", model],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env=os.environ
        | {
            "API_TRUST_DB": str(db_path()),
            "DBT_PROFILES_DIR": str(PROJECT_ROOT),
            "DBT_TARGET_PATH": str(profile_dir()),
        },
    )
    start = proc.stdout.find("{")
    if proc.returncode != 0 or start < 0:
        detail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
        raise WarehouseError(
            f"no model {model!r} compiled (a model's name, as in models/; "
            f"`dbt compile --select {model}` shows why){': ' + detail if detail else ''}"
        )
    return json.loads(proc.stdout[start:])["compiled"]


def profile_dir() -> Path:
    """`profile/` in dbt's target folder (contract.dbt_target_dir)."""
    return dbt_target_dir() / "profile"


def operators(plan: dict) -> list[tuple[float, int, str, int | None, str]]:
    """(own seconds, depth, name, rows out, what it computes) for every operator of the plan."""
    out: list[tuple[float, int, str, int | None, str]] = []

    def walk(node: dict, depth: int) -> None:
        extra = node.get("extra_info") or {}
        what = " ".join(
            f"{k}: {v if isinstance(v, str) else ', '.join(map(str, v))}"
            for k, v in extra.items()
            if k in ("Table", "Projections", "Groups", "Aggregates", "Conditions", "CTE Name")
        )
        name = node.get("operator_name") or node.get("operator_type") or "?"
        out.append(
            (
                node.get("operator_timing", 0.0),
                depth,
                name.strip(),
                node.get("operator_cardinality"),
                what,
            )
        )
        for child in node.get("children", []):
            walk(child, depth + 1)

    for child in plan.get("children", []):
        walk(child, 0)
    return out


def profile(model: str, top: int) -> None:
    sql = compiled_sql(model)
    out = profile_dir() / f"{model}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    con = connect(db_path())
    try:
        con.execute(f"drop table if exists {SCRATCH}")
        con.execute("pragma enable_profiling = 'json'")
        con.execute(f"pragma profiling_output = '{out}'")
        print(f"profile: running {model} into {SCRATCH} ...", flush=True)
        started = time.perf_counter()
        con.execute(f"create table {SCRATCH} as {sql}")
        wall = time.perf_counter() - started
        con.execute("pragma disable_profiling")
        rows = con.execute(f"select count(*) from {SCRATCH}").fetchone()[0]
    finally:
        con.execute(f"drop table if exists {SCRATCH}")
        con.close()
    plan = json.loads(out.read_text(encoding="utf-8"))
    print(
        f"profile: {model}: {wall:.1f} s wall, {rows:,} rows, DuckDB CPU {plan.get('cpu_time', 0):.1f} s"
    )
    print(f"profile: the {top} slowest operators (own seconds, depth, rows out):")
    for seconds, depth, name, card, what in sorted(operators(plan), key=lambda o: -o[0])[:top]:
        rows_out = f"{card:,}" if isinstance(card, int) else "-"
        print(f"  {seconds:8.2f}  d{depth:<3} {name:<18} {rows_out:>12}  {what[:110]}")
    print(f"profile: full plan with timings in {out}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m api_trust.profile", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("model", nargs="?", help="a model name, e.g. int_api_calls_validated")
    p.add_argument("--top", type=int, default=15, help="operators to list (default 15)")
    args = p.parse_args(argv)
    if not args.model:
        p.error("name a model: make profile MODEL=int_api_calls_validated")
    run_cli(lambda: profile(args.model, args.top))


if __name__ == "__main__":
    main()
