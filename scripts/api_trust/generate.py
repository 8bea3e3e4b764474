"""Generate synthetic API call logs and land them through the raw contract.

    python -m api_trust.generate --rows 120000 --seed 42 --days 30
    python -m api_trust.generate --rows 120000 --seed 42 --days 30 --append-day   # one more day

Rows are built chunk by chunk as numpy arrays (never a Python loop per row) and
turned into text by DuckDB while landing, because writing the file, not
drawing numbers, is what costs time. A run replaces earlier generated data and
keeps batches that `make load` brought in.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import math
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from api_trust import dirt, landing
from api_trust.contract import column_aliases, data_dir, db_path, log_columns
from api_trust.landing import (
    GENERATED_COLUMNS,
    GENERATED_TEXT,
    GENERATED_VALUES,
    planted_bit,
    quote_ident,
    sql_literal,
    unplanted_sql,
)
from api_trust.pii import ID_COLUMNS, mask_value_sql, pii_key
from api_trust.simulation import (
    CLIENT_TYPES,
    DOCUMENT_TYPES,
    N_CLIENTS,
    REASON_STATUS,
    REASONS,
    REGIONS,
    SDK_RELEASES,
    Calls,
    World,
    build_world,
    calls_for_window,
    version_numbers,
    window_weight,
)
from api_trust.warehouse import WarehouseError, connect, ensure_raw_tables, run_cli

DEFAULT_END = datetime(2026, 11, 1)
CHUNK_ROWS = 1_000_000
# Chunks landing at once while the next is simulated (see generate()).
LANDING_THREADS = 2

MESSAGES = {
    "blurry_image": "Image quality score below threshold; ask the user to recapture in better light",
    "invalid_document": "Document could not be validated against the expected template",
    "document_expired": "Document validity date has passed",
    "missing_field": "Required field missing in request body",
    "face_not_detected": "No face found in the submitted image",
    "fraud_suspected": "Risk score above decline threshold",
    "face_mismatch": "Face similarity below match threshold",
    "invalid_api_key": "API key not recognised or revoked",
    "insufficient_scope": "Client not entitled to this API version",
    "service_down": "Service temporarily unavailable",
    "upstream_registry_unavailable": "Upstream registry did not respond",
    "internal_error": "Unexpected error while processing request",
    "timeout": "Request timed out before the service answered",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=120_000, help="records to generate (default 120000)")
    p.add_argument("--seed", type=int, default=42, help="same arguments, same rows (default 42)")
    p.add_argument(
        "--days", type=int, default=30, help="days of traffic ending at --end (default 30)"
    )
    p.add_argument("--end", default=DEFAULT_END.strftime("%Y-%m-%d"), help="window end, UTC date")
    p.add_argument(
        "--scenario",
        default="default",
        choices=("default", "baseline"),
        help="default: structure + planted incidents; baseline: the API alone decides",
    )
    p.add_argument(
        "--dirty-rate", type=float, default=0.0, help="share of records given one defect"
    )
    p.add_argument("--batches", type=int, default=1, help="split the run into N load batches")
    p.add_argument("--drift", action="store_true", help="later batches change their schema")
    p.add_argument("--raw-csv", action="store_true", help="also write data/raw_api_logs.csv")
    p.add_argument(
        "--append-day",
        action="store_true",
        help="add the day after --end as one new batch to the run these arguments landed",
    )
    p.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rows < 1:
        p.error("--rows must be at least 1")
    if not 0 <= args.seed < 2**63:
        p.error("--seed must be between 0 and 2^63 - 1 (it is stored as a BIGINT)")
    if args.days < 1:
        p.error("--days must be at least 1")
    if not 0 <= args.dirty_rate <= 0.5:
        p.error("--dirty-rate must be between 0 and 0.5")
    if not 1 <= args.batches <= min(1000, args.rows):
        p.error("--batches must be between 1 and min(1000, rows)")
    if args.drift and args.batches < 2:
        p.error("--drift needs --batches 2 or more (the first batch is the reference shape)")
    try:
        args.end_at = datetime.strptime(args.end, "%Y-%m-%d")
    except ValueError:
        p.error(f"--end must be a date like 2026-11-01, got {args.end!r}")
    return args


def plan_chunks(rows: int, batches: int, chunk_rows: int, start: datetime, end: datetime):
    """Split the window into batches x chunks of equal time; rows follow the traffic shape."""
    per_batch = math.ceil(math.ceil(rows / batches) / chunk_rows)
    n = batches * per_batch
    step = (end - start) / n
    windows = [(start + step * i, start + step * (i + 1)) for i in range(n)]
    weights = np.array([window_weight(a, b) for a, b in windows])
    exact = rows * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts))[: rows - counts.sum()]] += 1
    return [
        (i // per_batch, w, int(c)) for i, (w, c) in enumerate(zip(windows, counts, strict=True))
    ]


# The field every batch delivers outside the contract (it lands in extra_fields), and
# the one a drifting batch adds.
EXTRA_FIELD = "sdk_version"
DRIFT_FIELD = "device_os"


def drift_for_batch(batch_no: int, batches: int, drift: bool) -> dict:
    """How batch k (0-based) deviates from the contract: later batches drift as logging changes."""
    if not drift or batch_no == 0:
        return {"rename_latency": False, "new_field": False, "drop_message": False, "epoch": False}
    late = batch_no >= 2 or batches == 2
    return {"rename_latency": True, "new_field": True, "drop_message": late, "epoch": late}


def _categories(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    """Text from codes (-1: null) as categories: it lands dictionary-encoded, at the cost
    of a number."""
    return pd.Categorical.from_codes(codes, categories=names)


def _constant(text: str, n: int) -> pd.Categorical:
    return _categories(np.zeros(n, dtype=np.int8), [text])


def calls_frame(world: World, calls: Calls, first_record_no: int, drift: dict,
                seed: int) -> pd.DataFrame:  # fmt: skip
    """A chunk's records as the generator lands them: the values of landing.GENERATED_VALUES,
    in order (landing.GENERATED_TEXT says what text each record delivers)."""
    cat = world.catalogue
    n = len(calls.api)
    failed = calls.reason >= 0
    versions = version_numbers(cat, calls)
    messages = [MESSAGES.get(r) for r in REASONS]
    message_names = [m for m in messages if m is not None]
    message_code = np.array([message_names.index(m) if m else -1 for m in messages] + [-1])
    if drift["drop_message"]:
        message_code[:] = -1
    # copy=False: the arrays are this chunk's own, and consolidating them into blocks copied
    # every number column (0.2 s a chunk)
    frame = pd.DataFrame(copy=False, data={
        "request_prefix": _constant(f"req_{seed}_", n),
        "request_no": calls.verification * 4 + calls.attempt_no,
        "timestamp_as_epoch": np.full(n, drift["epoch"]),
        "called_at_ms": calls.called_at_ms,
        "api_name": _categories(calls.api, list(cat.names)),
        "api_version": _categories(versions, [f"v{k}" for k in range(versions.max() + 1)]),
        "region": _categories(calls.region, list(REGIONS)),
        "client_type": _categories(world.client_type_of[calls.client], list(CLIENT_TYPES)),
        "client_id": _categories(calls.client, [f"C{k:04d}" for k in range(1, N_CLIENTS + 1)]),
        "document_type": _categories(calls.document, list(DOCUMENT_TYPES)),
        "verification_prefix": _constant(f"ver_{seed}_", n),
        "verification_no": calls.verification,
        "attempt_no": calls.attempt_no.astype(np.int64),
        "status": _categories(failed.astype(np.int8), ["success", "fail"]),
        "status_code": np.where(failed, REASON_STATUS[np.maximum(calls.reason, 0)], 200)
                      .astype(np.int32),
        "latency_ms": calls.latency_ms.astype(np.int64),
        "error_reason": _categories(calls.reason, list(REASONS)),
        "error_message": _categories(message_code[calls.reason], message_names),
        "extra_fields": extra_fields(calls, drift),
        "source_record_no": np.arange(first_record_no, first_record_no + n, dtype=np.int64),
    })  # fmt: skip
    assert tuple(frame.columns) == tuple(c for c, _ in GENERATED_VALUES)
    return frame


def chunk_text_sql(source: str = "chunk_df") -> str:
    """The text a chunk's records deliver (landing.GENERATED_TEXT), with their numbers and
    times, from `source` (the registered frame `chunk_df`, or a subquery over it)."""
    text = ", ".join(f"{expr} as {quote_ident(c)}" for c, expr in GENERATED_TEXT.items())
    return f"select {text}, source_record_no, called_at_ms from {source}"


def land_chunk(con, df: pd.DataFrame, batch_id: str, source_name: str) -> None:
    """One chunk to land: the registered frame `chunk_df` and the view `chunk_landed`, which
    the dirt may replace, of what lands (its values, then the planted ones: none here).

    The batch's id and source name join the frame as one-value categories: as text
    literals in the landing's select they cost a dictionary lookup per record when the
    file is written (0.07 of 0.6 CPU-seconds per 1M records)."""
    df["batch_id"] = _constant(batch_id, len(df))
    df["source_name"] = _constant(source_name, len(df))
    con.register("chunk_df", df)
    con.execute(
        f"create or replace temp view chunk_landed as select *, {unplanted_sql()} from chunk_df"
    )


def landing_select(key: str, loaded_at: datetime) -> str:
    """What a chunk lands: the view `chunk_landed` as landing.GENERATED_COLUMNS.

    Personal data can only be in a value the dirt planted (the generator writes the rest
    from its vocabularies and numbers; the no_pii_in_text test on the source checks every
    landed value at each build): planted values are masked as a file's values are.
    """
    lineage = {"loaded_at": f"timestamp {sql_literal(loaded_at.isoformat(sep=' '))}"}
    # the planted value is masked as a value of the column its bit names
    id_bits = sum(planted_bit(c) for c in GENERATED_TEXT if c in ID_COLUMNS)
    planted = (
        f"case when planted_mask & {id_bits} <> 0 "
        f"then {mask_value_sql('planted_value', key, identifier=True)} "
        f"else {mask_value_sql('planted_value', key, identifier=False)} end"
    )
    select = []
    for c, t in GENERATED_COLUMNS:
        expr = planted if c == "planted_value" else lineage.get(c, quote_ident(c))
        select.append(f"cast({expr} as {t}) as {quote_ident(c)}" if c in lineage else
                      f"{expr} as {quote_ident(c)}")  # fmt: skip
    return f"select {', '.join(select)} from chunk_landed"


def wipe_generated(con) -> None:
    """Remove earlier generator output so a second run replaces it instead of doubling it."""
    kinds = con.execute("select distinct source_kind from raw.load_batches").fetchall()
    if all(k == "generator" for (k,) in kinds):
        con.execute("drop schema raw cascade")
        landing.drop_all(db_path())
        ensure_raw_tables(con)
        return
    gen = "select batch_id from raw.load_batches where source_kind = 'generator'"
    for (batch_id,) in con.execute(gen).fetchall():
        landing.drop_batch(db_path(), batch_id)
    for table in ("load_batch_columns", "load_rejects", "planted_defects"):
        con.execute(f"delete from raw.{table} where batch_id in ({gen})")
    con.execute("delete from raw.load_batches where source_kind = 'generator'")
    con.execute("delete from raw.generator_effects")
    con.execute("delete from raw.generator_runs")


# Tags the random streams of an appended day, so they differ from the run's own chunks.
APPEND_DAY_STREAM = 0xDA7


def append_day_plan(args: argparse.Namespace, start: datetime):
    """One chunk for the day after the window, as batch number `batches` (0-based: a new
    batch), sized like the run's own days and shaped like its last batch."""
    day = (args.end_at, args.end_at + timedelta(days=1))
    share = window_weight(*day) / window_weight(start, args.end_at)
    return [(args.batches, day, max(1, round(args.rows * share)))]


