"""DuckDB's memory limit, spill folder and insertion order live in profiles.yml, once.

dbt reads them from its profile; every Python command opens the warehouse through
warehouse.connect, which reads the same profile. Both sides are asked what they got.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from api_trust import bench_refs
from api_trust.dbt_plugin import ModelFiles, lock_holders
from api_trust.warehouse import (
    WarehouseError,
    apply_settings,
    connect,
    creation_config,
    duckdb_settings,
    usable_cores,
)
from conftest import ROOT, Warehouse, dbt, held, run

SHOWN = (
    "memory_limit", "temp_directory", "preserve_insertion_order", "block_allocator_memory", "threads",
)  # fmt: skip


def settings_of(con) -> dict[str, str]:
    rows = con.execute(
        "select name, value from duckdb_settings() where name in ?", [list(SHOWN)]
    ).fetchall()
    return dict(rows)


def test_python_connections_take_the_profiles_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "w.duckdb"
    monkeypatch.setenv("API_TRUST_MEMORY_LIMIT", "1GB")
    monkeypatch.delenv("API_TRUST_BLOCK_MEMORY", raising=False)
    assert duckdb_settings(db)["memory_limit"] == "1GB"
    con = connect(db)
    try:
        got = settings_of(con)
    finally:
        con.close()
    assert got["memory_limit"] == "953.6 MiB"  # DuckDB shows 1GB (10^9 bytes) in MiB
    assert got["temp_directory"] == f"{db}.tmp"  # DuckDB's default: beside the warehouse
    assert got["preserve_insertion_order"] == "false"
    assert got["block_allocator_memory"] == "0 bytes"  # DuckDB's own: off unless asked
    monkeypatch.setenv("API_TRUST_BLOCK_MEMORY", "1GB")
    con = connect(db)
    try:
        assert settings_of(con)["block_allocator_memory"] == "953.6 MiB"
    finally:
        con.close()


def _shown(proc) -> list[dict]:
    """The rows of a `dbt show --output json --log-format json`."""
    rows = None
    for line in proc.stdout.splitlines():
        try:
            preview = json.loads(line).get("data", {}).get("preview")
        except ValueError:
            continue
        if preview:
            rows = json.loads(preview)
    assert rows is not None, proc.stdout[-2000:]
    return rows


def test_dbt_and_python_open_the_warehouse_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "warehouse.duckdb"
    # what conftest.tool_env gives every dbt command of the tests
    monkeypatch.setenv("API_TRUST_DUCKDB_THREADS", "1")
    con = connect(db)
    try:
        python_side = settings_of(con)
    finally:
        con.close()
    shown = dbt(
        db, tmp_path, "show", "--output", "json", "--log-format", "json", "--inline",
        f"select name, value from duckdb_settings() where name in {tuple(SHOWN)}",
    )  # fmt: skip
    rows = _shown(shown)
    dbt_side = {r["name"]: r["value"] for r in rows}
    # dbt names the warehouse relative to its folder; the spill folder follows it
    assert (
        Path(tmp_path, dbt_side.pop("temp_directory")).resolve()
        == Path(python_side.pop("temp_directory")).resolve()
    )
    assert dbt_side == python_side
    assert python_side["memory_limit"] != settings_of_default()
    assert python_side["threads"] == "1"


def test_query_threads_default_to_duckdbs_own_and_a_bad_value_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """profiles.yml's `query_threads` (API_TRUST_DUCKDB_THREADS): `auto`, the default,
    leaves a Python command DuckDB's own one thread per core (it runs one query at a time);
    anything but `auto`, `all` or a positive whole number is refused by Python commands and
    by dbt alike, saying what to give."""
    import duckdb

    db = tmp_path / "warehouse.duckdb"
    own = duckdb.connect().execute("select current_setting('threads')").fetchone()[0]
    monkeypatch.delenv("API_TRUST_DUCKDB_THREADS", raising=False)
    con = connect(db)
    try:
        assert con.execute("select current_setting('threads')").fetchone()[0] == own
    finally:
        con.close()
    monkeypatch.setenv("API_TRUST_DUCKDB_THREADS", "two")
    with pytest.raises(
        WarehouseError, match="API_TRUST_DUCKDB_THREADS='two': give `auto`, `all` or"
    ):
        connect(db)
    proc = run(
        [sys.executable, "-m", "api_trust.report"], db, tmp_path, check=False,
        extra_env={"API_TRUST_DUCKDB_THREADS": "0"},
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "API_TRUST_DUCKDB_THREADS='0': give `auto`, `all` or" in proc.stderr, proc.stderr
    seeded = dbt(
        db, tmp_path, "seed", "--select", "api_catalogue", check=False,
        extra_env={"API_TRUST_DUCKDB_THREADS": "-2"},
    )  # fmt: skip
    out = seeded.stdout + seeded.stderr
    assert seeded.returncode != 0 and "Traceback" not in out, out
    assert "API_TRUST_DUCKDB_THREADS='-2': give `auto`, `all` or" in out, out


def storage_version(db: Path) -> str:
    return Warehouse(db, db.parent).scalar(
        "select tags['storage_version'] from duckdb_databases() where database_name = current_database()"
    )


def test_auto_threads_share_the_cores_and_a_model_run_alone_takes_them_all(tmp_path: Path) -> None:
    """Under `auto` dbt gives each query the cores shared among the models it builds at
    once; the validation model's hooks give DuckDB every core while it runs, then share
    them again. Under a number the hooks do nothing: the user's count holds."""
    import duckdb

    db = tmp_path / "warehouse.duckdb"
    connect(db).close()
    auto = {"API_TRUST_DUCKDB_THREADS": "auto", "API_TRUST_THREADS": "2"}
    shown = dbt(
        db, tmp_path, "show", "--output", "json", "--log-format", "json", "--inline",
        "select current_setting('threads') as n", extra_env=auto,
    )  # fmt: skip
    assert _shown(shown) == [{"n": max(1, usable_cores() // 2)}]
    hooks = {}
    for name in ("query_threads_for_a_model_run_alone", "query_threads_shared_again"):
        for mode, env in (("auto", auto), ("one", {"API_TRUST_DUCKDB_THREADS": "1"})):
            compiled = dbt(db, tmp_path, "compile", "--quiet", "--inline",
                           f"{{{{ api_trust.{name}() }}}}", extra_env=env)  # fmt: skip
            hooks[name, mode] = compiled.stdout.strip()
    assert hooks["query_threads_for_a_model_run_alone", "one"] == ""
    assert hooks["query_threads_shared_again", "one"] == ""
    con = duckdb.connect()
    try:
        every_core = con.execute("select current_setting('threads')").fetchone()[0]
        con.execute("set threads = 1")  # what the plugin shares out
        con.execute(hooks["query_threads_for_a_model_run_alone", "auto"])
        assert con.execute("select current_setting('threads')").fetchone()[0] == every_core
        con.execute(hooks["query_threads_shared_again", "auto"])
        assert con.execute("select current_setting('threads')").fetchone()[0] == 1
    finally:
        con.close()
    # the validation model carries both hooks
    validated = (ROOT / "models" / "intermediate" / "int_api_calls_validated.sql").read_text()
    assert "query_threads_for_a_model_run_alone()" in validated
    assert "query_threads_shared_again()" in validated

    # and runs alone: every other model that reads the landed records whole (the personal-data
    # scan) waits for it, or a full build puts three busy threads on two cores
    def models(selector: str) -> set[str]:
        listed = dbt(db, tmp_path, "ls", "--quiet", "--resource-type", "model",
                     "--output", "name", "--select", selector)  # fmt: skip
        return set(listed.stdout.split())

    readers = models("source:logs.api_calls+1")
    assert {"stg_logs__api_calls", "int_landed_batches_scanned_for_pii"} <= readers
    related = models("+int_api_calls_validated int_api_calls_validated+")
    assert readers <= related, readers - related


def test_new_warehouses_take_the_profiles_storage_version_and_old_ones_keep_theirs(
    tmp_path: Path,
) -> None:
    """A file dbt or Python creates (the bench's anchor writer too) is in the format
    profiles.yml names (DuckDB 1.5's, which writes tables in less CPU); a file created in
    another format is opened, not rewritten."""
    import duckdb

    wanted = creation_config()["storage_compatibility_version"]
    by_python = tmp_path / "python.duckdb"
    connect(by_python).close()
    # the test dbt server's manifest names the catalog `warehouse`, after the file
    by_dbt = tmp_path / "dbt" / "warehouse.duckdb"
    by_dbt.parent.mkdir()
    dbt(by_dbt, by_dbt.parent, "seed", "--quiet", "--select", "api_catalogue")
    # the bench's anchor writer, the yardstick of the landing, writes the same format
    anchor_file = tmp_path / "anchor.duckdb"
    assert bench_refs.anchor(2_000, anchor_file)["rows"] == 2_000
    older = tmp_path / "older.duckdb"
    duckdb.connect(str(older), config={"storage_compatibility_version": "v1.0.0"}).close()
    connect(older).close()
    assert storage_version(by_python) == storage_version(by_dbt) == f"{wanted}+"
    assert storage_version(anchor_file) == f"{wanted}+"
    assert storage_version(older) == "v1.0.0+" != f"{wanted}+"


def settings_of_default() -> str:
    """DuckDB's own default limit (80% of RAM), which the profile replaces."""
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute("select current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()


def test_settings_apply_again_after_a_query_spilled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt-duckdb applies the profile's settings to every new cursor. DuckDB refuses to set
    temp_directory again once a query spilled (even to the same folder), which failed a
    10M-row build at its first cursor after a spill: no setting in the profile may do that."""
    db = tmp_path / "w.duckdb"
    monkeypatch.setenv("API_TRUST_MEMORY_LIMIT", "40MB")
    con = connect(db)
    try:
        con.execute("set threads = 1")
        con.execute(
            "create table t as select i, md5(cast(i as varchar)) as s from range(2000000) r(i)"
        )
        con.execute("create table sorted as select * from t order by s")
        spilled = Path(f"{db}.tmp")
        assert spilled.exists(), "the sort did not spill: the test proves nothing"
        cursor = con.cursor()
        apply_settings(cursor, db)  # what dbt-duckdb does on each new cursor
        assert cursor.execute("select count(*) from sorted").fetchone()[0] == 2_000_000
    finally:
        con.close()


def test_plain_dbt_on_a_held_warehouse_says_what_to_close(tmp_path: Path) -> None:
    """A DuckDB CLI left open, even read-only, is one line naming it, not a traceback."""
    db = tmp_path / "warehouse.duckdb"
    connect(db).close()
    with held(db, read_only=True) as pid:
        proc = dbt(db, tmp_path, "seed", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"is locked by {sys.executable}" in out or f"(PID {pid})" in out, out
    assert "close the DuckDB CLI" in out and "Traceback" not in out, out
    # once the holder is gone, the same command works
    assert dbt(db, tmp_path, "seed", check=False).returncode == 0


def test_lock_holders_reads_the_kernels_lock_table(tmp_path: Path) -> None:
    target = tmp_path / "w.duckdb"
    target.write_bytes(b"")
    st = target.stat()
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    other = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino + 1}"
    locks = tmp_path / "locks"
    locks.write_text(
        f"1: POSIX  ADVISORY  READ 4242 {key} 0 EOF\n"
        f"1: -> POSIX  ADVISORY  WRITE 4343 {key} 0 EOF\n"  # a waiter holds nothing
        f"2: POSIX  ADVISORY  WRITE {os.getpid()} {key} 0 EOF\n"  # this process is not another
        f"3: POSIX  ADVISORY  WRITE 4444 {other} 0 EOF\n"  # another file
    )
    assert lock_holders(target, locks) == {4242}
    assert lock_holders(target, tmp_path / "no_such_table") == set()
    assert lock_holders(tmp_path / "no_such_file", locks) == set()


@pytest.mark.parametrize(("given", "advised"), [(None, "False"), ("1", "True")])
def test_commands_run_numpy_without_huge_page_advice_unless_asked(
    given: str | None, advised: str
) -> None:
    """Importing a command turns numpy's huge-page advice off (it made the kernel compact
    memory on the spot: benchmarks/HISTORY.md); NUMPY_MADVISE_HUGEPAGE set by the user wins."""
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if given is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = given
    code = (
        "import api_trust.generate, numpy._core.multiarray as m; print(m._get_madvise_hugepage())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == advised


def test_model_files_act_only_inside_the_warehouses_tables_folder(tmp_path: Path) -> None:
    """The dbt plugin's file functions (macros/batch_files.sql) make, rename and remove files
    of a model's folder, and refuse any path outside `<warehouse>.tables`."""
    files = ModelFiles(tmp_path / "w.duckdb")
    folder = Path(files.folder("intermediate", "a_model"))
    assert folder == tmp_path / "w.duckdb.tables" / "intermediate" / "a_model" and folder.is_dir()
    (folder / "x.pending").write_text("rows")
    assert files.rename(str(folder / "x.pending"), str(folder / "x.parquet")) == str(
        folder / "x.parquet"
    )
    assert (folder / "x.parquet").read_text() == "rows" and not (folder / "x.pending").exists()
    outside = tmp_path / "keep.txt"
    outside.write_text("mine")
    for call in (
        lambda: files.remove(str(outside)),
        lambda: files.remove(str(folder / ".." / ".." / ".." / "keep.txt")),
        lambda: files.rename(str(folder / "x.parquet"), str(outside)),
        lambda: files.folder("..", ".."),
    ):
        with pytest.raises(ValueError, match="not a file of"):
            call()
    assert outside.read_text() == "mine"
    files.remove(str(folder / "x.parquet"))
    assert list(folder.iterdir()) == []


def test_relative_paths_from_the_environment_are_under_the_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person running a command from another folder gets the same files as make does:
    a relative API_TRUST_DB, API_TRUST_DATA_DIR or API_TRUST_DASHBOARDS_DIR is read from
    the project root, an absolute one as given."""
    from api_trust import contract

    monkeypatch.chdir(tmp_path)
    for env, read in (("API_TRUST_DB", contract.db_path), ("API_TRUST_DATA_DIR", contract.data_dir),
                      ("API_TRUST_DASHBOARDS_DIR", contract.dashboards_dir)):  # fmt: skip
        monkeypatch.setenv(env, "elsewhere/x")
        assert read() == contract.PROJECT_ROOT / "elsewhere" / "x"
        monkeypatch.setenv(env, str(tmp_path / "y"))
        assert read() == tmp_path / "y"
        monkeypatch.delenv(env)
        assert read().is_absolute() and read().is_relative_to(contract.PROJECT_ROOT)
