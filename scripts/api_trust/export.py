"""Export the production-ready dataset (fct_api_calls) as Parquet and spreadsheet-safe CSV.

    python -m api_trust.export

The CSV is meant to be opened in a spreadsheet: a text cell that starts with
=, +, -, @, tab or carriage return would be run as a formula there (CSV
injection), so such cells get a leading apostrophe. Parquet keeps the values
exactly as they are in the warehouse.
"""

from __future__ import annotations

import shutil
import time

import duckdb

from api_trust.contract import data_dir
from api_trust.warehouse import WarehouseError, connect, run_cli

FORMULA_START = r"^[=+\-@\t\r]"


def csv_safe_select(columns: list[tuple[str, str]]) -> str:
    """A select list that defuses formula-like text cells and leaves other columns alone."""
    parts = []
    for name, data_type in columns:
        quoted = f'"{name}"'
        if data_type == "VARCHAR":
            parts.append(
                f"case when regexp_matches({quoted}, '{FORMULA_START}') "
                f"then '''' || {quoted} else {quoted} end as {quoted}"
            )
        else:
            parts.append(quoted)
    return ",\n    ".join(parts)


def export() -> dict:
    t0 = time.perf_counter()
    out = data_dir()
    out.mkdir(parents=True, exist_ok=True)
    con = connect(read_only=True)
    try:
        columns = con.execute("""
            select column_name, data_type from information_schema.columns
            where table_schema = 'main' and table_name = 'fct_api_calls'
            order by ordinal_position
        """).fetchall()
        if not columns:
            raise WarehouseError("fct_api_calls is not built yet: run `make build` first")
        parquet, csv = out / "processed_api_logs.parquet", out / "processed_api_logs.csv"
        try:
            con.execute(f"copy (select * from fct_api_calls order by called_at, request_id) "
                        f"to '{parquet}' (format parquet, compression zstd)")  # fmt: skip
            # the CSV from the Parquet file just written, in its order: sorting every call a
            # second time spilled 28 GB at 100M rows
            con.execute("set preserve_insertion_order = true")
            con.execute(f"""
                copy (select {csv_safe_select(columns)} from read_parquet('{parquet}'))
                to '{csv}' (header, delimiter ',')
            """)
        except duckdb.IOException as err:
            free = shutil.disk_usage(out).free / 2**30
            raise WarehouseError(
                f"the export could not be written to {out} ({free:.1f} GiB free there now): {err}"
            ) from err
        rows = con.execute("select count(*) from fct_api_calls").fetchone()[0]
    finally:
        con.close()
    return {"rows": rows, "parquet": parquet, "csv": csv, "seconds": time.perf_counter() - t0}


def main() -> None:
    def _run() -> None:
        r = export()
        print(f"export: {r['rows']:,} clean calls -> {r['parquet']} and {r['csv']} "
              f"in {r['seconds']:.1f} s")  # fmt: skip

    run_cli(_run)


if __name__ == "__main__":
    main()
