"""The dashboards, checked the way a person sees them: in a real headless Chromium.

The browser is Debian's chromium driven over the DevTools protocol through
`--remote-debugging-pipe` (two file descriptors, NUL-separated JSON), so no
websocket package is needed. Tests skip with a clear reason when
/usr/bin/chromium (or $API_TRUST_CHROMIUM) is missing.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from api_trust import dashboards
from api_trust.dashboard_html import render_page
from browser import HeadlessChromium, needs_chromium
from conftest import ROOT, Warehouse, dbt, generate, run

XSS_IMG = "<img src=x onerror=window.__xss=1>"
XSS_SCRIPT = "</script><script>window.__xss=2</script>"


# --------------------------------------------------------------------------- helpers


def build_dashboards(wh: Warehouse) -> tuple[Path, subprocess.CompletedProcess]:
    proc = run([sys.executable, "-m", "api_trust.dashboards"], wh.db, wh.work)
    return wh.work / "dashboards", proc


def embedded(index: Path, name: str) -> Any:
    """A JSON block of the page, read back the way the page reads it."""
    text = index.read_text(encoding="utf-8")
    match = re.search(
        rf'<script type="application/json" id="data-{name}">(.*?)</script>', text, re.S
    )
    assert match, f"no data-{name} block in {index}"
    return json.loads(match.group(1))


CHART_STATE_JS = """(() => Array.from(document.querySelectorAll('div.chart')).map(d => ({
  id: d.id,
  svgs: d.querySelectorAll('.main-svg').length,
  marks: d.querySelectorAll('.main-svg .trace path, .main-svg .point, .main-svg .heatmaplayer image').length,
  webgl: d.querySelectorAll('canvas.gl-canvas, .gl-container canvas').length,
  title: (d.querySelector('.gtitle') || {}).textContent || ''
})))()"""


def assert_clean(browser: HeadlessChromium) -> None:
    assert browser.console_errors() == [], f"console errors: {browser.console_errors()}"
    remote = [
        u
        for u in browser.requested_urls()
        if not u.startswith(("file:", "data:", "blob:", "about:"))
    ]
    assert remote == [], f"the page asked the network for {remote}"


@pytest.fixture(scope="module")
def demo_dashboards(
    demo_warehouse: Warehouse,
) -> tuple[Warehouse, Path, subprocess.CompletedProcess]:
    out, proc = build_dashboards(demo_warehouse)
    return demo_warehouse, out, proc


# --------------------------------------------------------------------------- tests


def test_cli_writes_pngs_and_page_from_marts(demo_dashboards) -> None:
    wh, out, proc = demo_dashboards
    last = proc.stdout.strip().splitlines()[-1]
    assert str(out / "index.html") in last and "PNG" in last, last
    index = out / "index.html"
    # the three original names, and one PNG per drawn chart
    figures = embedded(index, "figures")
    for name in dashboards.ORIGINAL_PNGS.values():
        assert (out / name).stat().st_size > 10_000, name
    pngs = {c.png_name for c in dashboards.CHARTS if c.chart_id in figures}
    assert pngs <= {p.name for p in out.glob("*.png")}
    # no per-row data: the page is plotly.js plus aggregates, far below the rows' size
    payload_chars = sum(
        len(m.group(0))
        for m in re.finditer(
            r'<script type="application/json".*?</script>', index.read_text(), re.S
        )
    )
    calls = wh.scalar("select calls from agg_platform_overview")
    assert payload_chars < 1_500_000, payload_chars
    assert payload_chars < 20 * calls, "the page carries about one value per call: rows leaked in"
    types = {t["type"] for f in figures.values() for t in f["data"]}
    assert not {t for t in types if t.endswith("gl") or t.startswith("scattergl")}, types


def test_exposures_name_every_mart_the_dashboard_reads() -> None:
    doc = yaml.safe_load((ROOT / "models" / "exposures.yml").read_text())
    exposures = {e["name"]: e for e in doc["exposures"]}
    refs = {
        re.fullmatch(r"ref\('(\w+)'\)", d).group(1)
        for d in exposures["html_dashboard"]["depends_on"]
    }
    read = {mart for mart, _ in dashboards.QUERIES.values()}
    assert refs == read
    for name in (
        "api_latency_distribution_png",
        "success_rate_by_region_png",
        "failure_rate_by_document_png",
        "insights_report",
    ):
        assert exposures[name]["owner"] == {
            "name": "API Trust analytics",
            "email": "analytics@example.com",
        }


def test_missing_marts_become_notes_not_crashes(demo_dashboards, tmp_path: Path) -> None:
    """A warehouse built before the root-cause marts existed still gets a page, with a note
    where each missing mart's chart or table would be."""
    wh, _, _ = demo_dashboards
    copy = Warehouse(tmp_path / "warehouse.duckdb", tmp_path)
    shutil.copy(wh.db, copy.db)
    con = duckdb.connect(str(copy.db))
    for mart in ("rca_findings", "rca_incidents", "agg_slo_status", "agg_api_hourly"):
        con.execute(f"drop table main.{mart}")
    con.close()
    out, proc = build_dashboards(copy)
    last = proc.stdout.strip().splitlines()[-1]
    assert (
        "marts not built yet: agg_api_hourly, agg_slo_status, rca_findings, rca_incidents" in last
    ), last
    notes = embedded(out / "index.html", "notes")
    assert set(notes) == {"slo_burn", "incident_timeline"}
    assert all("not built yet: run `dbt build`" in n for n in notes.values())
    missing = embedded(out / "index.html", "payload")["missing"]
    assert {"findings", "incidents", "slo", "hourly"} <= set(missing)
    assert not (out / "dashboard_slo_burn.png").exists()


