"""The dashboards, checked the way a person sees them: in a real headless Chromium.

One warehouse (conftest's demo_warehouse), one `make dashboards` run and one browser
session serve every test of the page. The browser is Debian's chromium driven over
the DevTools protocol (api_trust.dashboard.chromium, the same client the PNG export
uses); under CI=true a missing browser fails these tests instead of skipping them.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from api_trust import dashboards
from api_trust.dashboard.page import plotly_js, render_page
from browser import HeadlessChromium, needs_chromium
from conftest import ROOT, Warehouse, run

XSS_IMG = "<img src=x onerror=window.__xss=1>"
XSS_SCRIPT = "</script><script>window.__xss=2</script>"
PACKAGE = ROOT / "scripts" / "api_trust"


# --------------------------------------------------------------------------- helpers


def build_dashboards(wh: Warehouse, **env: str) -> tuple[Path, subprocess.CompletedProcess]:
    proc = run([sys.executable, "-m", "api_trust.dashboards"], wh.db, wh.work)
    return wh.work / "dashboards", proc


def embedded_payload(index: Path) -> Any:
    """The page's data block, read back the way the page reads it."""
    text = index.read_text(encoding="utf-8")
    match = re.search(
        r'<script type="application/json" id="data-payload">(.*?)</script>', text, re.S
    )
    assert match, f"no data-payload block in {index}"
    return json.loads(match.group(1))


CHART_STATE_JS = """(() => Array.from(document.querySelectorAll('div.chart')).map(d => ({
  id: d.id.replace('chart-', ''),
  svgs: d.querySelectorAll('.main-svg').length,
  marks: d.querySelectorAll('.main-svg .trace path, .main-svg .point, .main-svg .heatmaplayer image').length,
  webgl: d.querySelectorAll('canvas.gl-canvas, .gl-container canvas').length,
  title: (d.querySelector('.gtitle') || {}).textContent || ''
})))()"""
TEXT_JS = "(sel) => Array.from(document.querySelectorAll(sel)).map(e => e.textContent)"


def texts(browser: HeadlessChromium, selector: str) -> list[str]:
    return browser.evaluate(f"({TEXT_JS})({json.dumps(selector)})")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def set_view(browser: HeadlessChromium, **view: Any) -> None:
    browser.evaluate(f"window.__dashboard.setView({json.dumps(view)})")


def assert_clean(browser: HeadlessChromium) -> None:
    assert browser.console_errors() == [], f"console errors: {browser.console_errors()}"
    assert browser.evaluate("window.__dashboard.errors") == []
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


@pytest.fixture(scope="module")
def page(demo_dashboards):
    """One browser on the demo page at 1400 px; each test starts from the default view."""
    _, out, _ = demo_dashboards
    with HeadlessChromium(width=1400, height=900) as browser:
        browser.open((out / "index.html").as_uri())
        yield browser


@pytest.fixture
def fresh(page, demo_dashboards):
    """The shared page, reset to 1400 px, every API and the whole period."""
    page.resize(1400, 900)
    page.evaluate("window.__dashboard.setView({scope: 'all', from: null, to: null, region: null})")
    page.evaluate("window.scrollTo(0, 0)")
    return page


# --------------------------------------------------------------------------- the build


def test_cli_writes_the_page_and_one_png_per_drawn_chart(demo_dashboards, page) -> None:
    wh, out, proc = demo_dashboards
    last = proc.stdout.strip().splitlines()[-1]
    assert str(out / "index.html") in last and "PNGs" in last and "one browser session" in last, (
        last
    )
    charts = page.evaluate("window.__dashboard.charts")
    drawn = {c["png"] for c in charts if c["drawn"]}
    assert len(drawn) == len(charts) >= 14  # the demo warehouse has every mart
    assert drawn == {p.name for p in out.glob("*.png")}
    for name in (
        "api_latency_distribution.png",
        "success_rate_by_region.png",
        "failure_rate_by_document.png",
    ):
        assert (out / name).stat().st_size > 10_000, name
    # no per-row data: aggregates only, far below one value per call
    payload_chars = len(json.dumps(embedded_payload(out / "index.html")))
    calls = wh.scalar("select calls from agg_platform_overview")
    assert payload_chars < 2_000_000 and payload_chars < 20 * calls, payload_chars


