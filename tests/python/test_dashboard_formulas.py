"""Formulas the page needs in JavaScript, checked against their source on the same inputs.

The source of each formula is the SQL that builds the marts; web/stats.js is the
twin the page uses for filtered views. Each test runs stats.js in Chromium on the
counts a mart was built from and compares with what the mart says:

- Wilson interval (macros/statistics.sql) against every *_ci_lower / *_ci_upper the
  marts carry for regions, document types and conversion;
- the availability SLO rule (agg_slo_status.sql) against agg_slo_status, re-derived
  from agg_api_daily counts over the whole period;
- version order against agg_latency_by_api_version's is_latest_version.
"""

from __future__ import annotations

import json

import pytest
from api_trust.contract import project_vars
from api_trust.dashboard.page import web_file
from browser import HeadlessChromium, needs_chromium
from conftest import Warehouse

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def stats(tmp_path_factory):
    """A blank page running stats.js alone (no payload, no plotly)."""
    page = tmp_path_factory.mktemp("stats") / "stats.html"
    page.write_text(
        f"<!DOCTYPE html><script>{web_file('stats.js')}</script><script>window.__ready = true</script>"
    )
    with HeadlessChromium() as browser:
        browser.open(page.as_uri(), ready="window.__ready")
        yield browser


def js(browser: HeadlessChromium, expression: str, rows: list) -> list:
    return browser.evaluate(f"{json.dumps(rows)}.map({expression})")


def test_wilson_matches_the_sql_macro_on_every_mart_interval(
    stats, demo_warehouse: Warehouse
) -> None:
    cases = demo_warehouse.rows("""
        select successes, calls, success_rate_ci_lower, success_rate_ci_upper from agg_success_by_region
        union all
        select failures, calls, failure_rate_ci_lower, failure_rate_ci_upper from agg_failure_by_document_type
        union all
        select first_attempt_passes, verifications, first_attempt_pass_rate_ci_lower, first_attempt_pass_rate_ci_upper
        from agg_conversion_by_region
        union all
        select eventual_passes, verifications, eventual_pass_rate_ci_lower, eventual_pass_rate_ci_upper
        from agg_conversion_by_region
    """)  # fmt: skip
    assert len(cases) >= 10
    rows = [list(r) for r in cases]
    got = js(stats, "r => Stats.wilson(r[0], r[1])", [r[:2] for r in rows])
    for (hits, n, lower, upper), (jl, ju) in zip(rows, got, strict=True):
        assert abs(jl - lower) < 1e-12 and abs(ju - upper) < 1e-12, (hits, n, lower, upper, jl, ju)
    # the edges the macro guards: no calls gives no interval; at 0 and 1 the bounds hold the rate
    edges = js(stats, "r => Stats.wilson(r[0], r[1])", [[0, 0], [0, 50], [50, 50], [1, 1]])
    assert edges[0] == [None, None]
    assert edges[1][0] == 0 and 0 < edges[1][1] < 0.1 and edges[2][1] == 1 and 0.9 < edges[2][0] < 1
    assert edges[3][1] == 1 and 0 < edges[3][0] < 1


def test_slo_rule_matches_agg_slo_status_over_the_whole_period(
    stats, demo_warehouse: Warehouse
) -> None:
    """The page recomputes SLO status for any window from daily counts; over the whole period
    it must say what the mart says for every API."""
    bad = " + ".join(f"d.{c}_failures" for c in project_vars()["availability_failure_classes"])
    rows = demo_warehouse.rows(f"""
        select s.api_name, sum(d.calls - d.auth_failures), sum({bad}),
               s.availability_target, s.is_over_budget, s.is_breach_significant, s.eligible_calls, s.bad_calls
        from agg_slo_status as s inner join agg_api_daily as d using (api_name)
        group by all order by s.api_name
    """)  # fmt: skip
    assert len(rows) >= 50 and any(r[4] for r in rows) and any(r[5] for r in rows)
    min_bad = project_vars()["slo_min_bad_calls"]
    got = js(
        stats,
        f"r => Stats.sloStatus(r[1], r[2], r[3], {min_bad})",
        [list(r[:4]) for r in rows],
    )
    for row, status in zip(rows, got, strict=True):
        api, eligible, bad, _, breached, significant, mart_eligible, mart_bad = row
        assert (eligible, bad) == (mart_eligible, mart_bad), (
            api
        )  # the daily cube holds the same calls
        assert status["breached"] is breached and status["significant"] is bool(significant), (
            api,
            status,
        )


def test_version_order_matches_the_latest_version_in_the_marts(
    stats, demo_warehouse: Warehouse
) -> None:
    rows = demo_warehouse.rows("""
        select api_name, list(api_version order by api_version desc),
               any_value(api_version) filter (where is_latest_version)
        from agg_latency_by_api_version group by api_name
        having count(*) > 1 and count(*) filter (where is_latest_version) = 1  -- the latest has calls
    """)  # fmt: skip
    assert rows
    got = js(stats, "r => r[1].slice().sort(Stats.versionCmp).pop()", [list(r) for r in rows])
    assert got == [r[2] for r in rows]
    # and the cases a text sort gets wrong
    assert stats.evaluate("['v10', 'v2', 'v1.5', 'v1'].sort(Stats.versionCmp)") == [
        "v1",
        "v1.5",
        "v2",
        "v10",
    ]
