"""Grade the root-cause findings against the generator's truth over many seeds.

    python -m api_trust.evaluate            (make eval)

Runs the `default` scenario for several seeds and the `baseline` scenario (every
nuisance, nothing planted) for many small seeds, each in its own throwaway
warehouse, builds the root-cause marts, and writes EVALUATION.md: recall per
planted incident kind (found at all, and among the top planted + 2 findings),
precision per finding type (significant findings some generator effect
explains), and the share of baseline runs with any false finding.

Matching is the acceptance rule of issue 11 (tests/python/test_root_cause.py):
a finding matches an effect when its segment holds every dimension value the
effect names and, for a time-bounded effect, its window overlaps the effect's.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from api_trust.contract import PROJECT_ROOT
from api_trust.warehouse import connect

SELECTION = ("--select", "+rca_findings", "--resource-type", "seed", "model")


@dataclass
class Run:
    """One graded warehouse."""

    scenario: str
    seed: int
    rows: int
    planted: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None


def segment_values(segment: str | None) -> set[tuple[str, ...]]:
    """`dim=value, dim=value` as a set of (dim, value) pairs."""
    return {tuple(p.split("=", 1)) for p in segment.split(", ")} if segment else set()


def matches(finding: dict, effect: dict) -> bool:
    """The acceptance rule: every value the effect names, and overlapping windows."""
    named = segment_values(effect["segment"])
    if not named or not named <= segment_values(finding["segment"]):
        return False
    start, end = effect["window_start"], effect["window_end"]
    if start is not None and end is not None:
        f_start = finding["started_at"] or datetime.min
        f_end = finding["ended_at"] or datetime.max
        return f_start < end and start < f_end
    return True


def _rows(con, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def build_and_grade(scenario: str, seed: int, rows: int, work_root: Path) -> Run:
    """Generate one warehouse, build the root-cause marts, read truth and findings."""
    run = Run(scenario, seed, rows)
    work = Path(tempfile.mkdtemp(prefix=f"{scenario}{seed}_", dir=work_root))
    db = work / "warehouse.duckdb"
    env = dict(os.environ, API_TRUST_DB=str(db), DBT_PROFILES_DIR=str(PROJECT_ROOT),
               DBT_TARGET_PATH=str(work / "target"), DBT_LOG_PATH=str(work / "logs"),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false")  # fmt: skip
    started = time.monotonic()
    steps = (
        [sys.executable, "-m", "api_trust.generate", "--rows", str(rows), "--seed", str(seed),
         "--scenario", scenario],
        [str(Path(sys.executable).parent / "dbt"), "build", "--quiet", *SELECTION,
         "--project-dir", str(PROJECT_ROOT)],
    )  # fmt: skip
    for cmd in steps:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=PROJECT_ROOT)
        if proc.returncode != 0:
            run.error = (proc.stdout + proc.stderr)[-2000:]
            return run
    run.seconds = time.monotonic() - started
    con = connect(db, read_only=True)
    try:
        effects = _rows(con, "select * from raw.generator_effects")
        run.findings = _rows(
            con,
            "select * from rca_findings where is_significant and not is_acknowledged order by finding_rank",
        )
    finally:
        con.close()
    run.planted = [e for e in effects if e["is_incident"]]
    for f in run.findings:
        f["explained_by"] = [e["kind"] for e in effects if matches(f, e)]
    shutil.rmtree(work, ignore_errors=True)
    return run


def false_findings(run: Run) -> list[dict]:
    """Findings no generator effect explains."""
    return [f for f in run.findings if not f["explained_by"]]


def render(default_runs: list[Run], baseline_runs: list[Run], took: float) -> str:
    """EVALUATION.md (pure: same runs, same text)."""
    found, top, planted = Counter(), Counter(), Counter()
    for run in default_runs:
        head = run.findings[: len(run.planted) + 2]
        for effect in run.planted:
            planted[effect["kind"]] += 1
            found[effect["kind"]] += any(matches(f, effect) for f in run.findings)
            top[effect["kind"]] += any(matches(f, effect) for f in head)
    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for run in default_runs:
        for f in run.findings:
            by_type[f["finding_type"]][0] += 1
            by_type[f["finding_type"]][1] += bool(f["explained_by"])
    with_false = [r for r in baseline_runs if false_findings(r) or any(
        f["finding_type"] in ("incident", "traffic_drop") for f in r.findings)]  # fmt: skip
    failed = [r for r in default_runs + baseline_runs if r.error]
    lines = [
        "# Root-cause evaluation",
        "",
        f"Generated by `make eval` on {datetime.now():%Y-%m-%d %H:%M} ({platform.node()}, "
        f"{os.cpu_count()} cores), {took / 60:.1f} min. Matching: a finding matches a planted "
        "effect when its segment holds every dimension value the effect names and, for a "
        "time-bounded effect, its window overlaps the effect's (issue 11's acceptance rule).",
        "",
        f"## Planted incidents: recall ({len(default_runs)} seeds of `default`, "
        f"{default_runs[0].rows if default_runs else 0:,} rows each)",
        "",
        "| incident kind | planted | found (significant) | in the top planted + 2 |",
        "|---|---:|---:|---:|",
    ]
    for kind in sorted(planted):
        lines.append(f"| {kind} | {planted[kind]} | {found[kind]} ({found[kind] / planted[kind]:.0%}) "
                     f"| {top[kind]} ({top[kind] / planted[kind]:.0%}) |")  # fmt: skip
    total = sum(planted.values())
    if total:
        lines.append(f"| **all** | {total} | {sum(found.values())} ({sum(found.values()) / total:.0%}) "
                     f"| {sum(top.values())} ({sum(top.values()) / total:.0%}) |")  # fmt: skip
    lines += [
        "",
        "## Findings: precision per type (same runs)",
        "",
        "Explained = some generator effect (planted or structural) matches the finding.",
        "",
        "| finding type | significant findings | explained | precision |",
        "|---|---:|---:|---:|",
    ]
    for kind, (n, ok) in sorted(by_type.items()):
        lines.append(f"| {kind} | {n} | {ok} | {ok / n:.0%} |")
    n_all = sum(v[0] for v in by_type.values())
    if n_all:
        ok_all = sum(v[1] for v in by_type.values())
        lines.append(f"| **all** | {n_all} | {ok_all} | {ok_all / n_all:.0%} |")
    share = len(with_false) / len(baseline_runs) if baseline_runs else float("nan")
    lines += [
        "",
        f"## Baseline: false findings ({len(baseline_runs)} seeds of `baseline`, "
        f"{baseline_runs[0].rows if baseline_runs else 0:,} rows each)",
        "",
        "Every nuisance, nothing planted. A run has a false finding when a significant finding "
        "is explained by no generator effect, or is an incident.",
        "",
        f"- Runs with any false finding: **{len(with_false)} of {len(baseline_runs)} ({share:.0%})**"
        " (target <= 10%).",
    ]
    for run in with_false:
        names = "; ".join(f"{f['finding_type']} {f['segment']}" for f in false_findings(run))
        lines.append(f"  - seed {run.seed}: {names}")
    lines += ["", "## Per run", "", "| scenario | seed | planted | findings | unexplained | build s |",
              "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for run in default_runs + baseline_runs:
        lines.append(f"| {run.scenario} | {run.seed} | {len(run.planted)} | {len(run.findings)} | "
                     f"{len(false_findings(run))} | {run.seconds:.0f} |")  # fmt: skip
    if failed:
        lines += ["", "## Runs that failed", ""]
        lines += [
            f"- {r.scenario} seed {r.seed}: `{(r.error or '').splitlines()[-1:]}`" for r in failed
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m api_trust.evaluate", description=__doc__)
    p.add_argument("--seeds", type=int, default=5, help="seeds of the default scenario (>= 5)")
    p.add_argument("--rows", type=int, default=120_000, help="rows per default run")
    p.add_argument("--baseline-seeds", type=int, default=20, help="small baseline seeds (>= 20)")
    p.add_argument("--baseline-rows", type=int, default=30_000, help="rows per baseline run")
    p.add_argument("--jobs", type=int, default=2, help="warehouses built at once")
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "EVALUATION.md")
    args = p.parse_args(argv)
    jobs = [("default", 100 + s, args.rows) for s in range(args.seeds)]
    jobs += [("baseline", 200 + s, args.baseline_rows) for s in range(args.baseline_seeds)]
    started = time.monotonic()
    work_root = Path(tempfile.mkdtemp(prefix="api_trust_eval_"))
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            runs = list(pool.map(lambda job: build_and_grade(*job, work_root), jobs))
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    for run in runs:
        state = f"error: {(run.error or '').splitlines()[-1:]}" if run.error else (
            f"{len(run.findings)} findings, {len(false_findings(run))} unexplained")  # fmt: skip
        print(f"eval: {run.scenario} seed {run.seed}: {state}")
    text = render([r for r in runs if r.scenario == "default" and not r.error],
                  [r for r in runs if r.scenario == "baseline" and not r.error],
                  time.monotonic() - started)  # fmt: skip
    args.out.write_text(text, encoding="utf-8")
    print(f"eval: wrote {args.out}")


if __name__ == "__main__":
    main()
