"""Dashboards and the report on degenerate warehouses: they must say so, never traceback.

A warehouse whose calls all succeeded used to build green and then crash `make
dashboards` (a None formatted as a number). Each warehouse here is built from a
tiny CSV through the real loader and dbt, then `make dashboards` and `make report`
run on it and the page is opened in Chromium: no traceback, no page error.

The builds run seeds and models only (`--exclude resource_type:test
resource_type:unit_test`): that the same warehouses build with every test is
test_hostile_build.py's job; this test is about the readers, and skipping the
tests here saves about 40 s of `make test`.
"""

from __future__ import annotations

import csv
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from browser import HeadlessChromium, needs_chromium
from conftest import Warehouse, dbt, run

COLUMNS = ["request_id", "timestamp", "api_name", "api_version", "region", "client_type", "client_id",
           "document_type", "verification_id", "attempt_no", "status", "status_code", "latency_ms", "error_reason"]  # fmt: skip


def ok(i: int, api: str = "PAN_OCR", region: str = "Metro") -> list[str]:
    return [f"ok-{api}-{i}", f"2026-10-{20 + i % 3} 1{i % 10}:00:00", api, "v2", region, "Bank", f"C000{i % 3}",
            "PAN", f"v-{api}-{i}", "1", "success", "200", str(300 + 7 * i), ""]  # fmt: skip


def fail(i: int, reason: str, code: str, api: str = "PAN_OCR") -> list[str]:
    return [f"f-{api}-{i}", f"2026-10-{20 + i % 3} 1{i % 10}:30:00", api, "v2", "Rural", "Bank", f"C000{i % 3}",
            "PAN", f"fv-{api}-{i}", "1", "fail", code, str(900 + i), reason]  # fmt: skip


SCENARIOS: dict[str, list[list[str]]] = {
    "all_success": [ok(i) for i in range(6)] + [ok(i, "FACE_MATCH", "Rural") for i in range(3)],
    # no call succeeds; FACE_MATCH has auth failures only (no call eligible for its SLO)
    "no_successes": [fail(i, "blurry_image", "422") for i in range(4)]
    + [fail(i, "service_down", "503") for i in range(4, 6)]
    + [fail(i, "invalid_api_key", "401", "FACE_MATCH") for i in range(3)],
    "one_call": [ok(0)],
    "empty": [],
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


@pytest.fixture(scope="module")
def degenerate(tmp_path_factory) -> dict[str, Warehouse]:
    tmp = tmp_path_factory.mktemp("degenerate")
    with ThreadPoolExecutor(max_workers=2) as pool:  # the machine has 2 cores
        built = {n: pool.submit(build, tmp, n, rows) for n, rows in SCENARIOS.items()}
        return {n: f.result() for n, f in built.items()}


@pytest.mark.slow
@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_dashboards_and_report_never_traceback(degenerate, name: str) -> None:
    wh = degenerate[name]
    calls = wh.scalar("select count(*) from fct_api_calls")
    assert calls == len(SCENARIOS[name])  # the warehouse really is this degenerate
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