def test_no_chart_is_defined_in_python() -> None:
    """Charts and display rules live in web/charts.js only: no plotly figure, trace or
    Wilson interval is written in the package's Python."""
    python = {p: p.read_text() for p in PACKAGE.rglob("*.py")}
    for marker in (
        "hovertemplate",
        "plotly.io",
        "write_image",
        "def wilson",
        "drawn_mask",
        "version_order",
    ):
        assert [str(p) for p, t in python.items() if marker in t] == [], marker
    js = (PACKAGE / "dashboard" / "web" / "charts.js").read_text()
    assert js.count("hovertemplate") >= 14


def test_png_is_the_chart_the_page_draws(demo_dashboards, fresh) -> None:
    """A PNG and the page's chart come from one definition: the page, asked for its chart at
    the PNG width, gives the same image the export wrote."""
    _, out, _ = demo_dashboards
    for chart in ("success_by_region", "latency_by_version", "daily_volume"):
        png = fresh.evaluate(f"window.__dashboard.toPng('{chart}', 1200)")
        name = next(
            c["png"] for c in fresh.evaluate("window.__dashboard.charts") if c["id"] == chart
        )
        assert base64.b64decode(png.split(",", 1)[1]) == (out / name).read_bytes(), chart


def test_exposures_name_every_mart_the_dashboard_reads() -> None:
    doc = yaml.safe_load((ROOT / "models" / "exposures.yml").read_text())
    exposures = {e["name"]: e for e in doc["exposures"]}
    refs = {
        re.fullmatch(r"ref\('(\w+)'\)", d).group(1)
        for d in exposures["html_dashboard"]["depends_on"]
    }
    assert dashboards.marts_read() == refs
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


def test_missing_marts_become_notes_not_crashes(demo_dashboards, page, tmp_path: Path) -> None:
    """A warehouse built before the root-cause marts existed still gets a page, with a note
    where each missing mart's chart or table would be."""
    wh, _, _ = demo_dashboards
    copy = Warehouse(tmp_path / "warehouse.duckdb", tmp_path)
    copy.db.write_bytes(wh.db.read_bytes())
    con = duckdb.connect(str(copy.db))
    for mart in ("rca_findings", "rca_incidents", "agg_slo_status", "agg_api_hourly"):
        con.execute(f"drop table main.{mart}")
    con.close()
    out, proc = build_dashboards(copy)
    last = proc.stdout.strip().splitlines()[-1]
    assert (
        "marts not built yet: agg_api_hourly, agg_slo_status, rca_findings, rca_incidents" in last
    ), last
    assert (
        not (out / "dashboard_slo_burn.png").exists()
        and not (out / "dashboard_incident_timeline.png").exists()
    )
    page.open((out / "index.html").as_uri())
    try:
        notes = page.evaluate(
            "Array.from(document.querySelectorAll('.note')).map(n => n.textContent)"
        )
        assert sum("not built yet: run `dbt build`" in n for n in notes) >= 4, notes
        assert {c["id"] for c in page.evaluate("window.__dashboard.charts") if not c["drawn"]} == {
            "slo_burn",
            "incident_timeline",
        }
        assert_clean(page)
    finally:
        page.open((demo_dashboards[1] / "index.html").as_uri())


def test_without_chromium_the_page_is_still_written(
    demo_dashboards, tmp_path, monkeypatch, capsys
) -> None:
    """No browser for the PNG export: one line says what to install, index.html is written, exit 0."""
    wh, _, _ = demo_dashboards
    monkeypatch.setenv("API_TRUST_CHROMIUM", str(tmp_path / "no-such-chromium"))
    monkeypatch.setenv("API_TRUST_DB", str(wh.db))
    monkeypatch.setenv("API_TRUST_DASHBOARDS_DIR", str(tmp_path))
    dashboards.main()
    out = capsys.readouterr()
    assert out.out.count("\n") == 1 and "no PNGs: PNG export needs Chromium" in out.out
    assert "apt-get install chromium" in out.out
    assert (tmp_path / "index.html").stat().st_size > 1_000_000
    assert list(tmp_path.glob("*.png")) == []