def test_without_chromium_the_page_is_still_written(
    demo_dashboards, tmp_path, monkeypatch, capsys
) -> None:
    """No browser for kaleido: one line says what to install, index.html is written, exit 0."""
    import plotly.io
    from plotly.io._kaleido import PLOTLY_GET_CHROME_ERROR_MSG

    def no_chrome(*args: object, **kwargs: object) -> None:
        raise RuntimeError(
            PLOTLY_GET_CHROME_ERROR_MSG
        )  # what plotly raises when kaleido finds none

    wh, _, _ = demo_dashboards
    monkeypatch.setattr(plotly.io, "write_images", no_chrome)
    monkeypatch.setenv("API_TRUST_DB", str(wh.db))
    monkeypatch.setenv("API_TRUST_DASHBOARDS_DIR", str(tmp_path))
    dashboards.main()
    out = capsys.readouterr()
    assert out.out.count("\n") == 1 and "no PNGs: PNG export needs Debian's chromium" in out.out
    assert "apt-get install chromium" in out.out
    assert (tmp_path / "index.html").stat().st_size > 1_000_000
    assert list(tmp_path.glob("*.png")) == []


@pytest.mark.browser
@needs_chromium
def test_dashboard_opens_offline_with_every_chart_drawn(demo_dashboards, tmp_path: Path) -> None:
    wh, out, _ = demo_dashboards
    index = out / "index.html"
    figures = embedded(index, "figures")
    with HeadlessChromium() as browser:
        browser.open(index.as_uri())
        charts = browser.evaluate(CHART_STATE_JS)
        shot = browser.screenshot(tmp_path / "dashboard.png")
        browser.screenshot(tmp_path / "dashboard_full.png", full_page=True)
        if os.environ.get("API_TRUST_SCREENSHOT"):
            shutil.copy(shot, os.environ["API_TRUST_SCREENSHOT"])
            shutil.copy(
                tmp_path / "dashboard_full.png",
                Path(os.environ["API_TRUST_SCREENSHOT"]).with_suffix(".full.png"),
            )
        assert {c["id"] for c in charts} == {f"chart-{cid}" for cid in figures}
        for chart in charts:
            assert chart["svgs"] >= 1 and chart["marks"] >= 1, chart
            assert chart["webgl"] == 0, chart
        assert len(charts) >= 12  # every mart is built in the demo warehouse
        assert_clean(browser)

        # The API filter recomputes from counts: the Calls KPI equals the mart's own sum.
        family = wh.scalar("select api_family from agg_latency_by_api order by calls desc limit 1")
        days = wh.rows(
            "select min(called_date)::varchar, max(called_date)::varchar from agg_api_daily"
        )[0]
        lo = wh.scalar("select (min(called_date) + 7)::varchar from agg_api_daily")
        hi = wh.scalar("select (min(called_date) + 13)::varchar from agg_api_daily")
        expected = wh.scalar(
            "select sum(d.calls) from agg_api_daily d join agg_latency_by_api a using (api_name)"
            " where a.api_family = ? and d.called_date between ? and ?", [family, lo, hi],
        )  # fmt: skip
        browser.evaluate(
            f"""(() => {{ const s = document.getElementById('f-scope'); s.value = 'family:{family}';
            s.dispatchEvent(new Event('change'));
            const f = document.getElementById('f-from'); f.value = '{lo}'; f.dispatchEvent(new Event('change'));
            const t = document.getElementById('f-to'); t.value = '{hi}'; t.dispatchEvent(new Event('change')); }})()"""
        )
        browser.wait_for(
            f"document.querySelector('#kpis .kpi .value').textContent === '{expected:,}'",
            timeout=10,
        )
        titles = {c["id"]: c["title"] for c in browser.evaluate(CHART_STATE_JS)}
        assert (
            f"{family} family" in titles["chart-daily_volume"]
            and lo in titles["chart-daily_volume"]
        )
        assert days[0] < lo
        assert_clean(browser)

        # One API: the smallest scope every chart must still draw (heights, single bars).
        api = wh.scalar("select api_name from agg_latency_by_api order by calls desc limit 1")
        browser.evaluate(
            f"""(() => {{ const s = document.getElementById('f-scope'); s.value = 'api:{api}';
            s.dispatchEvent(new Event('change')); }})()"""
        )
        browser.wait_for(f"document.getElementById('f-status').textContent.includes('{api}')")
        time.sleep(1)
        assert all(c["marks"] >= 1 for c in browser.evaluate(CHART_STATE_JS))
        browser.screenshot(tmp_path / "dashboard_one_api.png")
        assert_clean(browser)


