"""The page, its PNGs and the report on a team's own logs: what the logs lack is said, not drawn.

A warehouse is built from the real Apache access log alone (../shared/data/real), as a
team would with `make load` then `make build`: no region, document type, client, version,
verification id or latency, and thousands of static-asset and bot lines. The page, the
PNG export and insights.md must say so in one line each, from one rule
(api_trust.dashboard.marts), never draw a single bar named unknown, and never traceback.
The expected missing fields are recomputed here from fct_api_calls, not written down.

The build runs seeds and models only (`--exclude resource_type:test ...`): whether the
access log builds with every test is test_log_shapes.py's job; this file is about the
readers.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from api_trust.dashboard.marts import CORE_DIMENSIONS, EXTRA_DIMENSIONS, field_word
from api_trust.dashboard.page import plotly_js, render_page
from api_trust.report import REPORTED_FIELDS, Insights, conversion_lines
from browser import HeadlessChromium, needs_chromium
from conftest import Warehouse, ahead, built, dbt, run
from test_dashboards import XSS_IMG, XSS_SCRIPT, assert_clean, embedded_payload
from test_log_shapes import REAL_LOG

# A field is carried by a call when it has a value the marts do not read as "not said".
CARRIED_SQL = {
    **{d: f"{d} is not null and cast({d} as varchar) <> 'unknown'" for d in CORE_DIMENSIONS},
    "latency_ms": "latency_ms is not null",
    "verification_id": "verification_id <> request_id",
}
pytestmark = pytest.mark.slow  # a warehouse of its own, from the real log
CHARTS_JS = "window.__dashboard.charts"
NOTES_JS = """Object.fromEntries(Array.from(document.querySelectorAll('.card[id^="card-"]'))
  .filter(c => c.querySelector('.note')).map(c => [c.id.slice(5), c.querySelector('.note').textContent]))"""


def words(text: str) -> str:
    """Text as plain words (plotly titles carry <b>, <br> and spans)."""
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


@ahead("access_log")
def _access_log(tmp_path_factory, _: object) -> tuple[Warehouse, subprocess.CompletedProcess, str]:
    work = tmp_path_factory.mktemp("access_log")
    wh = Warehouse(work / "warehouse.duckdb", work)
    run([sys.executable, "-m", "api_trust.ingest", str(REAL_LOG)], wh.db, work)
    dbt(wh.db, work, "build", "--quiet", "--exclude", "resource_type:test", "resource_type:unit_test")  # fmt: skip
    dash = run([sys.executable, "-m", "api_trust.dashboards"], wh.db, work)
    report = run([sys.executable, "-m", "api_trust.report"], wh.db, work)
    for proc in (dash, report):
        assert "Traceback" not in proc.stderr, proc.stderr
    return wh, dash, (work / "dashboards" / "insights.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def access_log(request) -> tuple[Warehouse, subprocess.CompletedProcess, str]:
    """The real access log in a warehouse of its own, its dashboards and report (built
    ahead, on the background pool): its process and the report's text."""
    return built(request)


@pytest.fixture(scope="module")
def access_page(access_log):
    wh, _, _ = access_log
    with HeadlessChromium(width=1400, height=900) as browser:
        browser.open((wh.work / "dashboards" / "index.html").as_uri())
        yield browser


def missing_in_data(wh: Warehouse) -> set[str]:
    """Fields no API call carries, counted straight from the facts."""
    fields = [*CARRIED_SQL, *EXTRA_DIMENSIONS]
    counts = dict(zip(CARRIED_SQL, wh.rows(
        "select " + ", ".join(f"count(*) filter (where {c})" for c in CARRIED_SQL.values())
        + " from fct_api_calls where is_api_traffic is not false")[0], strict=True))  # fmt: skip
    for dim in EXTRA_DIMENSIONS:
        counts[dim] = wh.scalar(
            "select count(*) from fct_call_dimensions d join fct_api_calls c using (request_id)"
            " where c.is_api_traffic is not false and d.dimension = ? and d.dimension_value <> 'unknown'",
            [dim],
        )
    return {f for f in fields if counts[f] == 0}