def test_browser_tests_fail_instead_of_skipping_in_ci(tmp_path) -> None:
    """Without Chromium a developer's run skips the browser tests; CI=true makes them fail."""
    probe = (
        "import browser\n"
        "from api_trust.dashboard.chromium import ChromiumMissing\n"
        "print('skips' if browser.needs_chromium.args[0] else 'runs')\n"
        "try:\n    browser.HeadlessChromium()\nexcept ChromiumMissing as err:\n    print(err)\n"
    )
    results = {}
    for ci in ("", "true"):
        env = {
            **os.environ,
            "CI": ci,
            "API_TRUST_CHROMIUM": str(tmp_path / "none"),
            "PYTHONPATH": str(ROOT / "tests" / "python"),
        }
        proc = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        )
        results[ci] = proc.stdout.splitlines()
    assert results[""][0] == "skips" and results["true"][0] == "runs"
    assert "apt-get install chromium" in results["true"][1]


# --------------------------------------------------------------------------- the page


@pytest.mark.browser
@needs_chromium
def test_page_opens_offline_with_every_chart_drawn(fresh) -> None:
    charts = fresh.evaluate(CHART_STATE_JS)
    assert len(charts) >= 14
    for chart in charts:
        assert chart["svgs"] >= 1 and chart["marks"] >= 1, chart
        assert chart["webgl"] == 0, chart
    assert_clean(fresh)


@pytest.mark.browser
@needs_chromium
def test_first_screen_answers_what_to_fix_first(fresh, demo_warehouse) -> None:
    """At 1400 px the top findings (what, where, owner, action) and the KPIs of insights.md
    are visible without scrolling."""
    boxes = fresh.evaluate(
        "Array.from(document.querySelectorAll('#findings .finding, #kpis .kpi')).map(e => e.getBoundingClientRect().bottom)"
    )
    assert len(boxes) == 5 + 6 and max(boxes) <= 900, boxes
    top = demo_warehouse.rows(
        "select owner_team, recommendation, metric, calls, clients_affected from rca_findings "
        "order by finding_rank limit 5"
    )
    cards = texts(fresh, "#findings .finding")
    for (owner, action, metric, calls, clients), card in zip(top, cards, strict=True):
        assert f"Owner: {owner}" in card and action[:40] in card and "Where: " in card
        # clients of failed calls, which a traffic drop does not count: it read "5 calls, 0 clients"
        said = f"{calls:,} calls, {clients:,} client{'' if clients == 1 else 's'}"
        assert bool(re.search(re.escape(said) + "(?!s)", card)) == (metric != "calls"), card
    kpis = dict(
        zip(texts(fresh, "#kpis .kpi .label"), texts(fresh, "#kpis .kpi .value"), strict=True)
    )
    insights = demo_warehouse.rows(
        "select 1 - sum(bad_calls) / sum(eligible_calls) from agg_slo_status"
    )[0][0]
    conv = demo_warehouse.rows(
        "select avg(first_attempt_passed::int), avg(eventually_passed::int) from fct_verifications"
    )[0]
    assert kpis["Availability"] == f"{100 * insights:.2f}%"
    assert kpis["First-attempt conversion"] == f"{100 * conv[0]:.1f}%"
    assert kpis["Eventual conversion"] == f"{100 * conv[1]:.1f}%"
    breached = [r[0] for r in demo_warehouse.rows(
        "select api_name from agg_slo_status where is_breach_significant and status = 'breached'"
        " order by bad_calls - error_budget_calls desc limit 4")]  # fmt: skip
    slo = fresh.evaluate("document.getElementById('kpi-slo').textContent")
    assert all(api in slo for api in breached) and f"{len(breached)} of" in slo, slo


