"""make bench's own logic: what it measures, that DuckDB and pandas agree on the
four metrics, the generator's --append-day, the BENCHMARKS.md it renders, and
one whole run at a tiny size in which every stage reports a number."""

from __future__ import annotations

import atexit
import copy
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from api_trust import bench_measure
from api_trust.bench import STAGES, Size, trade_offs, tradeoffs
from api_trust.bench_measure import Measured, StepFailed, run_measured
from api_trust.bench_refs import LANDINGS, METRICS, metrics_duckdb, metrics_pandas, same_results
from api_trust.bench_report import PLANNED_SIZES, render
from api_trust.contract import project_vars
from api_trust.warehouse import duckdb_settings
from conftest import ROOT, VENV_BIN, ahead, built, dbt, generate, run, tool_env

END_MS = 1_793_491_200_000  # 2026-11-01, the generator's default window end
ALLOCATE = "import time; b = bytearray({mib} * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep({sleep})"


def test_a_step_is_not_charged_with_the_bench_process_own_peak(tmp_path):
    """Started straight from a process that once held 400 MiB, a step's ru_maxrss began at
    400 MiB (the parent's peak survives vfork and exec): `true` measured 417 MiB."""
    held = bytearray(400 * 2**20)
    held[::4096] = b"x" * len(held[::4096])
    del held
    m = run_measured(["true"], dict(os.environ), tmp_path)
    assert 0 < m.peak_rss_mib < 50
    assert m.tree_peak_mib < 50


def test_the_cpu_of_a_process_the_step_orphans_is_the_step_s(tmp_path):
    """A step whose child outlives it (as a headless browser's helpers do): the child's CPU
    is the step's, not "other processes busy" (which marked every bench run not clean)."""
    burn = "import time; t = time.process_time(); exec('while time.process_time() - t < 0.6: pass')"
    step = (
        "import subprocess, sys; "
        f"subprocess.Popen([sys.executable, '-c', {burn!r}], start_new_session=True)"
    )
    m = run_measured([sys.executable, "-c", step], dict(os.environ), tmp_path)
    assert m.cpu_seconds >= 0.6
    assert m.seconds < 0.6  # the step itself ended before its orphan


def test_peak_memory_of_the_largest_process_and_of_the_tree(tmp_path):
    """Two children holding 150 MiB each at the same time: the largest process peaks at
    about 150, the tree at about 300 (item 6: the whole tree, not its largest child).
    Each holds its memory 3 s, so the two overlap even when one starts late on a busy
    machine (with 1.5 s, the tree peak once came out below 290 during a test run)."""
    child = [sys.executable, "-c", ALLOCATE.format(mib=150, sleep=3)]
    both = (
        "import subprocess, sys; "
        f"ps = [subprocess.Popen({child!r}) for _ in range(2)]; "
        "sys.exit(max(p.wait() for p in ps))"
    )
    m = run_measured([sys.executable, "-c", both], dict(os.environ), tmp_path)
    assert 150 <= m.peak_rss_mib < 250
    assert m.tree_peak_mib >= 290
    assert m.seconds >= 1.5
    assert m.cpu_seconds > 0


def test_spill_folder_is_sampled_and_a_failing_step_raises(tmp_path):
    spill = tmp_path / "spill"
    write = (
        f"import pathlib, time; d = pathlib.Path({str(spill)!r}); d.mkdir(); "
        "(d / 'x').write_bytes(b'0' * 20 * 2**20); time.sleep(1); (d / 'x').unlink()"
    )
    m = run_measured([sys.executable, "-c", write], dict(os.environ), tmp_path, [spill])
    assert 19 <= m.spill_peak_mib <= 21
    with pytest.raises(StepFailed, match="exited 3"):
        run_measured([sys.executable, "-c", "import sys; sys.exit(3)"], dict(os.environ), tmp_path)


def facts(db: Path, rows: list[tuple]) -> None:
    con = duckdb.connect(str(db))
    con.execute("""
        create table fct_api_calls (api_name varchar, region varchar, error_reason varchar,
                                    is_success boolean, latency_ms double)
    """)
    con.executemany("insert into fct_api_calls values (?, ?, ?, ?, ?)", rows)
    con.close()


