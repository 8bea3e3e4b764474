"""BENCHMARKS.md from one run's records (the dicts bench.py appends to results.jsonl).

Rendering is a pure function of the records: every stage record is a row of
the stages table, so a stage added to bench.STAGES shows up without a change
here; the references and the disk table read the stage names they compare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

# The sizes issue 12 asks for by default; any not in a run is listed as not measured.
PLANNED_SIZES = (120_000, 1_000_000, 10_000_000)
# What "rows" counts for a stage (rows/s divides it by the stage's wall seconds).
ROWS_MEANING = {
    "generate+land": "calls generated",
    "dbt build full": "raw rows",
    "generate+land one new day": "calls of the new day",
    "dbt build after one new day": "raw rows of the new day",
    "dashboards": "fact rows",
    "report": "fact rows",
    "export": "fact rows",
}


# Other processes may use this much of a core, on average over a step, and the step still
# counts as measured on a quiet machine (the bench's own sampler and parent use a little).
QUIET_OTHER_CORES = 0.25


def quiet(run: dict, records: Iterable[dict]) -> tuple[bool, str]:
    """Were the numbers taken on a quiet machine? What other processes used during each
    step: the machine's busy CPU time minus the step's own process tree, per second of the
    step, at most QUIET_OTHER_CORES. (The load average cannot tell: it counts the bench's
    own threads, and the last minute of whatever ran before it.) Runs recorded before
    that measure fall back to the load average: below half the cores at start and no
    higher than the cores during every step."""
    records = list(records)
    cores = run["machine"]["usable_cores"]
    others = [r["other_cores"] for r in records if r.get("other_cores") is not None]
    if others:
        worst = max(others)
        return worst <= QUIET_OTHER_CORES, (
            f"other processes used up to {worst:.2g} of {cores} usable cores on average "
            f"during a step; the bench's own steps are not counted"
        )
    start = run["load_start"][0]
    peaks = [r["load_during"][1] for r in records if r.get("load_during")]
    during = max(peaks, default=start)
    ok = start <= cores / 2 and during <= cores
    return ok, (
        f"1-minute load average {start:g} at start and up to {during:g} during the steps, "
        f"on {cores} usable cores"
    )


def _s(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:,.2f}" if x < 10 else f"{x:,.1f}"


def _n(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f}"


def _mib(x: float | None) -> str:
    return "–" if x is None else (f"{x:.1f}" if x < 10 else f"{x:,.0f}")


def _ratio(a: float | None, b: float | None) -> str:
    if not (a and b):
        return "–"
    r = a / b
    return f"{r:.2g}x" if r < 10 else f"{r:,.0f}x"


def _table(
    header: list[str], rows: list[list[str]], right_from: int = 1, left: tuple[str, ...] = ()
) -> list[str]:
    """A markdown table: text columns (before right_from, or named in left) align left."""
    align = ["---" if i < right_from or h in left else "---:" for i, h in enumerate(header)]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _section(
    heading: str,
    intro: str,
    header: list[str],
    sizes: list[int],
    row: Callable[[int], list[str] | None],
) -> list[str]:
    """A heading, what its table measures, and the table: one row per size (None: no row)."""
    body = [r for r in map(row, sizes) if r is not None]
    return ["", heading, "", intro, "", *_table(header, body)]


def _notes(r: dict) -> str:
    notes = []
    if "dbt_elapsed_s" in r:
        start = r["seconds"] - r["dbt_elapsed_s"]
        notes.append(f"{r['dbt_nodes']} nodes, {_s(r['dbt_node_s'])} s in nodes; "
                     f"dbt start-up {_s(start)} s")  # fmt: skip
    if "pngs" in r:
        notes.append(f"{r['pngs']} PNGs")
    if "file_mib" in r:
        notes.append(f"{_mib(r['file_mib'])} MiB file")
    return "; ".join(notes)


def _tradeoffs(runs: list[dict]) -> list[str]:
    """The full build as built and without each of its costliest parts (BENCH_TRADEOFFS=1)."""
    if not runs:
        return []
    lines = [
        "",
        "### What the full build's costliest parts cost",
        "",
        "The full build again from scratch (`dbt build --full-refresh`), as built and without "
        "each of its costliest parts, one argument set each (`tradeoffs` in "
        "`scripts/api_trust/bench.py`): the two personal-data scans of every batch, the data "
        "tests, `client_id` as a root-cause dimension (the cube's largest), and "
        "`fct_verifications` with what reads it. Each drops a guarantee or an answer, so none "
        "is a default; this says what dropping one would buy. Saved: dbt's own elapsed time "
        "against the mean of the builds as built (the first and the last, which also leaves "
        "the warehouse as built for the stages after it).",
        "",
    ]
    body = []
    for size in dict.fromkeys(r["size"] for r in runs):
        mine = [r for r in runs if r["size"] == size]
        built = [r["dbt_elapsed_s"] for r in mine
                 if r["stage"].startswith("as built") and "dbt_elapsed_s" in r]  # fmt: skip
        mean = sum(built) / len(built) if built else None
        for r in mine:
            took = r.get("dbt_elapsed_s")
            saved = (
                "" if r["stage"].startswith("as built") or None in (took, mean) else _s(mean - took)
            )
            body.append([f"{size:,}", r["stage"], _s(r["seconds"]), _s(took), saved,
                         _s(r["cpu_s"]), _n(r["peak_rss_mib"])])  # fmt: skip
    header = ["rows", "full build", "wall s", "in dbt s", "saved in dbt s", "CPU s",
              "peak RSS MiB"]  # fmt: skip
    return lines + _table(header, body, right_from=2)


def _by(records: list[dict], kind: str) -> dict[tuple[int, str], dict]:
    return {(r["size"], r["stage"]): r for r in records if r["kind"] == kind}


def render(records: list[dict]) -> str:
    run = next(r for r in records if r["kind"] == "run")
    m = run["machine"]
    v = m["versions"]
    sizes = [s for s in run["sizes"] if any(r.get("size") == s for r in records)]
    stages = [r for r in records if r["kind"] == "stage"]
    refs = _by(records, "reference")
    by_stage = _by(records, "stage")
    ok, load_text = quiet(run, records)
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`scripts/api_trust/bench.py`); do not edit by hand.",
        'Sizes: `BENCH_ROWS="120000 1000000"` (the default), `BENCH_ROWS="120000 1000000 '
        '10000000"`, `BENCH_ROWS=100000000`. Every measurement of every run is also in '
        "`.bench/results.jsonl` (one JSON object a line, `run` names the run).",
        "",
        "## This run",
        "",
        f"- Run `{run['run']}`, started {run['started_at']}, {_s(run.get('seconds'))} s in all; "
        f"sizes {', '.join(f'{s:,}' for s in sizes)} rows; generator arguments "
        f"`{' '.join(run['generator_args'])}` (seed 42, 30 days).",
        f"- Machine: {m['cpu_model']}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"{m['ram_gib']} GiB RAM, {m['os']}.",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        *(
            [
                "- DuckDB settings: "
                + ", ".join(f"{k} {val}" for k, val in m["duckdb"].items())
                + "."
            ]
            if m.get("duckdb")
            else []
        ),
        f"- Load average (1, 5, 15 min): {run['load_start']} at start, "
        f"{run.get('load_end', '–')} at end.",
    ]
    if ok:
        lines.append(f"- Quiet machine: {load_text}.")
    else:
        lines.append(
            f"- **Not clean: the machine was shared** ({load_text}). Wall times are "
            "inflated by other processes; CPU seconds are less affected, and ratios "
            "between steps of this run hold better than absolute times."
        )
    missing = [s for s in PLANNED_SIZES if s not in sizes]
    if missing:
        lines.append(
            f"- Not measured in this run: {', '.join(f'{s:,}' for s in missing)} rows "
            f'(`BENCH_ROWS="{" ".join(str(s) for s in (*sizes, *missing))}" make bench`).'
        )
    if run.get("note"):
        lines.append(f"- Note: {run['note']}")

    lines += [
        "",
        "## Pipeline stages",
        "",
        "One process per stage, in this order per size. Wall and CPU seconds (CPU: user + "
        "system of the stage's whole process tree); peak RSS of the largest process "
        "(exact, from the kernel, read by a small launcher so that the bench's own peak "
        "is not counted); peak of the process tree (proportional set size summed "
        "over its processes, sampled every 0.2 s, never below the former); peak size of "
        "DuckDB's spill folder. Rows: "
        + "; ".join(f"{k}: {val}" for k, val in ROWS_MEANING.items())
        + "; a loaded file: its records (a line each; a span each in OTLP, whose lines are "
        "export requests of many spans).",
        "",
    ]
    header = ["rows", "stage", "rows in", "wall s", "rows/s", "CPU s", "peak RSS MiB",
              "tree peak MiB", "spill MiB", "notes"]  # fmt: skip
    body = [
        [f"{r['size']:,}", r["stage"], _n(r["rows"]), _s(r["seconds"]), _n(r["rows_per_s"]),
         _s(r["cpu_s"]), _n(r["peak_rss_mib"]), _n(r["tree_peak_mib"]),
         _mib(r["spill_peak_mib"]), _notes(r)]
        for r in stages
    ]  # fmt: skip
    lines += _table(header, body, right_from=2, left=("notes",))
    for r in records:
        if r["kind"] == "failed":
            first = r["error"].strip().splitlines()[0] if r["error"].strip() else "?"
            lines.append(f"\n**{r['size']:,} rows: stage `{r['stage']}` failed**: `{first}`")
        elif r["kind"] == "skipped":
            lines.append(f"\n{r['size']:,} rows: `{r['stage']}` not run: {r['why']}.")

    lines += ["", "## References (same run, same data)"]

    def anchor(s: int) -> list[str] | None:
        a, g = refs.get((s, "anchor writer")), by_stage.get((s, "generate+land"))
        if not a:
            return None
        return [f"{s:,}", _s(a["seconds"]), _n(a["rows_per_s"]), _n(a["peak_rss_mib"]),
                _s(g and g["seconds"]), _n(g and g["rows_per_s"]),
                _ratio(g and g["seconds"], a["seconds"])]  # fmt: skip

    lines += _section(
        "### Anchor writer",
        "numpy arrays -> pandas categoricals -> one DuckDB insert per 1M-row chunk: the "
        "columns of `raw.api_calls`, typed, uniform random values, in a file of the "
        "warehouse's storage format (`python -m api_trust.bench_refs anchor`). Against "
        "generate+land, which also simulates, dirties, masks and lands every value as text.",
        ["rows", "anchor s", "anchor rows/s", "anchor peak MiB", "generate+land s",
         "generate+land rows/s", "generate+land / anchor"],
        sizes, anchor,
    )  # fmt: skip

    landing_rows = []
    for size in sizes:
        lo = refs.get((size, "landing options"))
        for o in lo["options"] if lo else []:
            landing_rows.append([
                f"{size:,}", o["name"], _s(o["write_s"]), _n(round(lo["rows"] / o["write_s"])),
                _mib(o["mib"]), _s(o["scan_s"]),
                _n(lo["side_values"]) if "side table" in o["name"] else "",
            ])  # fmt: skip
    lines += [
        "", "### Landing options", "",
        "The records generate+land wrote (`raw.api_calls`, every value as delivered) "
        "written again, 1M-row chunk by chunk, in each candidate landing format; only the "
        "writing is timed (`python -m api_trust.bench_refs landing`). The generator itself "
        "lands typed Parquet with its planted values in side columns "
        "(`scripts/api_trust/landing.py`), so its cost is the generate+land stage; the "
        "file loaders land Parquet text. Typed: timestamp, "
        "latency_ms, status_code and attempt_no stored as types, and every value whose "
        "text does not come back from its type exactly (` 123`, `12ms`, a drifted batch's "
        "epoch timestamps) kept in a side table, so nothing is lost. Scan: one query that "
        "reads raw as staging does (ids, text lengths, parsed times and numbers).",
        "",
        *_table(["rows", "format", "write s", "rows/s", "MiB", "scan s", "side-table values"],
                landing_rows, right_from=2),
    ]  # fmt: skip

    def metrics(s: int) -> list[str] | None:
        d, p = refs.get((s, "four metrics, duckdb")), refs.get((s, "four metrics, pandas"))
        if not (d and p):
            return None
        total_p = p["load_s"] + p["compute_s"]
        agree = "yes" if not p.get("disagree") else "no: " + ", ".join(p["disagree"])
        return [f"{s:,}", _s(d["compute_s"]), _n(d["peak_rss_mib"]), _s(p["load_s"]),
                _s(p["compute_s"]), _n(p["peak_rss_mib"]), _ratio(total_p, d["compute_s"]),
                _ratio(p["compute_s"], d["compute_s"]),
                _ratio(p["peak_rss_mib"], d["peak_rss_mib"]), agree]  # fmt: skip

    lines += _section(
        "### Four original metrics: DuckDB and pandas",
        "p50/p95/p99 latency per API, success rate per API, failures by region, error "
        "reasons per API, over `main.fct_api_calls` (`METRICS` in "
        "`scripts/api_trust/bench_refs.py`). DuckDB: the four queries on an open "
        "connection. pandas: load the five columns into a DataFrame, then compute. Memory: "
        "peak RSS of the process (interpreter and libraries included). Agree: every "
        "number equal (counts exactly, doubles to a relative 1e-9).",
        ["rows", "DuckDB s", "DuckDB peak MiB", "pandas load s", "pandas compute s",
         "pandas peak MiB", "time pandas/DuckDB (load+compute)",
         "time (compute only)", "memory pandas/DuckDB", "agree"],
        sizes, metrics,
    )  # fmt: skip

    def overhead(s: int) -> list[str] | None:
        cold = refs.get((s, "dbt run, 4 metric models (parse)"))
        warm = refs.get((s, "dbt run, 4 metric models (parsed)"))
        direct = refs.get((s, "same SQL direct"))
        if not (cold and warm and direct):
            return None
        return [f"{s:,}", _s(cold["seconds"]), _s(warm["seconds"]),
                _s(warm.get("dbt_node_s")), _s(direct["sql_s"]), _s(direct["seconds"]),
                _s(warm["seconds"] - direct["sql_s"])]  # fmt: skip

    lines += _section(
        "### dbt's overhead",
        "The four metrics' SQL as four dbt table models of a throwaway project "
        "(`dbt run`, twice: the first parses it, the second reuses the parse) against the "
        "same four `create table as` statements run straight through DuckDB. Overhead = "
        "the second `dbt run`'s wall time minus the direct statements' time. In the "
        "stages table, 'dbt start-up' is a build's wall time minus dbt's own elapsed time "
        "(start-up, project parse, manifest); 's in nodes' sums dbt's per-node times over "
        "its threads, so it can exceed the wall time.",
        ["rows", "dbt run (parse) s", "dbt run (parsed) s", "in dbt's nodes s",
         "direct SQL s", "direct process s", "dbt overhead s"],
        sizes, overhead,
    )  # fmt: skip

    def new_day(s: int) -> list[str] | None:
        full = by_stage.get((s, "dbt build full"))
        day = by_stage.get((s, "dbt build after one new day"))
        if not (full and day and "dbt_elapsed_s" in full and "dbt_elapsed_s" in day):
            return None
        return [f"{s:,}", _n(day["rows"]), _s(full["seconds"]), _s(day["seconds"]),
                f"{day['seconds'] / full['seconds']:.0%}", _s(full["dbt_elapsed_s"]),
                _s(day["dbt_elapsed_s"]),
                f"{day['dbt_elapsed_s'] / full['dbt_elapsed_s']:.0%}"]  # fmt: skip

    lines += _section(
        "### One new day against a full build",
        "The build after one new day (about 1/30 of the data) against the full build, "
        "both as wall time and as dbt's own elapsed time (without dbt's start-up).",
        ["rows", "new-day rows", "full wall s", "new day wall s", "wall ratio",
         "full in dbt s", "new day in dbt s", "ratio in dbt"],
        sizes, new_day,
    )  # fmt: skip

    lines += _tradeoffs([r for r in records if r["kind"] == "tradeoff"])

    def disk(s: int) -> list[str]:
        final = next((r for r in records if r["kind"] == "disk" and r["size"] == s), {})
        mine = [r for r in records if r.get("size") == s and "spill_peak_mib" in r]

        def after(stage: str, key: str = "warehouse_mib") -> float | None:
            r = by_stage.get((s, stage)) or refs.get((s, stage))
            return r.get(key) if r else None

        return [f"{s:,}", _mib(after("generate+land")), _mib(after("dbt build full")),
                _mib(final.get("warehouse_mib")), _mib(final.get("wal_mib")),
                _mib(max((r["spill_peak_mib"] for r in mine), default=None)),
                _mib(after("export", "exports_mib")),
                _mib(after("dashboards", "dashboards_mib")),
                _mib(after("anchor writer", "anchor_mib"))]  # fmt: skip

    lines += _section(
        "## Disk per size",
        "Warehouse file, its landed Parquet files and its models stored as files (`<warehouse>.tables`) after generate+land, after the full build, and at the end (after "
        "the new day, its build and the loaded files); peak spill over all stages; the "
        "exports (`processed_api_logs` Parquet + CSV), the dashboards folder (HTML and "
        "PNGs) and the anchor writer's file.",
        ["rows", "after generate MiB", "after build MiB", "at end MiB", "WAL MiB",
         "peak spill MiB", "exports MiB", "dashboards MiB", "anchor MiB"],
        sizes, disk,
    )  # fmt: skip
    lines += [
        "",
        "## Slowest dbt nodes",
        "",
        "dbt's own execution time per node (`run_results.json`), the twelve slowest of each build.",
        "",
    ]
    for r in stages:
        if r.get("slowest_nodes"):
            lines += [f"**{r['size']:,} rows, {r['stage']}** ({_s(r['dbt_node_s'])} s in "
                      f"{r['dbt_nodes']} nodes): "
                      + ", ".join(f"`{n.split('.', 2)[-1]}` {_s(t)}" for n, t in r["slowest_nodes"]),
                      ""]  # fmt: skip
    return "\n".join(lines).rstrip() + "\n"
