"""Batch-incremental builds give the same warehouse as a full rebuild.

int_api_calls_validated processes only batches it has not seen (fct_api_calls
is a view of its facts); duplicates across batches still count earlier
deliveries, and batches that leave the landing zone (a regenerated demo) leave
the facts too.
"""

from __future__ import annotations

import shutil
import sys

from conftest import Warehouse, dbt, generate, run

CORE = ["--select", "+fct_api_calls", "+dq_batch_summary", "--indirect-selection", "cautious"]
ROUTED = "select batch_id, source_record_no, call_id, route, delivery_no, reasons from intermediate.int_api_calls_validated"


def _csv_from_raw(wh: Warehouse, where: str, path) -> int:
    """Write some landed records back out as a CSV file, as a later delivery would resend them."""
    df = wh.df(f"""
        select request_id, "timestamp", api_name, api_version, region, client_type, client_id,
               document_type, verification_id, attempt_no, status, status_code, latency_ms,
               error_reason, error_message
        from raw.api_calls where {where} order by source_record_no
    """)
    df.to_csv(path, index=False)
    return len(df)


def test_incremental_build_matches_full_rebuild(tmp_path) -> None:
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    generate(db, work, "--rows", "20000", "--seed", "11", "--dirty-rate", "0.02", "--batches", "2")
    dbt(db, work, "build", "--quiet", *CORE)
    wh = Warehouse(db, work)
    facts_before = wh.scalar("select count(*) from fct_api_calls")

    # a later file: 5 records already delivered (resent) + 3 genuinely new ones
    resend = tmp_path / "resend.csv"
    first_batch = wh.scalar("select min(batch_id) from raw.load_batches")
    n = _csv_from_raw(
        wh,
        f"batch_id = '{first_batch}' and source_record_no in (10, 20, 30, 40, 50)",
        resend,
    )
    assert n == 5
    new = tmp_path / "new.csv"
    new.write_text(
        resend.read_text(encoding="utf-8").splitlines()[0]
        + "\n"
        + "\n".join(
            f"new_{i},2026-10-20 10:0{i}:00,PAN_OCR,v2,Metro,FinTech,C0001,PAN,vnew_{i},1,"
            f"success,200,{700 + i},,"
            for i in range(3)
        )
        + "\n",
        encoding="utf-8",
    )
    run([sys.executable, "-m", "api_trust.ingest", str(resend), str(new)], db, work)
    dbt(db, work, "build", "--quiet", *CORE)

    resent = wh.rows(f"""
        select route, delivery_no from ({ROUTED}) as r
        inner join raw.load_batches as b using (batch_id)
        where b.source_name = 'resend.csv'
    """)
    # a resent record that was first quarantined is still a later delivery
    assert resent == [("duplicate", 2)] * 5
    assert wh.scalar("select count(*) from fct_api_calls") == facts_before + 3
    assert wh.scalar("select bool_and(is_reconciled) from dq_batch_summary") is True

    # the same warehouse rebuilt from scratch routes every record the same way
    (tmp_path / "full").mkdir()
    full_db = tmp_path / "full" / "warehouse.duckdb"
    shutil.copy(db, full_db)
    dbt(full_db, tmp_path / "full", "build", "--quiet", "--full-refresh", *CORE)
    full = Warehouse(full_db, tmp_path / "full")
    assert sorted(wh.rows(ROUTED)) == sorted(full.rows(ROUTED))
    assert wh.scalar("select count(*) from fct_api_calls") == full.scalar(
        "select count(*) from fct_api_calls"
    )


def test_regenerated_batches_leave_the_incremental_models(tmp_path) -> None:
    db, work = tmp_path / "warehouse.duckdb", tmp_path
    generate(db, work, "--rows", "5000", "--seed", "1")
    dbt(db, work, "build", "--quiet", *CORE)
    generate(db, work, "--rows", "4000", "--seed", "2")
    dbt(db, work, "build", "--quiet", *CORE)
    wh = Warehouse(db, work)
    batches = {b for (b,) in wh.rows("select distinct batch_id from fct_api_calls")}
    landed = {b for (b,) in wh.rows("select batch_id from raw.load_batches")}
    assert batches == landed and len(landed) == 1
    assert wh.scalar("select count(*) from fct_api_calls") == 4000