EDGE_ROWS = [
    # ties, a single-row API, an API without latency, a null region and a null API
    ("PAN_OCR", "Metro", None, True, 100.0),
    ("PAN_OCR", "Metro", None, True, 100.0),
    ("PAN_OCR", "Rural", "timeout", False, 3000.0),
    ("PAN_OCR", "Tier1", "blurry_image", False, 250.5),
    ("FACE_MATCH", "Tier2", "face_mismatch", False, 410.0),
    ("BANK_VERIFY", None, "service_down", False, None),
    (None, "Metro", "internal_error", False, 12.0),
]


def test_duckdb_and_pandas_compute_the_same_four_metrics(tmp_path):
    db = tmp_path / "facts.duckdb"
    facts(db, EDGE_ROWS)
    d, p = metrics_duckdb(db), metrics_pandas(db)
    assert set(d["results"]) == set(METRICS)
    assert same_results(d["results"], p["results"]) == []
    latency = {api: q for api, q in d["results"]["latency_percentiles_by_api"]}
    # linear interpolation between 100, 100, 250.5 and 3000: numpy's and quantile_cont's
    assert latency["PAN_OCR"][0] == pytest.approx(175.25)
    assert "BANK_VERIFY" not in latency  # no latency, no percentiles
    assert [None, 1] in d["results"]["failures_by_region"]

    changed = copy.deepcopy(p["results"])
    changed["success_rate_by_api"][0][2] += 1e-6
    changed["error_reasons_by_api"][0][2] += 1
    assert same_results(d["results"], changed) == ["success_rate_by_api", "error_reasons_by_api"]


