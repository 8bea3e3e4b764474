"""Remove batches from the warehouse: the way back to a green build after a bad load.

    python -m api_trust.unload BATCH [BATCH ...]      (make unload BATCH=file_abhicdjkeflm)
    python -m api_trust.unload --list                 (make batches)

A batch is named by its batch_id (as `make load` prints it) or by its source
name (the file name, when only one batch has it). Its rows leave every raw
table in one transaction; the incremental models drop what they built from it
on the next `make build` (their pre-hook deletes batches that are no longer
landed), and every other model is rebuilt from what is left.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import duckdb

from api_trust.contract import db_path
from api_trust.landing import drop_batch
from api_trust.warehouse import (
    WarehouseError,
    connect,
    ensure_raw_tables,
    names_from_env,
    run_cli,
)

# raw.api_calls is a view over each batch's landed files (api_trust.landing): those go
# after the commit, and a folder left by a kill in between goes at the next landing.
RAW_TABLES_BY_BATCH = ("load_rejects", "load_batch_columns", "planted_defects")


def list_batches(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        """
        select batch_id, source_name, source_kind, record_count, loaded_at
        from raw.load_batches order by loaded_at, batch_id
        """
    ).fetchall()


def resolve(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """The batch_id a user means: an id, or a source name that only one batch has."""
    hits = con.execute(
        "select batch_id from raw.load_batches where batch_id = ? or source_name = ?",
        [name, name],
    ).fetchall()
    if len(hits) == 1:
        return hits[0][0]
    if not hits:
        raise WarehouseError(
            f"no batch {name!r} in {db_path()}: `make batches` lists the batch ids and files"
        )
    ids = ", ".join(h[0] for h in hits)
    raise WarehouseError(f"{name!r} names several batches ({ids}): give the batch id")


def unload(con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> list[tuple[str, int]]:
    """Delete the batches everywhere in raw, in one transaction; (batch_id, records) each."""
    ids = [resolve(con, n) for n in names]
    done = []
    con.execute("begin")
    try:
        for batch_id in dict.fromkeys(ids):
            records = con.execute(
                "select count(*) from raw.api_calls where batch_id = ?", [batch_id]
            ).fetchone()[0]
            for table in RAW_TABLES_BY_BATCH:
                con.execute(f"delete from raw.{table} where batch_id = ?", [batch_id])
            con.execute("delete from raw.load_batches where batch_id = ?", [batch_id])
            done.append((batch_id, records))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    for batch_id, _ in done:
        drop_batch(db_path(), batch_id)
    return done


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m api_trust.unload", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("batches", nargs="*", metavar="BATCH", help="batch id or file name")
    p.add_argument("--list", action="store_true", help="list the batches and exit")
    p.add_argument("--from-env", metavar="VAR", help="also read batch names from this variable")
    args = p.parse_args(argv)
    if args.from_env:
        args.batches = [*args.batches, *names_from_env(args.from_env)]
    if not args.list and not args.batches:
        p.error("give at least one BATCH (make unload BATCH=...), or --list")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)

    def _run() -> None:
        con = connect(db_path())
        try:
            ensure_raw_tables(con)
            if args.list:
                rows = list_batches(con)
                for batch_id, source, kind, records, loaded_at in rows:
                    print(f"{batch_id}  {kind:<9} {records:>12,} records  {loaded_at}  {source}")
                print(f"batches: {len(rows)} in {db_path()}")
                return
            for batch_id, records in unload(con, args.batches):
                print(f"unload: removed batch {batch_id} ({records:,} landed records)")
            print("unload: done; run `make build` to rebuild the models without it")
        finally:
            con.close()

    run_cli(_run)
    sys.exit(0)


if __name__ == "__main__":
    main()
