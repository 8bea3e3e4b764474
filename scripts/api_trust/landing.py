"""Where landed records live: Parquet files beside the warehouse, read through one view.

Every record lands as delivered (text, personal data masked) in a Parquet file
of its batch, `<warehouse>.landing/api_calls/<batch_id>/part-NNNNN.parquet`,
and `raw.api_calls` is a view over all of them. Measured by `make bench`
(Landing options): writing the records as Parquet text is about 2.3x faster
than writing them into a DuckDB table as text, the files take about half the
space, and a scan of them is as fast. The values are the delivered text, so
nothing about "as delivered" changes, and it is the shape Spark reads.

The columns and their types are the `raw.api_calls` table of the raw landing
DDL (macros/create_raw_landing_tables.sql), which stays the one contract: a
warehouse that dbt made before any landing has that (empty) table, and the
first landing replaces it with the view, moving any records it holds into
files. An empty schema file (`_schema/`) keeps the view valid with no batch.

The generator's records land typed instead (`gen-NNNNN.parquet` in the same
batch folders): numbers, times and id numbers as such, its few-valued text as
dictionary-encoded text, and the value its dirt planted in a record, masked, in
`planted_value`, with a bit of `planted_mask` naming its column. The view turns them
into the text the generator delivers (`GENERATED_TEXT`, the one definition of
that text, which the generator's dirt also reads), so raw.api_calls shows the
same records either way. Writing 1M generated records typed took 0.4 CPU-seconds
against 1.2 as text, and reading them back as text 0.25 s against 0.11 s for text
files (2026-12-03, by hand); `make bench` shows the effect as generate+land
against its anchor writer.

The files and `raw.load_batches` are kept in step: a batch's files are written
inside the landing's transaction and removed when it rolls back; a batch folder
with no `raw.load_batches` row (a landing killed before its commit, or an
unload killed after its commit) is removed the next time a command lands.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from datetime import datetime
from functools import cache
from pathlib import Path

import duckdb

from api_trust.contract import LINEAGE_COLUMNS

SCHEMA_FOLDER = "_schema"
TEXT_PARTS = "part-*.parquet"
GENERATED_PARTS = "gen-*.parquet"

# The text the generator delivers for each raw column it fills, from the columns of
# its typed files (GENERATED_COLUMNS); a planted value replaces it (generated_text_sql).
GENERATED_TEXT: dict[str, str] = {
    "request_id": "printf('%s%010d', request_prefix, request_no)",
    "timestamp": (
        "case when timestamp_as_epoch then cast(called_at_ms as varchar) "
        "else cast(epoch_ms(called_at_ms) as varchar) end"
    ),
    "api_name": "api_name",
    "api_version": "api_version",
    "region": "region",
    "client_type": "client_type",
    "client_id": "client_id",
    "document_type": "document_type",
    "verification_id": "printf('%s%010d', verification_prefix, verification_no)",
    "attempt_no": "cast(attempt_no as varchar)",
    "status": "status",
    "status_code": "cast(status_code as varchar)",
    "latency_ms": "cast(latency_ms as varchar)",
    "error_reason": "error_reason",
    "error_message": "error_message",
    "extra_fields": "extra_fields",
}
# The values of a generated record (the generator's frame has these columns, in order),
# then its planted values, then its lineage.
GENERATED_VALUES: tuple[tuple[str, str], ...] = (
    ("request_prefix", "VARCHAR"), ("request_no", "BIGINT"),
    ("timestamp_as_epoch", "BOOLEAN"), ("called_at_ms", "BIGINT"),
    ("api_name", "VARCHAR"), ("api_version", "VARCHAR"), ("region", "VARCHAR"),
    ("client_type", "VARCHAR"), ("client_id", "VARCHAR"), ("document_type", "VARCHAR"),
    ("verification_prefix", "VARCHAR"), ("verification_no", "BIGINT"),
    ("attempt_no", "BIGINT"), ("status", "VARCHAR"), ("status_code", "INTEGER"),
    ("latency_ms", "BIGINT"), ("error_reason", "VARCHAR"), ("error_message", "VARCHAR"),
    ("extra_fields", "VARCHAR"), ("source_record_no", "BIGINT"),
)  # fmt: skip
# A dirty record has exactly one planted value (dirt.py), so one text column holds it
# and a bit of planted_mask says which column it replaces: a column per raw column
# (16, nearly all null) cost a fifth of writing a chunk.
GENERATED_COLUMNS: tuple[tuple[str, str], ...] = (
    *GENERATED_VALUES,
    ("planted_mask", "INTEGER"), ("planted_value", "VARCHAR"),
    ("batch_id", "VARCHAR"), ("source_name", "VARCHAR"), ("loaded_at", "TIMESTAMP"),
)  # fmt: skip


def planted_bit(column: str) -> int:
    """The bit of `planted_mask` that says a record's `column` holds the planted value."""
    return 1 << list(GENERATED_TEXT).index(column)


