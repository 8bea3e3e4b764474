"""Shared fixtures: real warehouses built from generated data, once per session.

Each warehouse lives in its own temporary folder with its own dbt target and
log paths, so tests never touch data/api_trust.duckdb or the developer's
target/ folder, and can run while a demo warehouse is open elsewhere.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from dbt_server import call as dbt_server_call

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


# The environment as the session began. A test's monkeypatch changes os.environ for the
# commands of the main thread's tests; a build on a background thread that copied it
# meanwhile ran under another test's settings (the tiny bench, seen under the 1GB memory
# limit of a settings test), so background threads copy this instead.
_SESSION_ENV = dict(os.environ)


def tool_env(db: Path, work: Path) -> dict[str, str]:
    main = threading.current_thread() is threading.main_thread()
    env = dict(os.environ if main else _SESSION_ENV)
    env.update({
        "API_TRUST_DB": str(db),
        "DBT_PROFILES_DIR": str(ROOT),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "API_TRUST_DATA_DIR": str(work / "data"),
        "API_TRUST_DASHBOARDS_DIR": str(work / "dashboards"),
        # dbt one node at a time: test warehouses are tiny, so a node is dbt's Python,
        # not DuckDB, and a second thread only contends for the interpreter (a 5,000-row
        # build: 19-22 user CPU-s against 22-25 with two threads, the same wall time),
        # while the session already builds two warehouses at once
        "API_TRUST_THREADS": "1",
        # and one DuckDB thread per query, for the same reason: two builds run at once beside
        # the main thread's tests on two cores (a whole session: 254 s and 418 CPU-s with
        # one, 276 s and 464 with DuckDB's default of one per core, which `auto` would give
        # one dbt thread)
        "API_TRUST_DUCKDB_THREADS": "1",
    })  # fmt: skip
    return env


def run(
    cmd: list[str],
    db: Path,
    work: Path,
    check: bool = True,
    *,
    relative_db: bool = False,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run a project command against one warehouse; on failure show its output."""
    env, cwd = tool_env(db, work) | (extra_env or {}), ROOT
    if relative_db:
        # the warehouse named relative to the working directory: see dbt()
        env["API_TRUST_DB"], cwd = db.name, db.parent
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check:
        assert_ok(proc)
    return proc


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(proc.args)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}"
            f"\n--- stderr\n{proc.stderr[-3000:]}"
        )


def generate(db: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "api_trust.generate", *args], db, work)


# Every dbt command goes to one server process (dbt_server.py) that imported dbt and
# parsed the project once and forks a child per command: about 3.5 s of CPU saved per
# command. API_TRUST_TEST_DBT_SERVER=0 runs the `dbt` executable instead, as a person
# would. Either way dbt runs from the warehouse's folder with the path relative to it
# (every test warehouse is called warehouse.duckdb): the profile, which holds the path,
# is then the same for every warehouse, so one parse (and dbt's partial-parse file,
# kept between sessions in PARSE_CACHE) serves them all.
PARSE_CACHE = ROOT / "target" / "pytest_partial_parse.msgpack"
USE_SERVER = os.environ.get("API_TRUST_TEST_DBT_SERVER", "1") != "0"
_server: dict[str, object] = {}
_server_lock = threading.Lock()


def _parse_cache(args: tuple[str, ...] = ()) -> Path:
    """Where a command's parse is kept between sessions. A command with `--vars` parses
    the project whole (dbt's partial parse refuses other vars), so each vars text keeps a
    parse of its own: the next session's command with those vars then parses partially
    (the four such commands: about 9.6 CPU-s each whole, 3 partially)."""
    if "--vars" not in args:
        return PARSE_CACHE
    digest = hashlib.sha256(args[args.index("--vars") + 1].encode()).hexdigest()[:12]
    return PARSE_CACHE.with_name(f"{PARSE_CACHE.stem}_vars_{digest}{PARSE_CACHE.suffix}")


def _seed_parse_cache(target: Path, args: tuple[str, ...] = ()) -> None:
    target.mkdir(parents=True, exist_ok=True)
    cache, parse = _parse_cache(args), target / "partial_parse.msgpack"
    # the session's parse seeds a folder once; a vars command's parse replaces whatever the
    # folder's last command left, which had other vars
    if cache.exists() and (cache != PARSE_CACHE or not parse.exists()):
        shutil.copyfile(cache, parse)


def _keep_parse_cache(target: Path, args: tuple[str, ...] = ()) -> None:
    if (target / "partial_parse.msgpack").exists():
        cache = _parse_cache(args)
        cache.parent.mkdir(parents=True, exist_ok=True)
        # whole or not at all: another thread may be seeding from it
        kept = cache.with_name(f"{cache.name}.{threading.get_ident()}")
        shutil.copyfile(target / "partial_parse.msgpack", kept)
        os.replace(kept, cache)


