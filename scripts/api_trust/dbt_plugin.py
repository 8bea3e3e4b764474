"""A dbt-duckdb plugin (profiles.yml `plugins:`): a warehouse another process holds is
one clear error from plain `dbt build`, not DuckDB's exception and two tracebacks.

DuckDB lets one process write a database file, or many read it, never both: a DuckDB
CLI left open, even `-readonly`, makes every dbt command fail to lock the file. dbt-duckdb
calls `update_connection_config` just before it opens the file. The plugin reads the
kernel's table of file locks (`/proc/locks`: DuckDB locks its file with POSIX record
locks) without opening the file, since closing any descriptor of a file drops every
lock this process holds on it. Only when another process holds one does it open the file,
to learn who from DuckDB, for the same message `make build` and every Python command
give (`warehouse.lock_message`). Without `/proc/locks` (not Linux), DuckDB's own error
stands.

It also gives dbt's connection the three file operations that a model stored as Parquet
files needs (macros/batch_files.sql), as SQL functions: DuckDB writes and reads files but
cannot rename or remove one. They act only inside the warehouse's `<warehouse>.tables`
folder.

Last, it gives DuckDB the number of threads per query that profiles.yml's plugin config
`query_threads` names (`API_TRUST_DUCKDB_THREADS`; `auto`, the default, shares the cores
among the models dbt builds at once). A setting under `settings:` could not default to
the machine's core count.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError

from api_trust.landing import tables_dir
from api_trust.warehouse import WarehouseError, lock_message, parse_query_threads

# "1: POSIX  ADVISORY  READ 23784 fe:00:2359297 0 EOF" (a waiter's line has "->" after "1:")
LOCK_LINE = re.compile(r"\s(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s")


def lock_holders(path: Path, locks: Path = Path("/proc/locks")) -> set[int]:
    """The other processes that hold a lock on the file (empty when none, or unknown)."""
    try:
        st = path.stat()
        table = locks.read_text()
    except OSError:
        return set()
    key = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    holders = set()
    for line in table.splitlines():
        m = LOCK_LINE.search(line)
        if m and "->" not in line and (int(m[2], 16), int(m[3], 16), int(m[4])) == key:
            holders.add(int(m[1]))
    return holders - {os.getpid()}


class ModelFiles:
    """File operations on the models' folders under one warehouse's `.tables` folder."""

    def __init__(self, db: Path) -> None:
        self.root = tables_dir(db.resolve())

    def _inside(self, path: str) -> Path:
        resolved = Path(path).resolve()
        if self.root not in resolved.parents:
            raise ValueError(f"not a file of {self.root}: {path}")
        return resolved

    def folder(self, schema: str, name: str) -> str:
        """A model's folder (made if missing), absolute, as the view over its files names it."""
        folder = self._inside(str(self.root / schema / name))
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)

    def remove(self, path: str) -> str:
        target = self._inside(path)
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
        return str(target)

    def rename(self, source: str, target: str) -> str:
        moved = self._inside(target)
        os.replace(self._inside(source), moved)
        return str(moved)

    def register(self, conn: duckdb.DuckDBPyConnection) -> None:
        text = duckdb.sqltype("VARCHAR")
        for name, func, arity in (
            ("api_trust_model_folder", self.folder, 2),
            ("api_trust_remove_file", self.remove, 1),
            ("api_trust_rename_file", self.rename, 2),
        ):
            conn.create_function(name, func, [text] * arity, text, side_effects=True)


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        try:
            self.threads = parse_query_threads(
                plugin_config.get("query_threads", "all"), plugin_config.get("models_at_once", 1)
            )
        except WarehouseError as err:
            raise DbtRuntimeError(str(err)) from None

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        path = Path(str(creds.path))
        if str(creds.path) == ":memory:" or not lock_holders(path):
            return
        try:
            duckdb.connect(str(path)).close()
        except duckdb.IOException as err:
            raise DbtRuntimeError(lock_message(path, err)) from None

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        row = conn.execute(
            "select path from duckdb_databases() where database_name = current_database()"
        ).fetchone()
        if row and row[0]:
            ModelFiles(Path(row[0])).register(conn)
        if self.threads is not None:
            conn.execute(f"set threads = {self.threads}")