@pytest.mark.browser
@needs_chromium
def test_api_and_dates_change_every_chart_and_kpi_or_it_says_whole_period(
    fresh, demo_warehouse
) -> None:
    api = "PAN_OCR"
    lo, hi = demo_warehouse.rows(
        "select (max(called_date) - 3)::varchar, (max(called_date) - 1)::varchar from agg_api_daily"
    )[0]
    before = {c["id"]: c["title"] for c in fresh.evaluate(CHART_STATE_JS)}
    kpis_before = texts(fresh, "#kpis .kpi")
    # the searchable selector, as a person uses it: type, then the dates
    fresh.evaluate(
        f"""(() => {{ const i = document.getElementById('f-api'); i.value = 'pan_ocr'; i.dispatchEvent(new Event('change'));
        const f = document.getElementById('f-from'); f.value = '{lo}'; f.dispatchEvent(new Event('change'));
        const t = document.getElementById('f-to'); t.value = '{hi}'; t.dispatchEvent(new Event('change')); }})()"""
    )
    fresh.wait_for(
        f"window.__dashboard.state().scope === 'api:{api}' && window.__dashboard.state().from === '{lo}'"
    )
    time.sleep(0.5)
    # plotly draws each title line as its own element: compare without whitespace
    after = {c["id"]: squash(c["title"]) for c in fresh.evaluate(CHART_STATE_JS)}
    before = {k: squash(v) for k, v in before.items()}
    follows = {c["id"]: c["follows"] for c in fresh.evaluate("window.__dashboard.charts")}
    for chart, title in after.items():
        if follows[chart] == "scope+dates":
            assert title != before[chart] and squash(f"{lo} to {hi}") in title, (chart, title)
        elif follows[chart] == "scope":
            assert (
                title != before[chart] and squash("whole period whatever the date filter") in title
            ), (chart, title)
        else:
            assert squash("whole period") in title and squash("whatever the filters") in title, (
                chart,
                title,
            )
    kpis = texts(fresh, "#kpis .kpi")
    for old, new in zip(kpis_before, kpis, strict=True):
        assert new != old or "whole period" in new, new
    failures = demo_warehouse.scalar(
        "select sum(failures) from agg_api_daily where api_name = ? and called_date between ? and ?",
        [api, lo, hi],
    )
    assert f"{failures:,} (" in fresh.evaluate(
        "document.getElementById('kpi-failures').textContent"
    )
    bad, eligible = demo_warehouse.rows(
        "select sum(server_failures + timeout_failures), sum(calls - auth_failures) from agg_api_daily"
        " where api_name = ? and called_date between ? and ?", [api, lo, hi],
    )[0]  # fmt: skip
    avail = fresh.evaluate("document.querySelector('#kpi-availability .value').textContent")
    assert avail == f"{100 * (1 - bad / eligible):.2f}%"
    # the SLO status is computed for the window, not copied from the whole period
    slo = fresh.evaluate("document.getElementById('kpi-slo').textContent")
    assert f"{lo} to {hi}" in slo and "of 1 APIs" in slo
    # the profile of the selected API, and its findings in the root-cause table
    assert "PAN_OCR profile" in fresh.evaluate("document.getElementById('section-api').textContent")
    rows = texts(fresh, "#table-findings tbody tr")
    assert rows and all("PAN_OCR" in r for r in rows)  # not "fix first: client C0041"
    assert all("PAN_OCR" in card for card in texts(fresh, "#findings .finding"))
    assert "scope=api%3APAN_OCR" in fresh.evaluate("location.hash") and lo in fresh.evaluate(
        "location.hash"
    )
    assert_clean(fresh)