def unplanted_sql() -> str:
    """The planted columns of a generated record with nothing planted (select-list items)."""
    return "0 as planted_mask, cast(null as varchar) as planted_value"


def generated_text_sql(column: str) -> str:
    """A raw column's text in a generated file: the planted value where one was planted
    in it (a planted null included), else the text the generator delivers."""
    return (
        f"case when planted_mask & {planted_bit(column)} <> 0 "
        f"then planted_value else {GENERATED_TEXT[column]} end"
    )


def landing_dir(db: Path) -> Path:
    """The folder of a warehouse's landed files: `<warehouse file>.landing`."""
    return db.with_name(db.name + ".landing")


def tables_dir(db: Path) -> Path:
    """The folder of a warehouse's models stored as files (macros/batch_files.sql):
    `<warehouse file>.tables`."""
    return db.with_name(db.name + ".tables")


def batch_dir(db: Path, batch_id: str) -> Path:
    if not batch_id or "/" in batch_id or batch_id.startswith((".", "_")):
        raise ValueError(f"not a batch id for a folder name: {batch_id!r}")
    return landing_dir(db) / "api_calls" / batch_id


def sql_literal(text: str) -> str:
    """A SQL string literal (standard quoting: a quote doubled)."""
    return "'" + text.replace("'", "''") + "'"


def sql_value(value: object) -> str:
    """A Python value as a SQL literal (None, bool, int, float, str, datetime, or a list of them).

    The loaders render values into their statements instead of binding parameters:
    DuckDB's Python client imports pandas on the first bound parameter, which costs a
    command 0.5-1.7 s (measured on this machine) before it reads a line. A NUL, which
    cannot stand in a query's text, is spelled `chr(0)`.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"cast({sql_literal(repr(value))} as double)"
    if isinstance(value, datetime):
        return f"timestamp {sql_literal(value.isoformat(sep=' '))}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(sql_value(v) for v in value) + "]"
    text = str(value)
    if "\x00" in text:
        return "(" + " || chr(0) || ".join(sql_literal(part) for part in text.split("\x00")) + ")"
    return sql_literal(text)


def sql_row(values: list | tuple) -> str:
    """One row of a VALUES list: `(v1, v2, ...)`, each value by `sql_value`."""
    return "(" + ", ".join(sql_value(v) for v in values) + ")"


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted (a double quote doubled)."""
    return '"' + name.replace('"', '""') + '"'


@cache
def raw_columns() -> tuple[tuple[str, str], ...]:
    """(name, type) of raw.api_calls, in order, as the raw landing DDL declares them."""
    from api_trust.warehouse import raw_landing_ddl

    con = duckdb.connect()
    con.execute(raw_landing_ddl())
    cols = con.execute("describe raw.api_calls").fetchall()
    con.close()
    return tuple((name, typ) for name, typ, *_ in cols)


def _typed_select(present: set[str]) -> str:
    """Every raw column in order, cast to its declared type; a column absent from the
    source is null."""
    return ", ".join(
        f"cast({quote_ident(c) if c in present else 'null'} as {t}) as {quote_ident(c)}"
        for c, t in raw_columns()
    )