def test_append_day_lands_one_new_batch_and_leaves_the_run_alone(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    args = ("--rows", "3000", "--dirty-rate", "0.03", "--batches", "3", "--drift")
    generate(db, tmp_path, *args)
    base_sql = "select * exclude (loaded_at) from raw.api_calls order by batch_id, source_record_no"
    with duckdb.connect(str(db), read_only=True) as con:
        before = con.execute(base_sql).fetchall()
        batches = [b for (b,) in con.execute("select batch_id from raw.load_batches").fetchall()]
    generate(db, tmp_path, *args, "--append-day")
    with duckdb.connect(str(db), read_only=True) as con:
        new = con.execute(
            "select batch_id, record_count from raw.load_batches where not list_contains(?, batch_id)",
            [batches],
        ).fetchall()
        assert len(new) == 1
        batch_id, record_count = new[0]
        after = con.execute(
            base_sql.replace("order by", f"where batch_id != '{batch_id}' order by")
        ).fetchall()
        # the new batch is shaped like the run's last one: epoch-millisecond timestamps
        day = con.execute(
            """select count(*), count(*) filter (where try_cast("timestamp" as bigint)
                                                 between ? and ? + 86400000 - 1)
               from raw.api_calls where batch_id = ?""",
            [END_MS, END_MS, batch_id],
        ).fetchone()
        ids = con.execute("""
            select count(*) from (
                select request_id from raw.api_calls where batch_id = ?
                intersect select request_id from raw.api_calls where batch_id != ?)
        """, [batch_id, batch_id]).fetchone()[0]  # fmt: skip
    assert after == before  # the run's own rows are untouched
    assert day[0] == record_count > 0
    # a day of a 3000-call, 30-day run, all after the window's end (2026-11-01)
    assert 3000 / 30 / 3 < day[0] < 3000 / 30 * 3
    assert day[1] >= 0.9 * day[0]  # all but the planted defects fall in the day after
    assert ids == 0  # no request id of the new day repeats one of the run's
    again = subprocess.run(
        [sys.executable, "-m", "api_trust.generate", *args, "--append-day"],
        cwd=ROOT, env=tool_env(db, tmp_path), capture_output=True, text=True,
    )  # fmt: skip
    assert again.returncode == 1 and "already landed" in again.stderr


def _run(records: list[dict]) -> list[dict]:
    """A minimal run: one run record and the stage records given."""
    run = {
        "run": "r1", "kind": "run", "sizes": [1000], "load_lines": 10, "generator_args": ["--drift"],
        "machine": {"cpu_model": "cpu", "cores": 2, "usable_cores": 2, "ram_gib": 8.0,
                    "os": "Linux", "versions": {"python": "3.11", "duckdb": "1.5"}},
        "started_at": "2026-12-01 00:00:00", "load_start": [0.1, 0.1, 0.1],
        "load_end": [1.0, 0.5, 0.2], "seconds": 9.0, "note": "",
    }  # fmt: skip
    return [run, *records]


def _stage(name: str, **extra) -> dict:
    return {"run": "r1", "kind": "stage", "size": 1000, "stage": name, "rows": 1000,
            "seconds": 2.0, "rows_per_s": 500, "cpu_s": 1.5, "peak_rss_mib": 100,
            "tree_peak_mib": 120, "spill_peak_mib": 0.0, "warehouse_mib": 3.0,
            "load_during": [0.2, 1.5], **extra}  # fmt: skip


def _table_rows(text: str, section: str) -> list[str]:
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return [line for line in body.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_a_new_stage_is_one_more_row_and_the_file_says_what_was_not_measured():
    one = render(_run([_stage("generate+land")]))
    two = render(_run([_stage("generate+land"), _stage("land as parquet")]))
    assert len(_table_rows(two, "Pipeline stages")) == len(_table_rows(one, "Pipeline stages")) + 1
    assert "| land as parquet |" in two
    for size in PLANNED_SIZES:
        assert f"{size:,}" in one.split("Not measured in this run:", 1)[1].splitlines()[0]
    assert "Quiet machine" in one and "Not clean" not in one


def test_quiet_is_what_other_processes_used_not_the_load_average():
    """The bench's own threads raise the load average; only other processes' CPU counts."""
    busy_self = _run([_stage("dbt build full", load_during=[2.5, 3.4], other_cores=0.05)])
    busy_self[0]["load_start"] = [1.6, 1.5, 1.4]
    assert "Quiet machine" in render(busy_self)
    shared = _run([_stage("dbt build full", load_during=[0.5, 0.9], other_cores=0.9)])
    assert "**Not clean: the machine was shared** (other processes used up to 0.9" in render(shared)


def test_other_cores_is_the_machines_busy_time_less_the_steps_own(tmp_path, monkeypatch):
    """3 busy CPU-seconds on the machine during a sleeping step, 0.5 of them the bench
    process's own (its sampler): the rest are others'. (Both counters are replaced here: on
    a real machine the test's own warehouse builds run beside it.) Over the measuring
    window, which is the step's wall time plus the launcher's start: a few hundredths on a
    quiet machine, 0.1-0.2 s on a busy one (a fixed 5% tolerance failed there once)."""
    busy, own = iter([100.0, 103.0]), iter([10.0, 10.5])
    monkeypatch.setattr(bench_measure, "machine_busy_seconds", lambda: next(busy))
    monkeypatch.setattr(bench_measure, "_own_cpu_seconds", lambda: next(own))
    m = run_measured(
        [sys.executable, "-c", "import time; time.sleep(1)"], dict(os.environ), tmp_path
    )
    others = 3.0 - m.cpu_seconds - 0.5
    assert others / (m.seconds + 0.5) <= m.other_cores <= others / m.seconds
    assert 1.0 < m.other_cores < 2.5


def test_machine_busy_seconds_counts_cpu_spent_here():
    """The counter read from /proc/stat grows by at least the CPU this process burns."""
    before, cpu0 = bench_measure.machine_busy_seconds(), time.process_time()
    while time.process_time() - cpu0 < 0.5:
        pass
    after = bench_measure.machine_busy_seconds()
    assert before is not None and after - before >= 0.4


def test_a_busy_machine_and_a_failed_stage_are_said():
    records = _run([_stage("generate+land", load_during=[9.0, 12.0]),
                    {"run": "r1", "kind": "failed", "size": 1000, "stage": "dbt build full",
                     "error": "dbt build exited 2:\nOut of Memory Error"}])  # fmt: skip
    records[0]["load_start"] = [11.5, 11.0, 10.0]
    text = render(records)
    assert "**Not clean: the machine was shared**" in text
    assert "stage `dbt build full` failed" in text


def test_stages_left_out_are_said_and_a_misspelt_one_stops_the_run(monkeypatch):
    """BENCH_SKIP and the pandas guard leave a stage out on purpose: BENCHMARKS.md says
    which and why; a name that is no stage stops the run instead of being ignored."""
    from api_trust import bench

    text = render(_run([_stage("generate+land"),
                        {"run": "r1", "kind": "skipped", "size": 1000,
                         "stage": "one new day", "why": "left out of this run by BENCH_SKIP"}]))  # fmt: skip
    assert "1,000 rows: `one new day` not run: left out of this run by BENCH_SKIP." in text
    monkeypatch.setenv("BENCH_SKIP", "landing options, one new day")
    assert bench.skipped_stages() == {"landing options", "one new day"}
    monkeypatch.setenv("BENCH_SKIP", "landing option")
    with pytest.raises(SystemExit, match="names no stage"):
        bench.skipped_stages()
    ram = bench.machine()["ram_gib"] * 2**30
    assert bench.pandas_fits(10_000_000) or ram < 6 * 2**30
    assert not bench.pandas_fits(int(ram / bench.PANDAS_BYTES_PER_ROW))


@ahead("tiny_bench")
def _tiny_bench(tmp_path_factory: pytest.TempPathFactory, _: object):
    """`make bench` at 5,000 rows, started as soon as collection ends (conftest, RUN_LAST)
    at a low CPU priority: it runs mostly on what the session leaves idle, holds no
    background worker, and its test, ordered last, waits for it. Whole sessions in the
    working tree: 275 s (niceness 10 or 19) against 281-288 s queued after every build; on
    clean clones no gain shows beyond the host's spread. Output goes to files: a pipe
    nobody reads until the end would stop it once full."""
    tmp_path = tmp_path_factory.mktemp("tiny_bench")
    env = dict(tool_env(tmp_path / "unused.duckdb", tmp_path), BENCH_ROWS="5000",
               BENCH_LOAD_LINES="2000", BENCH_DIR=str(tmp_path / "bench"),
               BENCH_OUT=str(tmp_path / "BENCHMARKS.md"))  # fmt: skip
    with (tmp_path / "stdout").open("w") as out, (tmp_path / "stderr").open("w") as err:
        proc = subprocess.Popen(["nice", "-n", "10", sys.executable, "-m", "api_trust.bench"],
                                cwd=ROOT, env=env, stdout=out, stderr=err,
                                start_new_session=True)  # fmt: skip
    # a session that ends first (stopped, or the test deselected by -x) takes the run along
    atexit.register(lambda: proc.poll() is None and os.killpg(proc.pid, signal.SIGTERM))
    return tmp_path, proc


@pytest.fixture(scope="session")
def tiny_bench(request) -> tuple[Path, subprocess.CompletedProcess]:
    """The tiny `make bench` run's folder and its finished process."""
    tmp_path, proc = built(request)
    proc.wait()
    out, err = ((tmp_path / name).read_text() for name in ("stdout", "stderr"))
    return tmp_path, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.slow
def test_make_bench_at_a_tiny_size_reports_every_stage(tiny_bench) -> None:
    tmp_path, proc = tiny_bench
    assert proc.returncode == 0, proc.stderr[-4000:]
    records = [
        json.loads(x) for x in (tmp_path / "bench" / "results.jsonl").read_text().splitlines()
    ]
    measured = [r for r in records if r["kind"] in ("stage", "reference")]
    assert not [r for r in records if r["kind"] == "failed"]
    # every stage function reported at least one measurement, each with real numbers, but
    # the opt-in one, which says so
    skipped = [r for r in records if r["kind"] == "skipped"]
    assert [(r["stage"], "BENCH_TRADEOFFS=1" in r["why"]) for r in skipped] == [
        ("trade-offs", True)
    ]
    assert len({r["stage"] for r in measured}) >= len(STAGES) - 1
    for r in measured:
        assert r["seconds"] > 0 and r["cpu_s"] > 0, r
        assert r["peak_rss_mib"] > 20 and r["tree_peak_mib"] >= r["peak_rss_mib"], r
        assert r["rows"] > 0 and r["rows_per_s"] is not None, r
    stages = {r["stage"]: r for r in measured}
    assert stages["generate+land"]["rows"] == 5000
    # each build's per-node results are kept apart, the full build's too
    target = tmp_path / "bench" / "rows_5000" / "target"
    for build in ("dbt_build_full", "dbt_build_after_one_new_day"):
        kept = json.loads((target / f"run_results_{build}.json").read_text())
        assert len(kept["results"]) == stages[build.replace("_", " ")]["dbt_nodes"]
    assert 0 < stages["generate+land one new day"]["rows"] < 5000 / 30 * 3
    assert stages["dbt build full"]["dbt_nodes"] > 50
    assert stages["four metrics, pandas"]["disagree"] == []
    assert stages["load a file (access_log)"]["rows"] == 2000
    # spans, not lines: 2,000 spans in four export requests
    assert stages["load a file (otlp_json)"]["rows"] == 2000
    # every landing format wrote every generated record, and the typed one kept the values
    # its types cannot give back (the drifted batches' epoch timestamps, at least)
    landing = stages["landing options"]
    assert landing["rows"] == stages["generate+land"]["raw_rows"]
    assert [o["name"] for o in landing["options"]] == list(LANDINGS)
    assert all(o["write_s"] > 0 and o["scan_s"] > 0 and o["mib"] > 0 for o in landing["options"])
    assert landing["side_values"] > 0

    text = (tmp_path / "BENCHMARKS.md").read_text()
    for heading in ("## This run", "## Pipeline stages", "### Anchor writer",
                    "### Landing options",
                    "### Four original metrics: DuckDB and pandas", "### dbt's overhead",
                    "### One new day against a full build", "## Disk per size",
                    "## Slowest dbt nodes"):  # fmt: skip
        assert heading in text
    # the DuckDB settings it ran under: conftest.tool_env's one thread per query
    limit = duckdb_settings()["memory_limit"]
    assert f"- DuckDB settings: memory_limit {limit}, threads per query 1." in text
    rows = _table_rows(text, "Pipeline stages")
    assert len(rows) == len([r for r in records if r["kind"] == "stage"])
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        # rows, rows in, wall s, rows/s, CPU s, peak RSS, tree peak, spill: all numbers
        for cell in (cells[0], *cells[2:9]):
            assert re.fullmatch(r"[0-9][0-9,]*(\.[0-9]+)?", cell), row
    for section in ("References (same run, same data)", "Disk per size"):
        assert "| 5,000 |" in text.split(f"## {section}", 1)[1]
    assert "–" not in "".join(_table_rows(text, "Disk per size"))
    assert "5,000 rows: `trade-offs` not run: opt-in, BENCH_TRADEOFFS=1" in text


def test_trade_offs_rebuild_from_scratch_as_built_first_and_last(tmp_path, monkeypatch):
    """BENCH_TRADEOFFS=1: one full build from scratch per argument set, as built first and
    once more last (so the stages after it read the warehouse as built); BENCHMARKS.md
    gives each one's saving against the mean of the two as built. Without it the stage
    says it was not run."""
    size = Size(rows=1000, work=tmp_path, run_id="r1", load_files={})
    commands, took = [], iter([100.0, 60.0, 90.0, 80.0, 85.0, 30.0, 104.0])
    monkeypatch.setattr(Size, "scalar", lambda self, sql: 1000)
    monkeypatch.setattr(Size, "measure", lambda self, cmd, env=None: (
        commands.append(cmd) or Measured(9.0, 12.0, 500, 600, 0.0)))  # fmt: skip
    monkeypatch.setattr("api_trust.bench.dbt_timings", lambda target: {"dbt_elapsed_s": next(took)})
    monkeypatch.delenv("BENCH_TRADEOFFS", raising=False)
    trade_offs(size)
    assert commands == [] and [r["kind"] for r in size.records] == ["skipped"]
    monkeypatch.setenv("BENCH_TRADEOFFS", "1")
    trade_offs(size)
    assert len(commands) == len(tradeoffs()) + 1
    assert all(c[1:3] == ["build", "--quiet"] and "--full-refresh" in c for c in commands)
    assert len(commands[0]) == len(commands[-1]) < min(len(c) for c in commands[1:-1])
    text = render(_run(size.records[1:]))
    body = text.split("### What the full build's costliest parts cost", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|") for line in body.splitlines() if line.startswith("| 1,000 |")]
    saved = {cells[2].strip(): cells[5].strip() for cells in rows}
    assert len(rows) == len(commands)
    # against (100 + 104) / 2 = 102
    assert saved["without the two personal-data scans"] == "42.0"
    assert saved["without all four"] == "72.0"
    assert saved["as built"] == ""


def test_each_trade_off_leaves_out_what_it_names(demo_warehouse) -> None:
    """The argument sets select, as dbt reads them, everything the build has but the part
    each names (listed with `dbt ls`; a --vars set changes what the cube holds, not what
    is selected)."""
    wh = demo_warehouse

    def listed(args: tuple[str, ...]) -> set[tuple[str, str]]:
        if "--vars" in args:
            at = args.index("--vars")
            args = args[:at] + args[at + 2 :]
        out = dbt(wh.db, wh.work, "ls", "--quiet", "--output", "json", "--output-keys",
                  "name resource_type", *args).stdout  # fmt: skip
        nodes = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        # what a build runs (sources and exposures are listed, never run)
        return {(n["resource_type"], n["name"]) for n in nodes
                if n["resource_type"] in ("model", "seed", "snapshot", "test")}  # fmt: skip

    sets = dict(tradeoffs())
    built = listed(sets["as built"])
    scans = {
        ("model", "int_landed_batches_scanned_for_pii"),
        ("model", "int_fact_batches_scanned_for_pii"),
    }
    verifications = {("model", m) for m in ("fct_verifications", "agg_conversion_by_region",
                                             "agg_conversion_by_document_type")}  # fmt: skip
    tests = {n for n in built if n[0] == "test"}
    assert scans | verifications <= built and len(tests) > 100
    assert built - listed(sets["without the two personal-data scans"]) >= scans
    assert built - listed(sets["without data tests"]) == tests
    assert built - listed(sets["without fct_verifications and what reads it"]) >= verifications
    rest = listed(sets["without all four"])
    assert not rest & (scans | verifications | tests) and ("model", "rca_findings") in rest
    cube = json.loads(sets["without client_id in the root-cause cube"][1])["analysis_dimensions"]
    dims = project_vars()["analysis_dimensions"]
    assert cube == {"core": [d for d in dims["core"] if d != "client_id"], "extra": dims["extra"]}
    assert cube["core"] != dims["core"]


def test_make_profile_times_a_model_without_changing_the_warehouse(demo_warehouse) -> None:
    """`make profile MODEL=agg_api_daily`: the model's SQL run once under DuckDB's profiler
    into a scratch table that is dropped; it reports the rows the model has and the plan's
    operators with their times, writes the plan under $DBT_TARGET_PATH, and the warehouse
    keeps its tables as they were. Its compile reads the parse of the last dbt command
    run as `make` runs it (the warehouse's absolute path, which the profile's hash holds;
    this session's builds name it relative to their folder, so a parse comes first)."""
    wh = demo_warehouse
    tables = "select table_schema, table_name from information_schema.tables order by all"
    before, rows = wh.rows(tables), wh.scalar("select count(*) from agg_api_daily")
    make_target = {"DBT_TARGET_PATH": str(wh.work / "target_make")}
    run([str(VENV_BIN / "dbt"), "parse", "--quiet"], wh.db, wh.work, extra_env=make_target)
    proc = subprocess.run(
        [sys.executable, "-m", "api_trust.profile", "agg_api_daily", "--top", "5"],
        cwd=ROOT, env=tool_env(wh.db, wh.work) | make_target, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(proc.stdout)
    said = re.search(r"agg_api_daily: ([0-9.]+) s wall, ([0-9,]+) rows", proc.stdout)
    assert said and int(said.group(2).replace(",", "")) == rows > 0
    listed = re.findall(r"^ +([0-9.]+) +d[0-9]+ +([A-Z_]+) ", proc.stdout, re.M)
    # the facts are read from the validated records' Parquet files (macros/batch_files.sql)
    assert len(listed) == 5 and any(name in ("SEQ_SCAN", "READ_PARQUET") for _, name in listed)
    # the full plan goes to the dbt target folder this warehouse's commands use
    assert (wh.work / "target_make" / "profile" / "agg_api_daily.json").stat().st_size > 0
    assert wh.rows(tables) == before
    # its compile read the parse instead of parsing the whole project again: dbt says why
    # when it cannot ("Unable to do partial parsing because profile has changed")
    log = (wh.work / "logs" / "dbt.log").read_text(encoding="utf-8", errors="replace")
    compile_log = log[log.rindex("dbt compile --quiet --full-refresh") :]
    assert "Unable to do partial parsing" not in compile_log
    assert "Starting full parse" not in compile_log