def check_can_append(con, run_id: str, batch_id: str) -> None:
    """An appended day belongs to a landed run and is landed once."""
    if not con.execute("select count(*) from raw.generator_runs where run_id = ?",
                       [run_id]).fetchone()[0]:  # fmt: skip
        raise WarehouseError(
            f"--append-day adds to the run these arguments landed, and {db_path()} has none: "
            "run the same command without --append-day first"
        )
    if con.execute("select count(*) from raw.load_batches where batch_id = ?",
                   [batch_id]).fetchone()[0]:  # fmt: skip
        raise WarehouseError(f"the day after --end is already landed (batch {batch_id})")


ALIASES = column_aliases()


def batch_columns(drift: dict) -> list[tuple[str, str]]:
    """Columns a generated batch delivers, in order, with the type a sniffer would see."""
    out = []
    for c in log_columns():
        if c.protocol or (c.name == "error_message" and drift["drop_message"]):
            continue
        if c.name == "latency_ms":
            out.append(("latency" if drift["rename_latency"] else "latency_ms", "BIGINT"))
        elif c.name == "timestamp":
            out.append(("timestamp", "BIGINT" if drift["epoch"] else "TIMESTAMP"))
        else:
            out.append((c.name, c.type))
    out.append((EXTRA_FIELD, "VARCHAR"))
    if drift["new_field"]:
        out.append((DRIFT_FIELD, "VARCHAR"))
    return out