def test_one_rule_decides_what_the_logs_lack(access_log) -> None:
    wh, _, _ = access_log
    payload = embedded_payload(wh.work / "dashboards" / "index.html")
    expected = missing_in_data(wh)
    # an access log names no region, document, verification or latency: the case this is about
    assert {"region", "document_type", "verification_id", "latency_ms"} <= expected
    assert {f for f, r in payload["coverage"].items() if r["is_missing"]} == expected
    api_calls = wh.scalar("select count(*) from fct_api_calls where is_api_traffic")
    assert {r["api_calls"] for r in payload["coverage"].values()} == {api_calls}


@pytest.mark.browser
@needs_chromium
def test_charts_about_a_missing_field_say_so_in_one_line_and_export_no_png(
    access_log, access_page
) -> None:
    wh, dash, _ = access_log
    missing = missing_in_data(wh)
    payload = embedded_payload(wh.work / "dashboards" / "index.html")
    word = {f: r["word"] for f, r in payload["coverage"].items()}
    charts = {c["id"]: c for c in access_page.evaluate(CHARTS_JS)}
    notes = access_page.evaluate(NOTES_JS)
    needs = access_page.evaluate("Object.fromEntries(window.Charts.chartsFor(JSON.parse("
                                 "document.getElementById('data-payload').textContent)).map(c => [c.id, c.needs || []]))")  # fmt: skip
    lacking = {c: [f for f in fs if f in missing] for c, fs in needs.items()}
    lacking = {c: fs for c, fs in lacking.items() if fs}
    assert {"success_by_region", "failure_by_document", "latency_distribution"} <= set(lacking)
    for chart, fields in lacking.items():
        assert not charts[chart]["drawn"], chart
        note = notes[chart]
        assert note.count("in these logs") == 1 and all(word[f] in note for f in fields), note
    # no PNG for a chart that is a note; one for every drawn chart, and the CLI said how many
    out = wh.work / "dashboards"
    drawn = {c["png"] for c in charts.values() if c["drawn"]}
    assert drawn and {p.name for p in out.glob("*.png")} == drawn
    assert f"and {len(drawn)} PNGs" in dash.stdout
    # no drawn chart has a category named unknown (the bar this replaces)
    for chart in charts.values():
        if chart["drawn"]:
            fig = access_page.evaluate(f"window.__dashboard.figure({json.dumps(chart['id'])})")
            for trace in fig["data"]:
                for axis in ("x", "y"):
                    assert "unknown" not in (trace.get(axis) or []), (chart["id"], axis)
    assert_clean(access_page)


@pytest.mark.browser
@needs_chromium
def test_page_says_what_it_left_out_one_line_each(access_log, access_page) -> None:
    wh, _, _ = access_log
    non_api, no_latency, api_calls = wh.rows(
        "select count(*) filter (where not is_api_traffic),"
        " count(*) filter (where is_api_traffic and latency_ms is null),"
        " count(*) filter (where is_api_traffic) from fct_api_calls"
    )[0]
    assert non_api > 0 and no_latency > 0  # static assets and bots; a plain combined log
    lines = access_page.evaluate(
        "Array.from(document.querySelectorAll('#left-out li')).map(l => l.textContent)"
    )
    assert len(lines) == 3, lines  # non-API traffic, latency, fields not in these logs
    assert lines[0].startswith(f"{non_api:,} calls are not API traffic")
    classes = wh.rows(
        "select traffic_class, count(*) from fct_api_calls where not is_api_traffic group by 1"
    )
    assert all(f" {n:,}" in lines[0] for _, n in classes)
    assert f"({no_latency:,} calls)" in lines[1] and no_latency == api_calls
    assert "region" in lines[2] and "document type" in lines[2]
    kpis = access_page.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('#kpis .kpi'))"
        ".map(k => [k.id, k.querySelector('.value').textContent]))"
    )
    # no conversion without verification ids, no latency percentile without latencies
    assert kpis["kpi-first-attempt"] == "n/a" and kpis["kpi-p95"] == "n/a"
    # each route the log names is an API of its own, selectable, with a profile
    route = wh.scalar(
        "select api_name from fct_api_calls where is_api_traffic and is_api_from_route"
        " and not is_known_api group by 1 order by count(*) desc, 1 limit 1"
    )
    assert access_page.evaluate(f"window.__dashboard.scopeFor({json.dumps(route)})") == (
        f"api:{route}"
    )
    access_page.evaluate(f"window.__dashboard.setView({{scope: {json.dumps('api:' + route)}}})")
    access_page.wait_for("!document.getElementById('section-api').hidden")
    assert f"{route} profile" in access_page.evaluate(
        "document.getElementById('section-api').textContent"
    )
    assert_clean(access_page)