@pytest.mark.browser
@needs_chromium
def test_javascript_filters_match_the_python_figures(demo_dashboards) -> None:
    """Each filter-aware chart exists twice (Python for PNGs, JavaScript for filters):
    for the same view both must draw the same numbers."""
    _, out, _ = demo_dashboards
    index = out / "index.html"
    payload = embedded(index, "payload")
    family = payload["keys"][0]["family"]
    api = payload["keys"][0]["key"]
    days = payload["days"]
    views = [
        dashboards.View(),
        dashboards.View(f"family:{family}", days[3], days[-5]),
        dashboards.View(f"api:{api}"),
    ]
    twins = {
        "daily_volume": dashboards.fig_daily_volume,
        "latency_distribution": dashboards.fig_latency_distribution,
        "latency_over_time": dashboards.fig_latency_over_time,
        "latency_by_version": dashboards.fig_latency_by_version,
        "success_by_region": dashboards.fig_success_by_region_view,
        "slo_burn": dashboards.fig_slo_burn,
        "error_reasons": dashboards.fig_error_reasons,
        "incident_timeline": dashboards.fig_incident_timeline,
    }
    keys = ("x", "y", "z", "text", "customdata")
    with HeadlessChromium() as browser:
        browser.open(index.as_uri())
        for view in views:
            for chart_id, build in twins.items():
                py = build(payload, view)
                js = browser.evaluate(
                    f"window.__dashboardBuild({json.dumps(chart_id)}, {json.dumps(view.scope)},"
                    f" {json.dumps(view.day_from)}, {json.dumps(view.day_to)})"
                )
                py = json.loads(json.dumps(py, allow_nan=False))  # what the page would receive
                assert js["layout"]["title"]["text"] == py["layout"]["title"]["text"], (
                    chart_id,
                    view,
                )
                assert len(js["data"]) == len(py["data"]), (chart_id, view)
                for jt, pt_ in zip(js["data"], py["data"], strict=True):
                    for k in keys:
                        assert _close(jt.get(k), pt_.get(k)), (
                            chart_id,
                            view,
                            k,
                            jt.get(k),
                            pt_.get(k),
                        )
        assert_clean(browser)


@pytest.mark.parametrize(
    ("chart", "table", "period", "unit"),
    [("incident_timeline", "hourly", "h", "hour"), ("daily_volume", "daily", "d", "day")],
)
def test_a_near_empty_period_is_left_blank_not_drawn_as_a_rate(
    demo_dashboards, chart: str, table: str, period: str, unit: str
) -> None:
    """The last hour (or day) of an extract can hold only the retries that spilled past the
    window (4 calls against a median of 13,000 an hour at 10M rows): its 0% must not be
    drawn, in Python (PNGs) or in the page's JavaScript."""
    _, out, _ = demo_dashboards
    payload = embedded(out / "index.html", "payload")
    series = payload[table]
    last = max(series[period])
    rows = [i for i, p in enumerate(series[period]) if p == last]
    assert rows, f"the demo has calls in its last {unit}"
    for n, i in enumerate(rows):  # one call, and no failure, left in the last period
        for column in series:
            if column == "calls":
                series[column][i] = int(n == 0)
            elif column.endswith("failures"):
                series[column][i] = 0
    fig = getattr(dashboards, f"fig_{chart}")(payload)
    rate_traces = [t for t in fig["data"] if t["type"] == "scatter"]  # the bars are call counts
    assert all(t["y"][-1] is None for t in rate_traces), [t["y"][-1] for t in rate_traces]
    assert all(sum(y is None for y in t["y"]) == 1 for t in rate_traces), (
        "only that period is blank"
    )
    title = " ".join(re.sub(r"<[^>]+>", " ", fig["layout"]["title"]["text"]).split())
    assert f"1 {unit} with under 5% of the median {unit}'s calls left blank" in title, title


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def hostile_csv(path: Path, good_rows: int = 40) -> Path:
    """A log file whose api_name, region and error_reason (and one header) are markup."""
    columns = ["request_id", "timestamp", "api_name", "api_version", "region", "client_type", "client_id",
               "document_type", "verification_id", "attempt_no", "status", "status_code", "latency_ms",
               "error_reason", "error_message", XSS_IMG]  # fmt: skip
    rows = []
    for i in range(good_rows):
        rows.append([f"h-{i}", f"2026-10-20 10:{i % 60:02d}:00", "PAN_OCR", "v2", "Metro", "Bank", "C0001", "PAN",
                     f"hv-{i}", "1", "success", "200", str(300 + i), "", "", "x"])  # fmt: skip
    hostile = [
        [XSS_IMG, "Metro", "blurry_image"],
        [XSS_SCRIPT, "Metro", "blurry_image"],
        ["PAN_OCR", XSS_IMG, "blurry_image"],
        ["PAN_OCR", XSS_SCRIPT, "blurry_image"],
        ["PAN_OCR", "Metro", XSS_IMG],
        ["PAN_OCR", "Metro", XSS_SCRIPT],
    ]
    for j, (api, region, reason) in enumerate(hostile):
        rows.append([f"x-{j}", "2026-10-20 11:00:00", api, "v2", region, "Bank", "C0001", "PAN", f"xv-{j}", "1",
                     "fail", "422", "800", reason, XSS_SCRIPT, XSS_IMG])  # fmt: skip
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def hostile_warehouse(tmp_path_factory) -> Warehouse:
    work = tmp_path_factory.mktemp("hostile")
    db = work / "warehouse.duckdb"
    generate(db, work, "--rows", "3000", "--seed", "5")
    run(
        [sys.executable, "-m", "api_trust.ingest", str(hostile_csv(work / "hostile.csv"))], db, work
    )
    dbt(
        db, work, "build", "--quiet", check=False
    )  # warn-level DQ tests fire on purpose; the marts must exist
    wh = Warehouse(db, work)
    assert wh.scalar("select count(*) from dq_quarantine where api_name_raw = ?", [XSS_IMG]) == 1
    return wh


