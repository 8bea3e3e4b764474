"""Opening the warehouse with errors a person can act on, and the raw landing DDL."""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import duckdb
import yaml

from api_trust.contract import PROJECT_ROOT, db_path
from api_trust.landing import ensure_view, sql_literal

RAW_DDL_MACRO = PROJECT_ROOT / "macros" / "create_raw_landing_tables.sql"
PROFILES = PROJECT_ROOT / "profiles.yml"
_ENV_VAR = re.compile(r"""\{\{\s*env_var\(\s*'([^']+)'\s*(?:,\s*'([^']*)'\s*)?\)\s*\}\}""")


class WarehouseError(RuntimeError):
    """A problem the user can fix; main() prints its message on one line and exits 1."""


def raw_landing_ddl() -> str:
    """The body of the dbt macro `create_raw_landing_tables`: the single source of the raw DDL."""
    text = RAW_DDL_MACRO.read_text(encoding="utf-8")
    match = re.search(
        r"{%\s*macro create_raw_landing_tables\(\)\s*%}(.*?){%\s*endmacro\s*%}", text, re.S
    )
    if not match:
        raise WarehouseError(f"cannot find the raw landing DDL in {RAW_DDL_MACRO}")
    return match.group(1)


def dev_target() -> dict:
    """profiles.yml's dev target (DuckDB), as written."""
    return yaml.safe_load(PROFILES.read_text(encoding="utf-8"))["api_trust"]["outputs"]["dev"]


def _env_resolved(value: object, env: dict[str, str]) -> str:
    """A profile value with its env_var('NAME', 'default') calls replaced as dbt would."""
    return _ENV_VAR.sub(lambda m: env.get(m.group(1), m.group(2) or ""), str(value))


def duckdb_settings(path: Path | None = None) -> dict[str, str]:
    """The DuckDB settings of profiles.yml's dev target, env_var() resolved: dbt's and ours.

    An env_var naming API_TRUST_DB resolves to the warehouse being opened.
    """
    settings = dev_target().get("settings", {})
    env = dict(os.environ, API_TRUST_DB=str(path or db_path()))
    return {key: _env_resolved(value, env) for key, value in settings.items()}


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_query_threads(value: str, models_at_once: int | str = 1) -> int | None:
    """profiles.yml's `query_threads` (the plugin's config) as DuckDB's threads per query:
    None leaves DuckDB's own default (one per core). `auto` shares the cores among the
    models dbt builds at once (`models_at_once`: a Python command runs one query at a
    time, so every core), `all` is DuckDB's own, else a whole number, 1 or more."""
    text = str(value).strip().lower()
    if text == "all":
        return None
    if text == "auto":
        at_once = max(1, int(models_at_once))
        return None if at_once == 1 else max(1, usable_cores() // at_once)
    if not text.isdigit() or int(text) < 1:
        raise WarehouseError(
            f"API_TRUST_DUCKDB_THREADS={str(value).strip()!r}: give `auto`, `all` or a whole "
            "number of threads, 1 or more"
        )
    return int(text)


def query_threads_setting() -> str:
    """profiles.yml's plugin config `query_threads`, env_var() resolved (`all` when none)."""
    for plugin in dev_target().get("plugins") or []:
        value = (plugin.get("config") or {}).get("query_threads")
        if value is not None:
            return _env_resolved(value, dict(os.environ))
    return "all"


def query_threads() -> int | None:
    """DuckDB's threads per query for a Python command, as profiles.yml's plugin config says."""
    return parse_query_threads(query_threads_setting())


def creation_config() -> dict[str, str]:
    """profiles.yml's config_options: what DuckDB is told when it creates a warehouse file."""
    return {key: str(value) for key, value in (dev_target().get("config_options") or {}).items()}


def apply_settings(con: duckdb.DuckDBPyConnection, path: Path | None = None) -> None:
    """Give a connection the warehouse's DuckDB settings (memory limit, spill folder, ...)."""
    for key, value in duckdb_settings(path).items():
        # a literal, not a bound parameter: binding a parameter makes duckdb import pandas
        # (0.6 s on every command that opens the warehouse)
        con.execute(f"set {key} = {sql_literal(value)}")
    threads = query_threads()
    if threads is not None:
        con.execute(f"set threads = {threads}")


def lock_message(path: Path, err: Exception) -> str:
    holder = re.search(r"held in (.+?) \(PID (\d+)\)", str(err))
    who = f" by {holder.group(1)} (PID {holder.group(2)})" if holder else ""
    return (
        f"the warehouse {path} is locked{who}: close the DuckDB CLI, notebook or other "
        "program that has it open (even read-only), then run this again"
    )


def connect(path: Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a lock held by another process becomes a WarehouseError saying what to close."""
    path = path or db_path()
    if read_only and not path.exists():
        raise WarehouseError(
            f"no warehouse at {path}: run `make demo` (or `make generate build`) first"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # an existing file keeps its own storage version: the options matter only to a new one
        config = creation_config() if not path.exists() else {}
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as err:
        if "lock" in str(err).lower():
            raise WarehouseError(lock_message(path, err)) from None
        raise WarehouseError(f"cannot open the warehouse {path}: {err}") from None
    try:
        apply_settings(con, path)
    except WarehouseError:
        con.close()
        raise
    # Our commands print their own progress lines; DuckDB's bar would garble logs.
    con.execute("set enable_progress_bar = false")
    return con


def ensure_raw_tables(con: duckdb.DuckDBPyConnection, path: Path | None = None) -> None:
    """Every raw relation, and raw.api_calls as the view over the warehouse's landed files."""
    con.execute(raw_landing_ddl())
    ensure_view(con, path or db_path())


def run_cli(main_fn) -> None:
    """Run a command's main; turn WarehouseError into one clear stderr line and exit 1."""
    try:
        main_fn()
    except WarehouseError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def names_from_env(variable: str) -> list[str]:
    """File or batch names that `make` handed over in an environment variable.

    The Makefile never pastes names into a shell command: it exports them unexpanded,
    and they are split here the way a shell would split words (quotes group a name
    with spaces: FILES="'my logs.csv' b.csv"), without running anything. A value that
    does not parse as shell words (a lone quote in a name) is split on whitespace.
    """
    text = os.environ.get(variable, "")
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def check_unlocked() -> None:
    """Exit 1 with a clear message if another process holds the warehouse (used before `dbt build`)."""
    path = db_path()
    if not path.exists():
        return
    con = connect(path)
    try:
        # a warehouse moved since its last landing gets its view's path right again
        ensure_raw_tables(con, path)
    finally:
        con.close()


if __name__ == "__main__":
    run_cli(check_unlocked)
