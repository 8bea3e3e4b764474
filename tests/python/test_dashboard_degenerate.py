"""Dashboards and the report on degenerate warehouses: they must say so, never traceback.

A warehouse whose calls all succeeded used to build green and then crash `make
dashboards` (a None formatted as a number). Each warehouse here is built from a
tiny CSV through the real loader and dbt, then `make dashboards` and `make report`
run on it and the page is opened in Chromium: no traceback, no page error.

Two of the four are test_hostile_build.py's degenerate warehouses (one call in all; no
success anywhere), built once, with every data test, for both modules. The other two
build seeds and models only (`--exclude resource_type:test resource_type:unit_test`):
this test is about the readers, and skipping the tests here saves about 40 s of
`make test`.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
from browser import HeadlessChromium, needs_chromium
from conftest import Warehouse, ahead, built, dbt, run
from test_hostile_build import DEGENERATE_GROUPS  # and registers their "degenerate" builder

COLUMNS = ["request_id", "timestamp", "api_name", "api_version", "region", "client_type", "client_id",
           "document_type", "verification_id", "attempt_no", "status", "status_code", "latency_ms", "error_reason"]  # fmt: skip


def ok(i: int, api: str = "PAN_OCR", region: str = "Metro") -> list[str]:
    return [f"ok-{api}-{i}", f"2026-10-{20 + i % 3} 1{i % 10}:00:00", api, "v2", region, "Bank", f"C000{i % 3}",
            "PAN", f"v-{api}-{i}", "1", "success", "200", str(300 + 7 * i), ""]  # fmt: skip


# the warehouses built here, from these records
SCENARIOS: dict[str, list[list[str]]] = {
    "all_success": [ok(i) for i in range(6)] + [ok(i, "FACE_MATCH", "Rural") for i in range(3)],
    "empty": [],
}
# test_hostile_build's groups: "no_success_anywhere" has an API with auth failures only
# (no call eligible for its SLO), one with a failure of every class, and a day without calls
SHARED = {"no_successes": "no_success_anywhere", "one_call": "one_call"}
assert set(SHARED.values()) <= set(DEGENERATE_GROUPS)
# what makes each warehouse degenerate, over its facts
DEGENERATE_FACTS = {
    "all_success": "count(*) = 9 and bool_and(is_success)",
    "no_successes": "count(*) > 0 and not bool_or(is_success)",
    "one_call": "count(*) = 1",
    "empty": "count(*) = 0",
}


def build(tmp: Path, name: str, rows: list[list[str]]) -> Warehouse:
    work = tmp / name
    work.mkdir()
    wh = Warehouse(work / "warehouse.duckdb", work)
    if rows:
        path = work / f"{name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
        run([sys.executable, "-m", "api_trust.ingest", str(path)], wh.db, work)
    dbt(
        wh.db,
        work,
        "build",
        "--quiet",
        "--exclude",
        "resource_type:test",
        "resource_type:unit_test",
    )
    return wh


@ahead("degenerate_scenario")
def _scenario(tmp_path_factory, name: str) -> Warehouse:
    return build(tmp_path_factory.mktemp("degenerate"), name, SCENARIOS[name])


# every warehouse here is built on the background pool, queued when the session starts
# (conftest reads BUILT_AHEAD): they are not fixtures of the tests, which read them by name
BUILT_AHEAD = [("degenerate_scenario", n) for n in SCENARIOS] + [
    ("degenerate", group) for group in SHARED.values()
]


@pytest.fixture(scope="module")
def degenerate_warehouses(request) -> dict[str, Warehouse]:
    # not named `degenerate`: conftest starts the builder registered under a fixture's name
    # (@ahead("degenerate"), test_hostile_build) for every test that uses that name
    return {n: built(request, "degenerate_scenario", n) for n in SCENARIOS} | {
        n: built(request, "degenerate", group)[1] for n, group in SHARED.items()
    }


@pytest.mark.slow
@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("name", list(DEGENERATE_FACTS))
def test_dashboards_and_report_never_traceback(degenerate_warehouses, name: str) -> None:
    wh = degenerate_warehouses[name]
    # the warehouse really is this degenerate
    assert wh.scalar(f"select {DEGENERATE_FACTS[name]} from fct_api_calls") is True
    dash = run([sys.executable, "-m", "api_trust.dashboards"], wh.db, wh.work)
    report = run([sys.executable, "-m", "api_trust.report"], wh.db, wh.work)
    for proc in (dash, report):
        assert "Traceback" not in proc.stderr, proc.stderr
    out = wh.work / "dashboards"
    assert "PNGs" in dash.stdout and (out / "insights.md").exists()
    text = (out / "insights.md").read_text()
    assert "None" not in text and "nan" not in text.lower().replace("nano", "")
    with HeadlessChromium(width=1400, height=900) as browser:
        browser.open((out / "index.html").as_uri())
        state = browser.evaluate(
            "({errors: window.__dashboard.errors, charts: window.__dashboard.charts,"
            " notes: Array.from(document.querySelectorAll('.card .note h3')).map(e => e.textContent),"
            " kpis: Array.from(document.querySelectorAll('#kpis .kpi .value')).map(e => e.textContent)})"
        )
        assert state["errors"] == [] and browser.console_errors() == []
        # a chart is either drawn or a note that says why; never an empty box
        assert len(state["notes"]) + sum(c["drawn"] for c in state["charts"]) == len(
            state["charts"]
        )
        assert not any("NaN" in k or "undefined" in k for k in state["kpis"]), state["kpis"]
