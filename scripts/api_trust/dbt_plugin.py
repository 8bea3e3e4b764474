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
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError

from api_trust.warehouse import lock_message

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


class Plugin(BasePlugin):
    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        path = Path(str(creds.path))
        if str(creds.path) == ":memory:" or not lock_holders(path):
            return
        try:
            duckdb.connect(str(path)).close()
        except duckdb.IOException as err:
            raise DbtRuntimeError(lock_message(path, err)) from None