HOSTILE_DOM_JS = """(() => ({
  xss: typeof window.__xss,
  injected: document.querySelectorAll('img, iframe, object, embed, [onerror], [onload]').length,
  scripts: document.querySelectorAll('script').length,
  text: document.body.innerText,
  svgText: Array.from(document.querySelectorAll('svg text')).map(t => t.textContent).join('\\n')
}))()"""


@pytest.mark.browser
@needs_chromium
def test_hostile_names_from_logs_render_as_text(
    hostile_warehouse: Warehouse, tmp_path: Path
) -> None:
    out, _ = build_dashboards(hostile_warehouse)
    index = out / "index.html"
    raw = index.read_text(encoding="utf-8")
    assert XSS_IMG not in raw and XSS_SCRIPT not in raw  # only escaped forms reach the file
    with HeadlessChromium() as browser:
        browser.open(index.as_uri())
        browser.screenshot(tmp_path / "hostile.png", full_page=True)
        dom = browser.evaluate(HOSTILE_DOM_JS)
        assert dom["xss"] == "undefined" and browser.dialogs() == []
        assert dom["injected"] == 0
        assert dom["scripts"] == 7  # 5 JSON blocks, plotly.js, the app: nothing injected
        # the drift table shows the hostile header, the refused-values table the hostile values
        assert XSS_IMG in dom["text"] and XSS_SCRIPT in dom["text"]
        assert_clean(browser)


@pytest.mark.browser
@needs_chromium
def test_hostile_names_in_charts_render_as_text(demo_dashboards, tmp_path: Path) -> None:
    """The pipeline quarantines markup in api_name, so charts never see it from logs; rename the
    busiest API and a region in a real payload to prove plotly draws such names as text too."""
    _, out, _ = demo_dashboards
    payload_text = json.dumps(embedded(out / "index.html", "payload"))
    api = embedded(out / "index.html", "payload")["keys"][0]["key"]
    payload_text = payload_text.replace(json.dumps(api), json.dumps(XSS_IMG)).replace(
        '"Rural"', json.dumps(XSS_SCRIPT)
    )
    payload = json.loads(payload_text)
    figures, notes = dashboards.build_figures(payload)
    page = tmp_path / "index.html"
    page.write_text(
        render_page(payload, figures, notes, dashboards.CHARTS, dashboards.plotly_js()),
        encoding="utf-8",
    )
    with HeadlessChromium() as browser:
        browser.open(page.as_uri())
        dom = browser.evaluate(HOSTILE_DOM_JS)
        browser.screenshot(tmp_path / "hostile_charts.png", full_page=True)
        assert dom["xss"] == "undefined" and browser.dialogs() == [] and dom["injected"] == 0
        assert XSS_IMG in dom["svgText"] and XSS_SCRIPT in dom["svgText"]
        assert XSS_IMG in dom["text"]  # the API filter lists it, as text
        assert_clean(browser)
