"""How `make bench` measures: one child process per step, its wall and CPU time,
its peak memory, and the disk it leaves or spills; plus what machine it ran on.

Peak memory is read two ways, because each misses something: the kernel's
exact peak of the largest single process of the step's tree (ru_maxrss of
the launcher's reaped children, orphans included), and the sampled sum over
the whole tree (proportional set size, so pages shared between processes
count once; every SAMPLE_S seconds, so a spike shorter than that can be
missed). The same sampler records the peak size of the step's spill folders.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from api_trust.warehouse import duckdb_settings, query_threads_setting

SAMPLE_S = 0.2
PAGE = os.sysconf("SC_PAGE_SIZE")
VERSIONED = ("duckdb", "dbt-core", "dbt-duckdb", "pandas", "numpy", "pyarrow")


@dataclass
class Measured:
    """One step's cost. memory in MiB, times in seconds."""

    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    tree_peak_mib: float
    spill_peak_mib: float
    stdout: str = ""
    stderr: str = ""
    load_during: list[float] = field(default_factory=list)
    # cores busy with anything but the step's own process tree and this process, on average
    # over the step: the machine's busy CPU time (/proc/stat) minus theirs, over the wall time
    other_cores: float | None = None


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (not idle, not iowait)."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class StepFailed(RuntimeError):
    """A measured step exited non-zero; the message carries the end of its output."""


def _children(pid: int) -> list[int]:
    """Every live descendant of pid (one pass over /proc)."""
    parent: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and brackets: fields start after the last ')'
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parent.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parent.get(p, []))
    return out


def _memory_mib(pid: int) -> float:
    """Proportional set size of one process (RSS when smaps_rollup is unreadable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * PAGE / 2**20
    except OSError:
        return 0.0


def tree_memory_mib(pid: int) -> float:
    return sum(_memory_mib(p) for p in _children(pid))


def folder_mib(path: Path) -> float:
    """Bytes under a file or folder (0 when it does not exist), in MiB."""
    if path.is_file():
        return path.stat().st_size / 2**20
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue  # a spill file removed while we looked
    return total / 2**20


class _Sampler(threading.Thread):
    def __init__(self, pid: int, spill: list[Path]) -> None:
        super().__init__(daemon=True)
        self.pid, self.spill = pid, spill
        self.tree_peak = self.spill_peak = 0.0
        self.loads: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.tree_peak = max(self.tree_peak, tree_memory_mib(self.pid))
            self.spill_peak = max(self.spill_peak, sum(folder_mib(p) for p in self.spill))
            self.loads.append(os.getloadavg()[0])
            self.done.wait(SAMPLE_S)


# The step runs as the child of this small launcher, which reports the step's rusage.
# A process started straight from the bench inherits the bench's own peak RSS as its
# ru_maxrss floor (Linux keeps the larger of the old and new peaks across exec, and
# Python starts children with vfork): a step after a 400 MiB peak of its parent read
# 417 MiB for `true`. Forked from the launcher, the floor is the launcher's few MiB (and its
# few MiB count in the tree's sum). The launcher is also the step's subreaper: processes
# the step orphans, as a headless browser's helpers are, come back to it and are reaped,
# so their CPU counts as the step's (the dashboards: 3.5 CPU-s counted before, 9.9 now;
# the rest was reported as other processes busy, marking every run "not clean").
LAUNCHER = """
import ctypes, os, resource, sys, time
try:  # PR_SET_CHILD_SUBREAPER: what the step orphans (a browser's helpers) comes back here
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
except (OSError, AttributeError):
    pass
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_pid, status = os.waitpid(pid, 0)
seconds = time.perf_counter() - t0
deadline = time.monotonic() + 5
while time.monotonic() < deadline:  # reap the orphans, so that their CPU counts
    try:
        if os.waitpid(-1, os.WNOHANG)[0] == 0:
            time.sleep(0.02)
    except ChildProcessError:
        break
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as fh:
    code = os.waitstatus_to_exitcode(status)
    fh.write(f"{usage.ru_maxrss} {usage.ru_utime} {usage.ru_stime} {code} {seconds}")
sys.exit(code % 256)
"""


def run_measured(
    cmd: list[str], env: dict[str, str], cwd: Path, spill: list[Path] | None = None
) -> Measured:
    """Run one step as a child process and measure it; a failing step raises StepFailed."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", suffix=".rusage") as rusage,
    ):
        t0, busy0, own0 = time.perf_counter(), machine_busy_seconds(), _own_cpu_seconds()
        launch = [sys.executable, "-I", "-S", "-c", LAUNCHER, rusage.name, *cmd]
        proc = subprocess.Popen(launch, cwd=cwd, env=env, stdout=out, stderr=err)
        sampler = _Sampler(proc.pid, spill or [])
        sampler.start()
        launcher_code = proc.wait()
        window, busy1 = time.perf_counter() - t0, machine_busy_seconds()
        sampler.done.set()
        sampler.join()
        own = _own_cpu_seconds() - own0  # this process's sampler, reading /proc meanwhile
        # the step's wall time, exact peak (its largest process) and CPU time, orphans
        # included, as the launcher measured them
        report = rusage.read().split() or [0, 0, 0, launcher_code, window]
        maxrss_kib, utime, stime, code, seconds = (float(x) for x in report)
        proc.returncode = int(code)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise StepFailed(
            f"{' '.join(cmd)} exited {proc.returncode}:\n{stdout[-3000:]}\n{stderr[-3000:]}"
        )
    return Measured(
        seconds=seconds,
        cpu_seconds=utime + stime,
        peak_rss_mib=maxrss_kib / 1024,
        tree_peak_mib=max(sampler.tree_peak, maxrss_kib / 1024),
        spill_peak_mib=sampler.spill_peak,
        stdout=stdout,
        stderr=stderr,
        load_during=sampler.loads,
        other_cores=None
        if busy0 is None or busy1 is None or window <= 0
        else max(0.0, busy1 - busy0 - utime - stime - own) / window,
    )


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _first(path: str, key: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def machine() -> dict:
    """Cores, RAM, CPU model, OS and the versions that decide the numbers."""
    mem_kib = _first("/proc/meminfo", "MemTotal")
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_model": _first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "ram_gib": round(int(mem_kib.split()[0]) / 2**20, 1) if mem_kib else None,
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
        # the profile's DuckDB settings the numbers were measured under
        "duckdb": {
            "memory_limit": duckdb_settings().get("memory_limit"),
            "threads per query": query_threads_setting(),
        },
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