def dbt_server() -> str:
    """The socket of the session's dbt server, started (and parsed) on first use."""
    with _server_lock:
        if "socket" not in _server:
            work = Path(tempfile.mkdtemp(prefix="api_trust_dbt_server_"))
            _seed_parse_cache(work / "target")
            env = tool_env(Path("warehouse.duckdb"), work)
            sock = str(work / "dbt.sock")
            proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("dbt_server.py")), str(ROOT), sock],
                cwd=work, env=env, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            if proc.stdout.readline().strip() != "ready":
                raise AssertionError(f"the dbt server did not start (see {work / 'logs'})")
            _keep_parse_cache(work / "target")
            atexit.register(lambda: (proc.terminate(), proc.wait(), shutil.rmtree(work, True)))
            _server.update(socket=sock, proc=proc)
        return _server["socket"]


# What every test dbt command leaves out. Unit tests read fixtures, not the warehouse
# (their inputs are contracted models, so even the fixtures' types are the same in
# every warehouse): they run once per `make test`, on the demo warehouse
# (test_marts.test_unit_tests_and_source_freshness_pass), instead of in each of the
# warehouses built here (a one-call build: 29 s of CPU before, 21 s after,
# measured once on a busy machine). No log file: dbt formats every event, debug ones
# included, for its file logger before the file's level drops it (dbt_common's _Logger
# filters by level only in Python's logging), which cost about 1 CPU-s of a 5,000-row
# build's 14 (six alternated in-process builds each, 2026-12-08: 13.1 against 14.3
# user-s); stdout, which a failed call shows, is unchanged. dbt writes no JSON artifacts
# (manifest.json, run_results.json, graph.gpickle) unless a test that reads them asks
# (WRITE_JSON): writing the manifest alone took 0.14-0.25 CPU-s a time, and a session
# runs about 60 dbt commands (2026-12-06; the suite's whole CPU then varied 522-664 s
# with the host's speed, which hid the gain in wall time).
DBT_TEST_ENV = {
    "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test",
    "DBT_LOG_LEVEL_FILE": "none",
    "DBT_WRITE_JSON": "false",
}
WRITE_JSON = {"DBT_WRITE_JSON": "true"}


# API_TRUST_TEST_TIMELINE=FILE appends one line per dbt command and background job (start,
# seconds, thread, what): where a session's time goes, to shorten `make test` by.
TIMELINE = os.environ.get("API_TRUST_TEST_TIMELINE")
_t0 = time.monotonic()


@contextmanager
def timed(what: str) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
    finally:
        if TIMELINE:
            with open(TIMELINE, "a", encoding="utf-8") as fh:
                fh.write(f"{start - _t0:8.1f}\t{time.monotonic() - start:6.1f}\t"
                         f"{threading.current_thread().name}\t{what}\n")  # fmt: skip


