"""One dbt process for the whole test session: import and parse once, fork per command.

A `dbt` command costs about 3.5 s of CPU before its first node: 2.4 s importing dbt
and its adapter, 1 s reading the partial-parse file, and writing manifest.json twice.
pytest runs dbt about 30 times. This server pays the import and the parse once,
then forks a child per command; the child takes the command's working directory
and environment and runs dbtRunner with the parsed manifest. Each child is its own
process with its own DuckDB connection and exit, as a `dbt` subprocess is, so
builds still run two at a time and share no warehouse state.

The parsed manifest is only used while it is the project's: when a project file
changed after the server parsed, or when the command passes `--vars`, the child
runs the command as a fresh `dbt` process instead (which parses again; a forked
child cannot: see run_child).

Protocol, one Unix-socket connection per command: the client sends one JSON line
{"args", "env", "cwd", "stdout", "stderr"} (the last two are file paths); the
server answers with one line holding the exit code the dbt CLI would give (0 ok,
1 failed nodes, 2 error).

Run as `python dbt_server.py PROJECT_DIR SOCKET`; it prints "ready" once parsed.
"""

from __future__ import annotations

import gc
import json
import multiprocessing.util
import os
import signal
import socket
import subprocess
import sys
import traceback
from pathlib import Path

# What dbt reads when it parses: a change to any of these makes the parsed manifest stale.
PARSED_DIRS = ("models", "macros", "seeds", "tests", "analyses", "snapshots")
PARSED_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml")


def project_fingerprint(project: Path) -> list[tuple[str, int, int]]:
    files = [project / name for name in PARSED_FILES if (project / name).exists()]
    for folder in PARSED_DIRS:
        files += sorted(p for p in (project / folder).rglob("*") if p.is_file())
    return [(str(p), (s := p.stat()).st_mtime_ns, s.st_size) for p in files]


def close_duckdb() -> None:
    """Drop dbt-duckdb's process-wide database handle so no DuckDB file stays open."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    DuckDBConnectionManager.close_all_connections()
    gc.collect()


def run_child(request: dict, manifest, stale: bool) -> int:
    """In the forked child: become the command's process, run it, return its exit code."""
    from dbt.cli.main import dbtRunner

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    args = request["args"]
    if stale or "--vars" in args:
        # A command that must parse again runs as a fresh `dbt` process: dbt's static
        # parser (dbt_extractor) runs on a Rust thread pool, and a process forked after the
        # server's own parse started that pool waits forever for threads it does not have.
        return subprocess.run([str(Path(sys.executable).with_name("dbt")), *args]).returncode
    result = dbtRunner(manifest=manifest).invoke(args)
    if result.exception is not None:
        print(f"{type(result.exception).__name__}: {result.exception}", file=sys.stderr)
    return 0 if result.success else (2 if result.exception is not None else 1)


def reap(*_) -> None:
    """Collect finished children (so their CPU time counts in the server's, and pytest's)."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def serve(project: Path, path: str) -> None:
    from dbt.cli.main import dbtRunner

    parsed = dbtRunner().invoke(["parse", "--quiet", "--project-dir", str(project)])
    if not parsed.success:
        sys.exit(f"dbt parse failed: {parsed.exception}")
    manifest, fingerprint = parsed.result, project_fingerprint(project)
    close_duckdb()
    signal.signal(signal.SIGCHLD, reap)
    # a normal exit on terminate, so multiprocessing cleans up what dbt's parse created
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    print("ready", flush=True)
    # From here on the server's own output goes to a file beside its socket: nobody reads
    # the pipe after "ready", and a full pipe would block the server.
    log = os.open(Path(path).with_name("server.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    for fd in (1, 2):
        os.dup2(log, fd)
    while True:
        conn, _ = server.accept()
        with conn.makefile("rb") as lines:
            request = json.loads(lines.readline())
        stale = project_fingerprint(project) != fingerprint
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = 2
            try:
                code = run_child(request, manifest, stale)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                close_duckdb()
                # what atexit would do; each finalizer runs only in the process that made it
                multiprocessing.util._exit_function()
                conn.sendall(f"{code}\n".encode())
                os._exit(code)
        conn.close()


def call(path: str, request: dict) -> int:
    """Client side: run one command on the server and wait for its exit code."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(path)
        conn.sendall(json.dumps(request).encode() + b"\n")
        answer = conn.makefile("rb").readline()
    if not answer:
        raise RuntimeError("the dbt server's child died without an exit code")
    return int(answer)


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.argv[2])