# How every landed file is written. zstd at level 1: a generated 1M-record chunk wrote in
# 0.50-0.53 CPU-seconds against 0.58-0.65 at the default level 3, to a file of the same
# size (14.9 MB; 2026-12-03). Version 2 pages (delta encodings for text): 1M landed JSON
# lines wrote in 0.44 s against 0.61 (a 1M-record JSON-lines load 2.49 -> 2.26 s), 3M
# generated records took 16% less disk and a scan of every raw column as text 0.99 s
# against 1.05 (2026-12-04). Spark never reads these files (api_trust.spark copies raw).
PARQUET_OPTIONS = "format parquet, compression zstd, compression_level 1, parquet_version v2"


def _copy_to_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> int:
    """The one way a landed file is written (PARQUET_OPTIONS); returns how many records it
    holds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = con.execute(
        f"copy ({query}) to {sql_literal(str(target))} ({PARQUET_OPTIONS})"
    ).fetchone()
    return int(written[0]) if written else 0


def write_part(
    con: duckdb.DuckDBPyConnection, db: Path, batch_id: str, query: str, part: int
) -> int:
    """Write the records of `query` (columns named as raw.api_calls', any subset, no bound
    parameters) as one Parquet file of the batch; returns how many it wrote."""
    present = {row[0] for row in con.execute(f"describe {query}").fetchall()}
    target = batch_dir(db, batch_id) / f"part-{part:05d}.parquet"
    return _copy_to_parquet(con, f"select {_typed_select(present)} from ({query}) q", target)


def write_generated_part(
    con: duckdb.DuckDBPyConnection, db: Path, batch_id: str, query: str, part: int
) -> int:
    """Write generated records (the columns of GENERATED_COLUMNS, in order) as one typed
    file of the batch; returns how many it wrote."""
    target = batch_dir(db, batch_id) / f"gen-{part:05d}.parquet"
    return _copy_to_parquet(con, query, target)


def _generated_select(planted: bool) -> str:
    """Every raw column in order from a generated file: its text, or null where the
    generator fills none. `planted`: for records with a planted value (else the
    generator's text as is)."""
    out = []
    for c, t in raw_columns():
        if c in GENERATED_TEXT:
            expr = generated_text_sql(c) if planted else GENERATED_TEXT[c]
        elif c in LINEAGE_COLUMNS:
            expr = quote_ident(c)
        else:
            expr = "null"
        out.append(f"cast({expr} as {t}) as {quote_ident(c)}")
    return ", ".join(out)


def _upgrade_generated_files(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """Rewrite generated files of the first typed layout (2026-12-03 morning: a
    `planted__<column>` per raw column) in the current one, value for value: a record's
    one planted value moves to `planted_value`, its bit in planted_mask unchanged."""
    old_columns = [f"planted__{c}" for c in GENERATED_TEXT]
    # one read of every generated file's footer names the old ones
    files = sql_literal(str(root / "*" / GENERATED_PARTS))
    old = con.execute(
        f"select distinct file_name from parquet_schema({files}) "
        f"where name = {sql_literal(old_columns[0])} order by 1"
    ).fetchall()
    planted = f"coalesce({', '.join(quote_ident(c) for c in old_columns)})"
    select = ", ".join(
        planted + " as planted_value" if c == "planted_value" else quote_ident(c)
        for c, _ in GENERATED_COLUMNS
    )
    for k, (file_name,) in enumerate(old, start=1):
        path = Path(file_name)
        # a one-off rewrite (about 0.5 s per 1M records): say what is taking the time
        print(f"landing: rewriting generated file {k}/{len(old)} in the current layout: {path}",
              file=sys.stderr, flush=True)  # fmt: skip
        source = f"read_parquet({sql_literal(file_name)})"
        rewritten = path.with_name(path.name + ".upgrade")
        _copy_to_parquet(con, f"select {select} from {source}", rewritten)
        rewritten.replace(path)


def drop_batch(db: Path, batch_id: str) -> None:
    shutil.rmtree(batch_dir(db, batch_id), ignore_errors=True)


def drop_all(db: Path) -> None:
    shutil.rmtree(landing_dir(db) / "api_calls", ignore_errors=True)


def _kind(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute(
        "select table_type from information_schema.tables "
        "where table_schema = 'raw' and table_name = 'api_calls'"
    ).fetchone()
    return row[0] if row else None


def ensure_view(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    """Make raw.api_calls the view over this warehouse's files (after the raw DDL ran):
    write the schema file, move a table's records into files, drop orphan folders."""
    root = landing_dir(db) / "api_calls"
    schema = root / SCHEMA_FOLDER / "part-00000.parquet"
    if not schema.exists():
        _copy_to_parquet(con, f"select {_typed_select(set())} limit 0", schema)
    generated_schema = root / SCHEMA_FOLDER / "gen-00000.parquet"
    if not generated_schema.exists():
        empty = ", ".join(f"cast(null as {t}) as {quote_ident(c)}" for c, t in GENERATED_COLUMNS)
        _copy_to_parquet(con, f"select {empty} limit 0", generated_schema)
    _upgrade_generated_files(con, root)
    if _kind(con) == "BASE TABLE":
        # a warehouse from before Parquet landing, or one dbt made: its records move to files
        migrated = [b for (b,) in con.execute(
            "select distinct batch_id from raw.api_calls order by 1").fetchall()]  # fmt: skip
        for batch_id in migrated:
            query = f"select * from raw.api_calls where batch_id = {sql_literal(batch_id)}"
            write_part(con, db, batch_id, query, 0)
        con.execute("drop table raw.api_calls")
    else:
        migrated = []
    # records that were in the table stay, with or without a batch row
    known = {b for (b,) in con.execute("select batch_id from raw.load_batches").fetchall()}
    known.update(migrated)
    for folder in root.iterdir():
        if folder.name != SCHEMA_FOLDER and folder.name not in known:
            shutil.rmtree(folder, ignore_errors=True)
    cols = ", ".join(quote_ident(c) for c, _ in raw_columns())
    text = sql_literal(str(root / "*" / TEXT_PARTS))
    generated = sql_literal(str(root / "*" / GENERATED_PARTS))
    # The generated records in two parts, those with a planted value and the rest (about
    # 97%), which read their few-valued text straight from the files: a `case` over a
    # column turns its dictionary-encoded values into one value a row, and every function
    # that staging and validation apply to it then runs once a row instead of once a
    # distinct value (10M records: the region's lookup key 1.26 CPU-s against 0.26 s)
    definition = f"""
        select {cols} from read_parquet({text}, union_by_name = true)
        union all
        select {_generated_select(planted=False)} from read_parquet({generated})
        where planted_mask = 0 or planted_mask is null
        union all
        select {_generated_select(planted=True)} from read_parquet({generated})
        where planted_mask <> 0
    """
    # The view is replaced only when its definition changes (a fingerprint in its comment):
    # replacing it makes the next checkpoint, at the latest when the connection closes,
    # rewrite the catalog (0.5 s on a 10M-row warehouse, on every load and build).
    comment = (
        "Every landed record as delivered, read from this warehouse's Parquet files "
        f"(view definition {hashlib.sha256(definition.encode()).hexdigest()[:16]})"
    )
    current = con.execute(
        "select comment from duckdb_views() where schema_name = 'raw' and view_name = 'api_calls'"
    ).fetchone()
    if current is None or current[0] != comment:
        con.execute(f"create or replace view raw.api_calls as {definition}")
        con.execute(f"comment on view raw.api_calls is {sql_literal(comment)}")


__all__ = ["GENERATED_COLUMNS", "GENERATED_TEXT", "GENERATED_VALUES", "batch_dir", "drop_all",
           "drop_batch", "ensure_view", "generated_text_sql", "landing_dir", "planted_bit",
           "quote_ident", "raw_columns", "sql_literal", "sql_row", "sql_value", "tables_dir", "unplanted_sql",
           "write_generated_part", "write_part"]  # fmt: skip