def extra_fields(calls: Calls, drift: dict) -> pd.Categorical:
    """Each record's extra_fields JSON object, as categories: there are only a few distinct
    objects, so they land as cheaply as a region instead of being built row by row."""
    objects = [f'"{EXTRA_FIELD}":"{sdk}"' for sdk in SDK_RELEASES]
    codes = calls.sdk
    if drift["new_field"]:
        # the device family of the client's app: a plain, low-cardinality field
        families = ("android", "ios", "web")
        last_digit = (calls.client + 1) % 10
        codes = codes * len(families) + np.where(
            last_digit == 0, 1, np.where(last_digit == 5, 2, 0)
        )
        objects = [f'{o},"{DRIFT_FIELD}":"{f}"' for o in objects for f in families]
    return pd.Categorical.from_codes(codes, categories=["{" + o + "}" for o in objects])


def generate(args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    start = args.end_at - timedelta(days=args.days)
    world = build_world(args.scenario, args.seed, start, args.end_at)
    if args.append_day:
        plan = append_day_plan(args, start)
    else:
        plan = plan_chunks(args.rows, args.batches, args.chunk_rows, start, args.end_at)
    # Batch ids change with any parameter, so incremental models notice a replaced run.
    params = f"{args.scenario}|{args.seed}|{args.rows}|{args.days}|{args.end}|{args.dirty_rate}|"
    params += f"{args.batches}|{args.drift}"
    # the seed's digits in groups of three (s9_876_543_210): a run of ten or twelve digits
    # reads as a phone or Aadhaar number, and the personal-data tests would fail every build
    run_id = f"gen_{args.scenario}_s{args.seed:_}_{hashlib.sha256(params.encode()).hexdigest()[:8]}"
    loaded_at = datetime.utcnow().replace(microsecond=0)
    con = connect(db_path())
    # one DuckDB thread per landing thread: the landing threads and the simulation already
    # fill the cores, and more threads only contend (10M rows: about 14 s -> 11 s)
    con.execute("set threads = 1")
    ensure_raw_tables(con)
    key = pii_key(db_path())
    if args.append_day:
        check_can_append(con, run_id, f"{run_id}_b{args.batches + 1:03d}")
    else:
        con.execute("begin")
        wipe_generated(con)
        con.execute("commit")
        con.execute(
            "insert into raw.generator_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, args.scenario, args.seed, args.rows, args.days, args.end_at, args.dirty_rate,
             args.batches, args.drift, loaded_at],
        )  # fmt: skip
        effects = pd.DataFrame([e.row(i + 1, args.scenario) for i, e in enumerate(world.effects)])
        con.register("effects_df", effects)
        con.execute("insert into raw.generator_effects by name select * from effects_df")
        con.unregister("effects_df")

    done = 0
    planted = 0
    # The run's own verifications are numbered below --rows (each has a call), so an
    # appended day starts there; its random streams are tagged apart from the run's.
    next_verification = args.rows if args.append_day else 0
    stream_tag = (APPEND_DAY_STREAM,) if args.append_day else ()
    new_batches = [args.batches] if args.append_day else list(range(args.batches))
    record_no = {b: 0 for b in new_batches}
    batch_ids = {b: f"{run_id}_b{b + 1:03d}" for b in new_batches}
    source_names = {b: f"generator:{run_id}:batch{b + 1}of{args.batches}" for b in new_batches}
    if args.append_day:
        source_names[args.batches] = f"generator:{run_id}:day_after_{args.end}"

    def land(i: int, batch_no: int, df: pd.DataFrame, drift: dict, dirt_rng,
             planned: dirt.Plan | None, records: int) -> int:  # fmt: skip
        """Land one chunk on a connection of its own, in its own transaction; returns the
        defects it planted. Runs on a landing thread while the next chunk is simulated."""
        cur = con.cursor()
        try:
            cur.execute("begin")
            land_chunk(cur, df, batch_ids[batch_no], source_names[batch_no])
            n_dirty = 0
            if planned is not None:
                n_dirty = dirt.inject(cur, dirt_rng, planned, batch_ids[batch_no], drift,
                                      chunk_text_sql, df)  # fmt: skip
            query = landing_select(key, loaded_at)
            written = landing.write_generated_part(cur, db_path(), batch_ids[batch_no], query, i)
            if written != records:
                raise RuntimeError(f"chunk {i + 1} landed {written} records, not {records}")
            cur.execute("commit")
            return n_dirty
        finally:
            cur.close()

    # The main thread simulates chunk i+1 (numpy) while landing threads write chunks i and
    # i-1 (DuckDB writes one Parquet file on about one core): at most LANDING_THREADS + 1
    # chunks are in memory at once.
    pool = ThreadPoolExecutor(LANDING_THREADS, thread_name_prefix="landing")
    in_flight: deque[tuple[Future, int, int, int]] = deque()

    def finish_oldest() -> None:
        nonlocal done, planted
        future, i, batch_no, n_rows = in_flight.popleft()
        planted += future.result()
        done += n_rows
        rate = done / max(time.perf_counter() - t0, 1e-9)
        if len(plan) > 1 or args.rows >= 1_000_000:
            print(
                f"generate: chunk {i + 1}/{len(plan)} (batch {batch_no + 1}/{args.batches}) "
                f"{done:,}/{args.rows:,} rows, {rate:,.0f} rows/s",
                file=sys.stderr,
                flush=True,
            )

    try:
        for i, (batch_no, (w0, w1), n_rows) in enumerate(plan):
            if n_rows == 0:
                continue
            rng = np.random.default_rng([args.seed, i, *stream_tag])
            drift = drift_for_batch(batch_no, args.batches, args.drift)
            calls = calls_for_window(world, rng, n_rows, w0, w1, next_verification)
            next_verification = int(calls.verification.max()) + 1
            df = calls_frame(world, calls, record_no[batch_no] + 1, drift, args.seed)
            dirt_rng = np.random.default_rng([args.seed, i, 99, *stream_tag])
            planned = dirt.plan(dirt_rng, n_rows, args.dirty_rate, drift)
            records = n_rows + (planned.duplicates if planned else 0)
            # records are numbered on from the batch's last one, duplicates after the chunk's
            record_no[batch_no] += records
            while len(in_flight) >= LANDING_THREADS:
                finish_oldest()
            future = pool.submit(land, i, batch_no, df, drift, dirt_rng, planned, records)
            in_flight.append((future, i, batch_no, n_rows))
        while in_flight:
            finish_oldest()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    for b, batch_id in batch_ids.items():
        drift = drift_for_batch(b, args.batches, args.drift)
        cols = batch_columns(drift)
        n = record_no[b]
        digest = hashlib.sha256(
            f"{run_id}|{args.rows}|{args.days}|{args.end}|{args.dirty_rate}|"
            f"{args.batches}|{args.drift}|{b}".encode()
        ).hexdigest()
        con.execute(
            """
            insert into raw.load_batches (
                batch_id, source_name, source_kind, source_format, content_hash, record_count,
                landed_count, rejected_count, columns_seen, loaded_at, line_count,
                header_line_count, blank_line_count, landed_line_count, rejected_line_count
            ) values (?, ?, 'generator', 'generator', ?, ?, ?, 0, ?, ?, ?, 1, 0, ?, 0)
            """,
            [batch_id, source_names[b], f"params:{digest}",
             n, n, ",".join(c for c, _ in cols), loaded_at, n + 1, n],
        )  # fmt: skip
        con.executemany(
            "insert into raw.load_batch_columns "
            "(batch_id, column_position, column_name, sniffed_type, landed_as) "
            "values (?, ?, ?, ?, ?)",
            [[batch_id, pos + 1, c, t,
              None if c in (EXTRA_FIELD, DRIFT_FIELD) else ALIASES.get(c, c)]
             for pos, (c, t) in enumerate(cols)],
        )  # fmt: skip
    con.execute("checkpoint")
    if args.raw_csv:
        out = data_dir() / "raw_api_logs.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"""
            copy (select {", ".join(f'"{c.name}"' for c in log_columns() if not c.protocol)}
                  from raw.api_calls where batch_id like '{run_id}_b%'
                  order by batch_id, source_record_no)
            to '{out}' (header, delimiter ',')
        """)
    # what the batches' files hold, from their footers (a count through raw.api_calls
    # reads every landed file: 1 s at 10M rows)
    files = [str(landing.batch_dir(db_path(), b) / landing.GENERATED_PARTS)
             for b in batch_ids.values()]  # fmt: skip
    footers = f"parquet_file_metadata({landing.sql_value(files)})"
    total = con.execute(f"select coalesce(sum(num_rows), 0) from {footers}").fetchone()[0]
    con.close()
    seconds = time.perf_counter() - t0
    return {"rows": done, "records": total, "planted": planted, "seconds": seconds,
            "batches": len(batch_ids), "run_id": run_id}  # fmt: skip


def keep_freed_memory() -> None:
    """Have glibc's malloc reuse the memory a chunk's arrays free instead of returning it
    to the kernel and faulting fresh pages in for the next chunk's (arrays up to 32 MiB
    come from the heap, which keeps up to 1 GiB free). At 10M rows this took the kernel's
    share of the run from about 2.4 to 1.8 CPU-seconds and the run about 1 s shorter
    (three runs each, 2026-12-03). Elsewhere (not glibc) it does nothing."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 1 << 30)
    libc.mallopt(m_top_pad, 256 << 20)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    keep_freed_memory()
    # The simulation's numpy calls give the interpreter up and take it back hundreds of
    # times a chunk while the dirt's loop runs on a landing thread; at Python's default
    # 5 ms switch interval each take-back can wait that long (10M rows: 13.0 -> 11.9 s,
    # two runs each, 2026-12-03).
    sys.setswitchinterval(0.0005)

    def _run() -> None:
        r = generate(args)
        extra = f", {r['planted']:,} planted defects" if args.dirty_rate else ""
        print(f"generate: {r['records']:,} records ({r['rows']:,} calls{extra}) in {r['batches']} "
              f"batch(es), scenario {args.scenario}, seed {args.seed} -> {db_path()} "
              f"in {r['seconds']:.1f} s ({r['rows'] / r['seconds']:,.0f} rows/s)")  # fmt: skip

    run_cli(_run)


if __name__ == "__main__":
    main()


__all__ = ["WarehouseError", "generate", "main", "parse_args"]