def test_report_says_what_the_logs_lack(access_log) -> None:
    wh, _, text = access_log
    non_api = wh.scalar("select count(*) from fct_api_calls where not is_api_traffic")
    api_calls = wh.scalar("select count(*) from fct_api_calls where is_api_traffic")
    assert f"- {non_api:,} calls are not API traffic" in text
    assert f"**{api_calls:,} API calls**" in text  # the metrics count API traffic only
    assert f"No API call carries a latency ({api_calls:,} calls)" in text
    lacking = [field_word(f) for f in REPORTED_FIELDS if f in missing_in_data(wh)]
    assert f"- Not in these logs: {', '.join(lacking)}; figures by them are left out." in text
    assert "No verification id in these logs: conversion is left out." in text
    # never a table row or a "weakest" named unknown, never a Python None
    assert "| unknown |" not in text and ": unknown," not in text and "None" not in text


@pytest.mark.browser
@needs_chromium
def test_region_charts_leave_out_calls_without_a_region(access_log, access_page, tmp_path) -> None:
    """Logs that name a region for some calls only (a team's CSV beside its access log): the
    region charts compare the regions they know and say how many calls they left out. Shown on
    a payload whose daily cube gives one region to some of the access log's days."""
    wh, _, _ = access_log
    payload = embedded_payload(wh.work / "dashboards" / "index.html")
    cube, regions = payload["daily"], payload["meta"]["regions"]
    unknown = regions.index("unknown")
    assert set(cube["r"]) == {unknown}  # the access log names no region
    placed = [i for i, d in enumerate(cube["d"]) if d % 2 == 0]
    for i in placed:
        cube["r"][i] = regions.index("Metro")
    payload["coverage"]["region"]["is_missing"] = False
    unplaced = sum(c for i, c in enumerate(cube["calls"]) if i not in set(placed))
    # a hostile extra-dimension name and value render as text
    payload["meta"]["extra_dimensions"] = [XSS_SCRIPT]
    payload["coverage"][XSS_SCRIPT] = {"field": XSS_SCRIPT, "kind": "extra", "api_calls": 10,
                                       "calls_with_value": 10, "is_missing": False, "word": XSS_SCRIPT}  # fmt: skip
    payload["extra_values"] = {XSS_SCRIPT: [{
        "dimension": XSS_SCRIPT, "dimension_value": XSS_IMG, "calls": 10, "failures": 5,
        "failure_rate": 0.5, "failure_rate_ci_lower": 0.24, "failure_rate_ci_upper": 0.76,
        "others_failure_rate": None, "is_above_others": False, "dimension_calls": 10,
        "dimension_failures": 5, "dimension_values": 1}]}  # fmt: skip
    index = tmp_path / "index.html"
    index.write_text(render_page(payload, plotly_js()), encoding="utf-8")
    access_page.open(index.as_uri())
    try:
        for chart in ("success_by_region", "failure_concentration"):
            fig = access_page.evaluate(f"window.__dashboard.figure('{chart}')")
            labels = {v for t in fig["data"] for v in (t.get("y") or []) + (t.get("x") or [])}
            assert "Metro" in labels and "unknown" not in labels, (chart, labels)
            assert f"{unplaced:,} calls without a region left out" in words(
                fig["layout"]["title"]["text"]
            ), chart
        charts = {c["id"]: c for c in access_page.evaluate(CHARTS_JS)}
        extra = next(c for c in charts.values() if c["id"].startswith("extra_"))
        assert extra["drawn"] and re.fullmatch(r"extra_[a-z0-9_]+", extra["id"])
        assert access_page.evaluate("typeof window.__xss") == "undefined"
        assert XSS_IMG in access_page.evaluate(
            "Array.from(document.querySelectorAll('svg text')).map(t => t.textContent).join(' ')"
        )
        assert_clean(access_page)
    finally:
        access_page.open((wh.work / "dashboards" / "index.html").as_uri())