@pytest.mark.browser
@needs_chromium
def test_every_api_with_calls_is_selectable(fresh, demo_warehouse) -> None:
    apis = demo_warehouse.rows(
        "select d.api_name, d.name_source <> 'likely_typo' from dim_apis d"
        " join agg_latency_by_api l using (api_name)"
    )
    scopes = fresh.evaluate(
        f"{json.dumps([a for a, _ in apis])}.map(a => window.__dashboard.scopeFor(a))"
    )
    # every API is its own scope; a likely misspelling is one of the shared entry's names
    for (api, own), scope in zip(apis, scopes, strict=True):
        assert scope == (f"api:{api}" if own else "unknown"), (api, scope)
    options = fresh.evaluate(
        "Array.from(document.querySelectorAll('#f-api-list option')).map(o => o.value)"
    )
    assert {a for a, own in apis if own} <= set(options)
    assert sum(o.startswith("Likely misspelt API names") for o in options) == 1
    # the least-called known API gets a working view: profile, charts or notes, no error
    quiet = demo_warehouse.scalar(
        "select api_name from agg_latency_by_api where is_known_api order by calls, api_name limit 1"
    )
    set_view(fresh, scope=f"api:{quiet}")
    fresh.wait_for(
        f"document.getElementById('section-api').textContent.includes('{quiet} profile')"
    )
    assert_clean(fresh)
    set_view(fresh, scope="unknown")
    fresh.wait_for("document.getElementById('section-api').textContent.includes('Likely misspelt')")
    assert_clean(fresh)


@pytest.mark.browser
@needs_chromium
def test_clicking_a_finding_applies_its_filter_and_shows_its_evidence(
    fresh, demo_warehouse
) -> None:
    rank, api, started, ended = demo_warehouse.rows(
        "select finding_rank, api_name, started_at::date::varchar, ended_at::date::varchar from rca_findings"
        " where finding_type = 'incident' order by finding_rank limit 1"
    )[0]  # fmt: skip
    fresh.evaluate(f"document.getElementById('finding-{rank}').click()")
    fresh.wait_for("!document.getElementById('evidence').hidden")
    state = fresh.evaluate("window.__dashboard.state()")
    assert (state["scope"], state["from"], state["to"], state["finding"]) == (
        f"api:{api}",
        started,
        ended,
        rank,
    )
    evidence = fresh.evaluate("document.getElementById('evidence').textContent")
    samples = texts(fresh, "#evidence code")
    assert "Failures by reason" in evidence and "Clients" in evidence and len(samples) == 5
    failures = demo_warehouse.scalar(
        "select failures from rca_incidents where api_name = ? order by started_at limit 1", [api]
    )
    assert (
        f"Failures by reason ({failures:,} in this segment and window)" in evidence
    )  # the incident's own count
    n = demo_warehouse.scalar(
        f"select count(*) from fct_api_calls where request_id in ({', '.join('?' * len(samples))})"
        " and api_name = ? and not is_success", [*samples, api],
    )  # fmt: skip
    assert n == len(samples)  # real failed calls of the finding's API
    assert f"finding={rank}" in fresh.evaluate("location.hash")
    assert_clean(fresh)


@pytest.mark.browser
@needs_chromium
def test_a_shared_link_opens_the_same_view(page, demo_dashboards) -> None:
    _, out, _ = demo_dashboards
    url = (out / "index.html").as_uri() + "#scope=family%3AOCR&from=2026-10-10&to=2026-10-12"
    try:
        page.open(url)
        page.wait_for(
            "window.__dashboard.state().scope === 'family:OCR'"
        )  # same document: a hashchange
        state = page.evaluate("window.__dashboard.state()")
        assert (state["scope"], state["from"], state["to"]) == (
            "family:OCR",
            "2026-10-10",
            "2026-10-12",
        )
        assert page.evaluate("document.getElementById('f-api').value") == "OCR family"
        assert_clean(page)
    finally:
        page.open((out / "index.html").as_uri())