def dbt(
    db: Path,
    work: Path,
    *args: str,
    check: bool = True,
    unit_tests: bool = False,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """A dbt command on one warehouse; unit tests are left out unless `unit_tests`."""
    target = work / "target"
    test_env = {
        k: v
        for k, v in DBT_TEST_ENV.items()
        if not (unit_tests and k == "DBT_EXCLUDE_RESOURCE_TYPES")
    } | (extra_env or {})
    if not USE_SERVER:
        _seed_parse_cache(target, args)
        cmd = [str(VENV_BIN / "dbt"), *args, "--project-dir", str(ROOT)]
        proc = run(cmd, db, work, check=check, relative_db=True, extra_env=test_env)
        _keep_parse_cache(target, args)
        return proc
    # seeded once the server has parsed (a fresh clone's first session has no parse before):
    # the server's commands do not parse, but what else runs dbt on this warehouse (make
    # profile, a command with --vars) then reads this parse instead of parsing whole
    socket = dbt_server()
    _seed_parse_cache(target, args)
    env = tool_env(Path(db.name), work) | test_env
    out, err = Path(tempfile.mkstemp(dir=work)[1]), Path(tempfile.mkstemp(dir=work)[1])
    request = {"args": [*args, "--project-dir", str(ROOT)], "env": env, "cwd": str(db.parent),
               "stdout": str(out), "stderr": str(err)}  # fmt: skip
    with timed(f"dbt {' '.join(args)} [{work.name}]"):
        code = dbt_server_call(socket, request)
    proc = subprocess.CompletedProcess(["dbt", *args], code, out.read_text(), err.read_text())
    out.unlink()
    err.unlink()
    if "--vars" in args:  # the server ran it as a `dbt` process of its own, which parsed
        _keep_parse_cache(target, args)
    if check:
        assert_ok(proc)
    return proc


@contextmanager
def query(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def held(db: Path, *, read_only: bool = False) -> Iterator[int]:
    """Another process holding the warehouse open, as a DuckDB CLI left open does; yields
    its PID and lets it go on exit."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'ro'); "
         "print('ready', flush=True); sys.stdin.read()", str(db), "ro" if read_only else "rw"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        yield holder.pid
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


class Warehouse:
    """A built warehouse: its file, its work folder, and a read-only query helper."""

    def __init__(self, db: Path, work: Path) -> None:
        self.db = db
        self.work = work

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        with query(self.db) as con:
            return con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: list | None = None):
        return self.rows(sql, params)[0][0]

    def df(self, sql: str):
        with query(self.db) as con:
            return con.execute(sql).fetch_df()


def build_warehouse(tmp_path_factory, name: str, *generator_args: str) -> Warehouse:
    work = tmp_path_factory.mktemp(name)
    db = work / "warehouse.duckdb"
    generate(db, work, *generator_args)
    # API_TRUST_TEST_SELECT narrows the build while developing one part (e.g. "+dq_batch_summary").
    select = os.environ.get("API_TRUST_TEST_SELECT", "").split()
    narrow = ["--select", *select, "--indirect-selection", "cautious"] if select else []
    dbt(db, work, "build", "--quiet", *narrow)
    return Warehouse(db, work)


# --------------------------------------------------------------- warehouses built ahead
# Most of a test warehouse's build is dbt and DuckDB in child processes. A fixture whose
# build is registered with @ahead("fixture_name") starts building in the background as
# soon as collection ends, two at a time, in the order the collected tests first need
# them (only those the selected tests use, each parameter apart); the fixture then
# waits for its own. The build runs on the second core while the tests before it run.
# Each build still makes a warehouse of its own, exactly as the fixture would.
Builder = Callable[[pytest.TempPathFactory, object], object]
AHEAD: dict[str, Builder] = {}
_ahead_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="warehouse")
_ahead_jobs: dict[tuple[str, object], Future] = {}
_ahead_lock = threading.Lock()


def ahead(fixture: str) -> Callable[[Builder], Builder]:
    """Register `build(tmp_path_factory, param)` as the builder of the named fixture."""

    def register(build: Builder) -> Builder:
        AHEAD[fixture] = build
        return build

    return register


def _timed_build(fixture: str, factory: pytest.TempPathFactory, param: object) -> object:
    with timed(f"job {fixture}[{param}]"):
        return AHEAD[fixture](factory, param)


def _start(factory: pytest.TempPathFactory, fixture: str, param: object) -> Future:
    with _ahead_lock:
        key = (fixture, param)
        if key not in _ahead_jobs:
            _ahead_jobs[key] = _ahead_pool.submit(_timed_build, fixture, factory, param)
        return _ahead_jobs[key]


def built(
    request: pytest.FixtureRequest, builder: str | None = None, param: object = None
) -> object:
    """What a builder made for its parameter, waiting if needed: by default the requesting
    fixture's own (its name, its parameter); a fixture that gathers several builds (named
    in its module's BUILT_AHEAD) names each."""
    if builder is None:
        builder, param = request.fixturename, getattr(request, "param", None)
    return _start(request.config._tmp_path_factory, builder, param).result()


def in_background(test: Callable[[Path], None]) -> Callable[[pytest.FixtureRequest], None]:
    """Run a whole test that builds and checks warehouses of its own (sharing none) on the
    background pool, queued like a fixture's build as soon as collection ends, with a
    fresh folder for its `tmp_path`; the test itself then waits for it, and fails with
    its failure. A sequence of builds with checks between them then no longer holds the
    main thread, which runs the tests that read shared warehouses meanwhile."""
    key = f"test:{test.__module__}.{test.__name__}"
    AHEAD[key] = lambda factory, _: test(factory.mktemp(test.__name__[:30]))

    def wait(request: pytest.FixtureRequest) -> None:
        _start(request.config._tmp_path_factory, key, None).result()

    # not functools.wraps: pytest would follow __wrapped__ and ask for the test's tmp_path
    wait.__name__, wait.__doc__, wait.__module__ = test.__name__, test.__doc__, test.__module__
    wait.ahead_key = key  # type: ignore[attr-defined]
    return wait


# Fixtures whose tests run last but whose builders are queued first: a builder that only
# starts a long run at a low CPU priority (test_bench's tiny `make bench`), which then
# fills the idle moments of the whole session instead of running alone at its end.
RUN_LAST = frozenset({"tiny_bench"})


def _builds(item: pytest.Item) -> list[tuple[str, object]]:
    """The background builds a test waits for, as (builder, parameter): its module's
    BUILT_AHEAD (builds the module starts by hand), the test itself when it runs on the
    pool (in_background), and each of its fixtures that has a builder, with its parameter."""
    builds = list(getattr(getattr(item, "module", None), "BUILT_AHEAD", ()))
    key = getattr(getattr(item, "function", None), "ahead_key", None)
    if key is not None:
        builds.append((key, None))
    callspec = getattr(item, "callspec", None)
    builds += [(fixture, callspec.params.get(fixture) if callspec else None)
               for fixture in item.fixturenames if fixture in AHEAD]  # fmt: skip
    return builds


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules that wait for no background build run first, the rest in file order, and
    RUN_LAST's tests last. The main thread's own work then fills the session's start,
    when both cores are busy anyway, instead of running alone after the last build (a
    whole session ended with 26 s of one core idle, running test_warehouse_settings and
    others after the pool had drained)."""
    waits: dict[object, bool] = {}
    for item in items:
        module = getattr(item, "module", None)
        waits[module] = waits.get(module, False) or bool(_builds(item))
    items.sort(key=lambda item: (not RUN_LAST.isdisjoint(item.fixturenames),
                                 waits.get(getattr(item, "module", None), True)))  # fmt: skip


def _check_ahead_fixture(item: pytest.Item, fixture: str) -> None:
    """A fixture that only shares a builder's name would start that builder for nothing
    (and with no parameter): a fixture of that name must live where its builder does."""
    defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {}).get(fixture)
    module = defs[-1].func.__module__ if defs else None
    if module is not None and module != AHEAD[fixture].__module__:
        raise pytest.UsageError(
            f"{item.nodeid}: fixture {fixture!r} of {module} has the name of the background "
            f"builder in {AHEAD[fixture].__module__} (@ahead({fixture!r})); rename it"
        )


def pytest_collection_finish(session: pytest.Session) -> None:
    # pytest makes its base temp folder lazily and not thread-safely: two first calls at
    # once each make one, and mktemp then refuses paths outside "the" base. Make it here,
    # once, before any build thread (or the main thread's tmp_path) can race for it.
    session.config._tmp_path_factory.getbasetemp()
    for fixture in sorted(
        RUN_LAST & {name for item in session.items for name in item.fixturenames}
    ):
        _start(session.config._tmp_path_factory, fixture, None)
    # each build is queued where the first test that waits for it is (_start queues a
    # builder and parameter once)
    for item in session.items:
        for builder, param in _builds(item):
            if builder in item.fixturenames:
                _check_ahead_fixture(item, builder)
            _start(session.config._tmp_path_factory, builder, param)


def pytest_sessionfinish(session: pytest.Session) -> None:
    _ahead_pool.shutdown(wait=False, cancel_futures=True)


@ahead("demo_warehouse")
def _demo(tmp_path_factory: pytest.TempPathFactory, _: object) -> Warehouse:
    return build_warehouse(
        tmp_path_factory, "demo", "--rows", "120000", "--seed", "42", "--dirty-rate", "0.03",
        "--batches", "3", "--drift",
    )  # fmt: skip


@pytest.fixture(scope="session")
def demo_warehouse(request) -> Warehouse:
    """The demo's shape at test size: default scenario, 3% dirt, 3 drifting batches."""
    return built(request)


@ahead("hostile_warehouse")
def _hostile(tmp_path_factory: pytest.TempPathFactory, _: object) -> Warehouse:
    from test_dashboards import hostile_csv
    from test_hostile_build import MODEL_HOSTILE_FILES
    from test_hostile_landing import LANDING_HOSTILE_FILES

    work = tmp_path_factory.mktemp("hostile")
    wh = Warehouse(work / "warehouse.duckdb", work)
    generate(wh.db, wh.work, "--rows", "5000", "--seed", "42", "--dirty-rate", "0.03",
             "--batches", "3", "--drift")  # fmt: skip
    folder = work / "files"
    folder.mkdir()
    files = [make(folder) for make in {**MODEL_HOSTILE_FILES, **LANDING_HOSTILE_FILES}.values()]
    files.append(hostile_csv(folder / "markup.csv"))
    run([sys.executable, "-m", "api_trust.ingest", *map(str, files)], wh.db, wh.work)
    dbt(wh.db, wh.work, "build", "--quiet")
    return wh


@pytest.fixture(scope="session")
def hostile_warehouse(request) -> Warehouse:
    """Every hostile file at once (the hardening issue's acceptance), loaded after a small
    demo-shaped run with dirt and drift: the model-side files of test_hostile_build, the
    landing-side files of test_hostile_landing and test_dashboards' markup names. `make
    build` must pass on it."""
    return built(request)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    with timed(f"test {item.nodeid}"):
        yield