def test_spans_set_aside_show_in_the_batch_chart_where_traces_delivered_some(
    access_log, access_page, tmp_path
) -> None:
    """A trace's spans that are no API call are set aside (dq_batch_summary.set_aside_count):
    the batch chart shows them as a bar of their own and names them in its title, but only
    where a batch has some; an access log has none, and no bar of zeros says otherwise."""
    wh, _, _ = access_log
    aside = "spans that are no API call"

    def batch_chart() -> tuple[dict[str, list], str]:
        fig = access_page.evaluate("window.__dashboard.figure('dq_batches')")
        return {t["name"]: t["x"] for t in fig["data"]}, words(fig["layout"]["title"]["text"])

    bars, title = batch_chart()
    assert aside not in bars and "set-aside" not in title and "quarantined" in bars
    payload = embedded_payload(wh.work / "dashboards" / "index.html")
    assert [b["set_aside_count"] for b in payload["dq_batches"]] == [0]
    payload["dq_batches"][0]["set_aside_count"] = 7
    index = tmp_path / "index.html"
    index.write_text(render_page(payload, plotly_js()), encoding="utf-8")
    access_page.open(index.as_uri())
    try:
        bars, title = batch_chart()
        assert bars[aside] == [7] and "facts, quarantine, set-aside spans, duplicates" in title
        assert_clean(access_page)
    finally:
        access_page.open((wh.work / "dashboards" / "index.html").as_uri())


def test_the_report_compares_a_teams_own_regions_by_their_intervals() -> None:
    """The conversion section compared Tier2 and Rural with Metro, by name: a team's regions
    got no comparison at all. It now compares the regions surely below the one surest to
    pass (intervals), whatever their names; a small region whose interval overlaps is not
    named however low its rate."""

    def region(name, verifications, rate, low, high):
        return {"region": name, "verifications": verifications, "first_attempt_pass_rate": rate - 0.05,
                "eventual_pass_rate": rate, "eventual_pass_rate_ci_lower": low,
                "eventual_pass_rate_ci_upper": high, "recovered_by_retry_rate": 0.05,
                "call_success_rate": rate, "p50_seconds_to_verify": 1.0, "p90_seconds_to_verify": 2.0}  # fmt: skip

    regions = [region("eu-west-1", 9000, 0.97, 0.966, 0.974), region("ap-south-1", 7000, 0.90, 0.893, 0.907),
               region("sa-east-1", 12, 0.75, 0.47, 0.99), region("us-east-1", 8000, 0.955, 0.951, 0.959)]  # fmt: skip
    data = Insights(headline={}, slo_counts={}, slo_rows=[], regions=regions, documents=[], findings=[],
                    findings_by_tier={}, coverage={}, left_out=[], extra_values={})  # fmt: skip
    compared = [line for line in conversion_lines(data) if line.startswith("- ")]
    assert compared == [
        "- ap-south-1: 85.0% pass at the first attempt vs 92.0% in eu-west-1; after retries 90.0% vs "
        "97.0% (the gap is beyond chance: the intervals do not overlap).",
        "- us-east-1: 90.5% pass at the first attempt vs 92.0% in eu-west-1; after retries 95.5% vs "
        "97.0% (the gap is beyond chance: the intervals do not overlap).",
    ]