@pytest.mark.browser
@needs_chromium
def test_tables_export_to_csv(fresh, demo_warehouse) -> None:
    """The CSV button hands over the table's rows, with formula-like cells defused."""
    text = fresh.evaluate(
        """new Promise(resolve => { const real = URL.createObjectURL;
          URL.createObjectURL = (blob) => { URL.createObjectURL = real; blob.text().then(resolve); return 'data:text/csv,'; };
          document.querySelector('#table-findings button.csv').click(); })"""
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["#", "Kind", "Where"]
    assert len(rows) - 1 == demo_warehouse.scalar(
        "select count(*) from rca_findings where finding_rank <= 50"
    )


@pytest.mark.browser
@needs_chromium
def test_phone_width_nothing_overflows(fresh, tmp_path) -> None:
    """At 390 px: one column, no element wider than the screen (tables scroll inside)."""
    fresh.resize(390, 844, mobile=True)
    fresh.evaluate("window.dispatchEvent(new Event('resize'))")
    time.sleep(1.2)
    fresh.evaluate("window.scrollTo(0, 0)")
    wide = fresh.evaluate(
        """Array.from(document.querySelectorAll('body *')).filter(e => !e.closest('.table-wrap, .js-plotly-plot, datalist, option, #js-plotly-tester'))
          .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > window.innerWidth + 1 || r.left < -1); })
          .map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 10)"""
    )
    assert wide == []
    assert fresh.evaluate("document.documentElement.scrollWidth") <= 390
    assert (
        fresh.evaluate(
            "getComputedStyle(document.querySelector('.grid')).gridTemplateColumns.split(' ').length"
        )
        == 1
    )
    plots = fresh.evaluate(
        "Array.from(document.querySelectorAll('.main-svg')).map(s => s.getBoundingClientRect().right)"
    )
    assert plots and max(plots) <= 391
    fresh.screenshot(tmp_path / "phone.png")


@pytest.mark.browser
@needs_chromium
def test_a_near_empty_period_is_left_blank_not_drawn_as_a_rate(
    demo_dashboards, page, tmp_path
) -> None:
    """The last day of an extract can hold only the retries that spilled past the window:
    its 0% must not be drawn. The page decides this once, for the page and the PNGs."""
    _, out, _ = demo_dashboards
    payload = embedded_payload(out / "index.html")
    cube = payload["daily"]
    last = max(cube["d"])
    for n, i in enumerate(i for i, d in enumerate(cube["d"]) if d == last):
        for column in cube:
            if column == "calls":
                cube[column][i] = int(n == 0)
            elif column.endswith("failures"):
                cube[column][i] = 0
    index = tmp_path / "index.html"
    index.write_text(render_page(payload, plotly_js()), encoding="utf-8")
    try:
        page.open(index.as_uri())
        fig = page.evaluate("window.__dashboard.figure('daily_volume')")
        rate = next(t for t in fig["data"] if t.get("name") == "failure rate")
        assert rate["y"][-1] is None and sum(y is None for y in rate["y"]) == 1
        title = " ".join(re.sub(r"<[^>]+>", " ", fig["layout"]["title"]["text"]).split())
        assert "1 day with under 5% of the median day's calls left blank" in title, title
    finally:
        page.open((out / "index.html").as_uri())


@pytest.mark.browser
@needs_chromium
def test_a_small_regions_rate_alone_leads_no_title(fresh) -> None:
    """The demo's dirt keeps regions the seed does not list (Zone-9: 25 calls). By rate, such
    a region led the title ("Zone-9 succeeds least: 84.0% vs Tier5 100.0%"). The title names
    the region surest to succeed least (lowest upper bound) against the one surest to
    succeed (highest lower bound), read here from the chart's own dots and whiskers."""
    fig = fresh.evaluate("window.__dashboard.figure('success_by_region')")
    dots = fig["data"][0]
    lows = {
        y: x - m
        for y, x, m in zip(dots["y"], dots["x"], dots["error_x"]["arrayminus"], strict=True)
    }
    highs = {
        y: x + p for y, x, p in zip(dots["y"], dots["x"], dots["error_x"]["array"], strict=True)
    }
    worst, best = min(highs, key=highs.get), max(lows, key=lows.get)
    lowest_rate = min(zip(dots["x"], dots["y"], strict=True))[1]
    assert worst != lowest_rate  # the demo holds such a region, or this test proves nothing
    title = re.sub(r"<[^>]+>", "", fig["layout"]["title"]["text"])
    assert title.startswith(f"{worst} succeeds least: ") and f" vs {best} " in title, title


@pytest.mark.browser
@needs_chromium
def test_extra_dimensions_get_a_failure_rate_chart_and_a_report_section(
    demo_dashboards, fresh
) -> None:
    """The drift batches deliver an sdk_version: its chart shows each value's failure rate and
    Wilson interval as agg_failure_rate_by_dimension has them, red exactly where the interval
    lies wholly above the other values' rate, and insights.md names the same values."""
    wh, out, _ = demo_dashboards
    mart = wh.df(
        "select dimension_value, calls, failures, failure_rate, failure_rate_ci_lower,"
        " failure_rate_ci_upper from agg_failure_rate_by_dimension where dimension = 'sdk_version'"
    )
    assert len(mart) >= 2  # the generator's drifting batches carry it
    total_calls, total_failures = mart["calls"].sum(), mart["failures"].sum()
    others = (total_failures - mart["failures"]) / (total_calls - mart["calls"])
    mart["above"] = mart["failure_rate_ci_lower"] > others
    charts = {c["id"]: c for c in fresh.evaluate("window.__dashboard.charts")}
    chart = charts["extra_sdk_version"]
    assert chart["drawn"] and (out / chart["png"]).stat().st_size > 10_000
    fig = fresh.evaluate("window.__dashboard.figure('extra_sdk_version')")
    dots = next(t for t in fig["data"] if t.get("error_x"))
    shown = dict(zip(dots["y"], dots["x"], strict=True))
    assert shown == pytest.approx(
        dict(zip(mart["dimension_value"], mart["failure_rate"], strict=True))
    )
    bounds = dict(
        zip(
            dots["y"],
            zip(dots["error_x"]["arrayminus"], dots["error_x"]["array"], strict=True),
            strict=True,
        )
    )
    for r in mart.itertuples(index=False):
        low, high = bounds[r.dimension_value]
        assert r.failure_rate - low == pytest.approx(r.failure_rate_ci_lower)
        assert r.failure_rate + high == pytest.approx(r.failure_rate_ci_upper)
    red = {v for v, c in zip(dots["y"], dots["marker"]["color"], strict=True) if c == "#dc2626"}
    assert red == set(mart.loc[mart["above"], "dimension_value"])
    title = squash(fig["layout"]["title"]["text"])
    assert (
        squash(f"{total_calls:,} API calls carry it") in title
        and squash("whatever the filters") in title
    )
    # the report: a section for the dimension, naming the same values as above the rest
    run([sys.executable, "-m", "api_trust.report"], wh.db, wh.work)
    text = (out / "insights.md").read_text(encoding="utf-8")
    section = text.split("## Extra dimensions", 1)[1].split("\n## ", 1)[0]
    assert f"**sdk version**: {len(mart)} values on {total_calls:,} API calls" in section
    assert all(
        f"| {v} | {c:,} |" in section
        for v, c in zip(mart["dimension_value"], mart["calls"], strict=True)
    )
    flagged = {
        line[2:].split(" fails more", 1)[0]
        for line in section.splitlines()
        if " fails more:" in line
    }
    assert flagged == red
    # the page's left-out note has one line per thing left out, and none when nothing is
    non_api, no_latency = wh.rows(
        "select count(*) filter (where not is_api_traffic),"
        " count(*) filter (where is_api_traffic and latency_ms is null) from fct_api_calls"
    )[0]
    payload = embedded_payload(out / "index.html")
    charted = {f for c in fresh.evaluate(
        "window.Charts.chartsFor(JSON.parse(document.getElementById('data-payload').textContent)).map(c => c.needs || [])")
        for f in c} - {"latency_ms"}  # fmt: skip
    lacking = [f for f in charted if payload["coverage"][f]["is_missing"]]
    lines = fresh.evaluate("Array.from(document.querySelectorAll('#left-out li')).length")
    assert lines == (non_api > 0) + (no_latency > 0) + bool(lacking)
    assert fresh.evaluate("document.getElementById('left-out').hidden") == (lines == 0)


# --------------------------------------------------------------------------- hostile names


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


HOSTILE_DOM_JS = """(() => ({
  xss: typeof window.__xss,
  injected: document.querySelectorAll('img, iframe, object, embed, [onerror], [onload]').length,
  scripts: document.querySelectorAll('script').length,
  text: document.body.innerText,
  svgText: Array.from(document.querySelectorAll('svg text')).map(t => t.textContent).join('\\n'),
  options: Array.from(document.querySelectorAll('#f-api-list option')).map(o => o.value).join('\\n')
}))()"""


@pytest.mark.browser
@needs_chromium
def test_hostile_names_from_logs_render_as_text(
    hostile_warehouse: Warehouse, page, tmp_path: Path
) -> None:
    """hostile_csv's markup, loaded with every other hostile file (conftest.hostile_warehouse,
    whose build must pass): the API named as markup is quarantined, the region and reason
    named so are facts, and the page shows every such name as text, never as markup."""
    wh = hostile_warehouse
    assert wh.scalar("select count(*) from dq_quarantine where api_name_raw = ?", [XSS_IMG]) == 1
    out, _ = build_dashboards(wh)
    index = out / "index.html"
    raw = index.read_text(encoding="utf-8")
    assert XSS_IMG not in raw and XSS_SCRIPT not in raw  # only escaped forms reach the file
    page.open(index.as_uri())
    page.screenshot(tmp_path / "hostile.png", full_page=True)
    dom = page.evaluate(HOSTILE_DOM_JS)
    assert dom["xss"] == "undefined" and page.dialogs() == []
    assert dom["injected"] == 0
    assert (
        dom["scripts"] == 5
    )  # the payload, plotly.js, stats.js, charts.js, app.js: nothing injected
    # the drift table shows the hostile header, the refused-values table the hostile values
    assert XSS_IMG in dom["text"] and XSS_SCRIPT in dom["text"]
    assert_clean(page)


@pytest.mark.browser
@needs_chromium
def test_hostile_names_in_charts_render_as_text(demo_dashboards, page, tmp_path: Path) -> None:
    """The pipeline quarantines markup in api_name, so charts never see it from logs; rename the
    busiest API and a region in a real payload to prove the page draws such names as text too."""
    _, out, _ = demo_dashboards
    payload = embedded_payload(out / "index.html")
    api = payload["keys"][0]["key"]
    text = (
        json.dumps(payload)
        .replace(json.dumps(api), json.dumps(XSS_IMG))
        .replace('"Rural"', json.dumps(XSS_SCRIPT))
    )
    index = tmp_path / "index.html"
    index.write_text(render_page(json.loads(text), plotly_js()), encoding="utf-8")
    try:
        page.open(index.as_uri())
        dom = page.evaluate(HOSTILE_DOM_JS)
        assert dom["xss"] == "undefined" and page.dialogs() == [] and dom["injected"] == 0
        assert XSS_IMG in dom["svgText"] and XSS_SCRIPT in dom["svgText"]
        assert XSS_IMG in dom["options"]  # the API filter lists it, as text
        set_view(page, scope=f"api:{XSS_IMG}")
        assert XSS_IMG in page.evaluate("document.getElementById('section-api').textContent")
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert_clean(page)
    finally:
        page.open((out / "index.html").as_uri())


@pytest.mark.browser
@needs_chromium
def test_incident_labels_name_the_end_day_when_it_is_another(demo_dashboards, fresh) -> None:
    """An incident from 10-16 20:00 to 10-18 12:00 read "10-16 20:00 to 12:00" (as if it
    lasted 16 hours): the end says its day when it is not the start's."""
    wh, _, _ = demo_dashboards
    incidents = wh.rows("select started_at, ended_at from rca_incidents where ended_at is not null")
    expected = {
        f"{s:%m-%d %H:%M} to {e:%H:%M}"
        if s.date() == e.date()
        else f"{s:%m-%d %H:%M} to {e:%m-%d %H:%M}"
        for s, e in incidents
    }
    fig = fresh.evaluate("window.__dashboard.figure('incident_timeline')")
    shown = [
        m.group(0)
        for a in fig["layout"].get("annotations", [])
        if (m := re.search(r"\d\d-\d\d \d\d:\d\d to (\d\d-\d\d )?\d\d:\d\d", a["text"]))
    ]
    assert shown, "no incident drawn on the demo data"
    assert set(shown) <= expected, (shown, expected)
    assert any(s.date() != e.date() for s, e in incidents), "the demo has no incident over midnight"
