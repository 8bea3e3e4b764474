"""Root cause, SLOs and conversion, checked against the generator's own truth.

The generator writes every effect it applies to raw.generator_effects
(structural ones and planted incidents), so the analysis can be graded: every
planted incident must be found near the top with the right segment, every
significant finding must be explained by some effect, the baseline scenario
(failure and latency depend on the API alone) must produce no segment finding,
and conversion must show the retries the generator simulates.

Matching a finding to an effect (also in doc `rca_findings`): the effect is of
a kind the finding type can see (KINDS_SEEN_BY), every dimension the effect
names has the same value in the finding, the finding names no dimension the
effect leaves open, and an incident overlaps the effect's time window.
"""

from __future__ import annotations

import json
import math
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pandas as pd
import pytest
from api_trust.simulation import CLASSES, RETRY_PROBABILITY
from conftest import ROOT, Warehouse, dbt, generate, run

SEEDS = (1, 2, 3)
TOP_N = 10
MAX_FALSE_POSITIVES = 1
DIMENSIONS = ("api_name", "api_version", "region", "document_type", "client_type", "client_id")
KINDS_SEEN_BY = {
    "failure_segment": {"segment_failure", "document_failure", "segment_cluster", "document_fragility",
                        "client_auth_failures"},
    "client_auth": {"client_auth_failures"},
    "incident": {"outage"},
    "version_regression": {"version_regression", "version_latency"},
    "latency_tail": {"api_latency_tail"},
    "slo_breach": {"api_profile", "outage"},
}  # fmt: skip
# What the seeds and the 1M baseline need, without the unrelated marts (faster than a full build).
ROOT_CAUSE_SELECTION = (
    "--select",
    "+rca_findings",
    "+agg_conversion_by_region",
    "--resource-type",
    "seed",
    "model",
)


def build_root_cause(tmp_path_factory, name: str, *generator_args: str) -> Warehouse:
    """Generate and build only the models root-cause tests read (full builds are covered elsewhere)."""
    work = tmp_path_factory.mktemp(name)
    db = work / "warehouse.duckdb"
    generate(db, work, *generator_args)
    dbt(db, work, "build", "--quiet", *ROOT_CAUSE_SELECTION)
    return Warehouse(db, work)


def records(wh: Warehouse, sql: str) -> list[dict]:
    """Rows as dicts with SQL nulls as None (pandas would give NaN/NaT, which compare unequal)."""
    frame = wh.df(sql)
    return [
        {k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")
    ]


def matches(finding: dict, effect: dict) -> bool:
    """True when the effect explains the finding (see the module docstring)."""
    if effect["effect_kind"] not in KINDS_SEEN_BY[finding["finding_type"]]:
        return False
    for dim in DIMENSIONS:
        named_by_effect, named_by_finding = effect[dim], finding[dim]
        if named_by_effect is not None and named_by_effect != named_by_finding:
            return False
        if named_by_finding is not None and named_by_effect is None:
            return False
    if finding["finding_type"] == "incident":
        start, end = effect["window_start_at"], effect["window_end_at"]
        if start is None or not (finding["started_at"] < end and start < finding["ended_at"]):
            return False
    return True


def load_truth(wh: Warehouse) -> tuple[list[dict], list[dict]]:
    effects = records(
        wh,
        "select *, kind as effect_kind, window_start as window_start_at, window_end as window_end_at "
        "from raw.generator_effects",
    )
    findings = records(wh, "select * from rca_findings where is_significant order by finding_rank")
    return effects, findings


@pytest.fixture(scope="module")
def root_cause_runs(tmp_path_factory) -> dict[str, Warehouse]:
    """Seeds 1-3 of `default` (120k rows) and `baseline` at 1M rows, built two at a time.

    Each build is mostly single-threaded dbt and generator work, so two in parallel
    on two cores take about half the wall time; the long 1M baseline starts first.
    """
    jobs = {"baseline": ("--rows", "1000000", "--seed", "11", "--scenario", "baseline")}
    jobs |= {f"seed{s}": ("--rows", "120000", "--seed", str(s)) for s in SEEDS}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(build_root_cause, tmp_path_factory, f"rca_{name}", *args)
            for name, args in jobs.items()
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def default_run(request, root_cause_runs: dict[str, Warehouse]) -> Warehouse:
    return root_cause_runs[f"seed{request.param}"]


@pytest.fixture
def baseline_run(root_cause_runs: dict[str, Warehouse]) -> Warehouse:
    """Scenario baseline at 1M rows: failures and latency depend on the API alone."""
    return root_cause_runs["baseline"]


# --------------------------------------------------------------------------- truth: planted and found


def test_every_planted_incident_is_a_top_finding_with_the_right_segment(
    default_run: Warehouse,
) -> None:
    effects, findings = load_truth(default_run)
    planted = [e for e in effects if e["is_incident"]]
    assert {e["effect_kind"] for e in planted} >= {"segment_cluster", "version_regression", "outage",
                                                   "document_fragility", "client_auth_failures"}  # fmt: skip
    top = findings[:TOP_N]
    report = []
    missed = []
    for effect in planted:
        hits = [f for f in top if matches(f, effect)]
        where = ", ".join(f"{d}={effect[d]}" for d in DIMENSIONS if effect[d] is not None)
        found = (
            f"#{hits[0]['finding_rank']} {hits[0]['finding_type']} {hits[0]['segment']}"
            if hits
            else "NOT FOUND"
        )
        report.append(f"  planted {effect['effect_kind']:<21} {where:<45} -> {found}")
        if not hits:
            missed.append(effect)
    print("\n" + "\n".join(report))
    assert not missed, f"planted incidents missing from the top {TOP_N}: {missed}\n" + "\n".join(
        report
    )


def test_every_significant_finding_is_explained_by_an_effect(default_run: Warehouse) -> None:
    effects, findings = load_truth(default_run)
    false_positives = [f for f in findings if not any(matches(f, e) for e in effects)]
    print(f"\n  {len(findings)} significant findings, {len(false_positives)} false positive(s)")
    for f in false_positives:
        print(
            f"  false positive: #{f['finding_rank']} {f['finding_type']} {f['segment']} ({f['evidence']})"
        )
    assert len(false_positives) <= MAX_FALSE_POSITIVES, [f["segment"] for f in false_positives]


def test_baseline_has_no_segment_version_or_client_type_finding(baseline_run: Warehouse) -> None:
    calls = baseline_run.scalar("select count(*) from fct_api_calls")
    assert calls >= 990_000, calls
    dims = ("region", "document_type", "client_type", "api_version")
    where = " or ".join(f"{d} is not null" for d in dims)
    findings = baseline_run.rows(
        f"select finding_type, segment from rca_findings where is_significant and ({where})"
    )
    lift = baseline_run.rows(
        "select segment, q_value from rca_failure_lift where is_significant and segment_level <> 'api' "
        "and (dimension_1 in ('region', 'document_type', 'client_type', 'api_version') "
        "or dimension_2 in ('region', 'document_type', 'client_type', 'api_version'))"
    )
    versions = baseline_run.rows(
        "select api_name, api_version from rca_version_regressions where is_regression"
    )
    tested = baseline_run.scalar(
        "select count(*) from rca_failure_lift where is_tested and segment_level <> 'api'"
    )
    print(
        f"\n  baseline 1M: {tested} segments tested, significant: {lift}, regressions: {versions}"
    )
    assert tested > 1000  # the test had a chance to find something
    assert findings == [] and lift == [] and versions == []


def test_findings_agree_on_clean_and_dirty_data(
    demo_warehouse: Warehouse, clean_warehouse: Warehouse
) -> None:
    """Same seed, batches and drift: the same calls, with and without 3% planted defects.

    Quarantine and deduplication remove ~2.5% of the dirty run's calls, so one
    borderline segment (q near the FDR level) may cross the line either way.
    """
    sql = ("select finding_type, segment from rca_findings "
           "where finding_tier in ('change', 'hotspot') order by finding_rank")  # fmt: skip
    dirty, clean = demo_warehouse.rows(sql), clean_warehouse.rows(sql)
    print(f"\n  dirty: {dirty}\n  clean: {clean}")
    assert dirty[:4] and {tuple(r) for r in dirty[:4]} == {
        tuple(r) for r in clean[:4]
    }  # the new problems
    assert len(set(dirty) ^ set(clean)) <= 1, set(dirty) ^ set(clean)


# --------------------------------------------------------------------------- conversion


def test_retries_lift_conversion_as_the_generator_retries(clean_warehouse: Warehouse) -> None:
    wh = clean_warehouse
    by_class = wh.rows("""
        select first_failure_class, count(*), sum(case when attempts > 1 then 1 else 0 end)
        from fct_verifications where not first_attempt_passed group by 1
    """)  # fmt: skip
    total, first, eventual = wh.rows(
        "select count(*), sum(case when first_attempt_passed then 1 else 0 end), "
        "sum(case when eventually_passed then 1 else 0 end) from fct_verifications"
    )[0]
    # success of retry calls, read from the calls (not from the verifications)
    retry_success = dict(wh.rows("""
        select v.first_failure_class, avg(case when c.is_success then 1.0 else 0.0 end)
        from fct_api_calls as c inner join fct_verifications as v on c.verification_id = v.verification_id
        where c.attempt_no = 2 group by 1
    """))  # fmt: skip
    expected_gap = 0.0
    for cls, n, retried in by_class:
        p = float(RETRY_PROBABILITY[CLASSES.index(cls)])
        tolerance = 4 * math.sqrt(p * (1 - p) / n) + 0.01
        print(f"  first failure {cls:<15} n={n:>5} retried {retried / n:.3f} (generator {p:.2f})")
        assert abs(retried / n - p) <= tolerance, (cls, retried / n, p)
        s = retry_success[cls]
        # a second attempt passes with s; a failed second attempt is retried once more
        expected_gap += n * p * (s + (1 - s) * p * s)
    gap = (eventual - first) / total
    expected_gap /= total
    print(
        f"  first {first / total:.4f}, eventual {eventual / total:.4f}: gap {gap:.4f} vs {expected_gap:.4f}"
    )
    assert eventual >= first
    assert abs(gap - expected_gap) <= 0.1 * expected_gap, (gap, expected_gap)


def test_conversion_by_region_shows_retries_rescue_more_users_outside_cities(
    clean_warehouse: Warehouse,
) -> None:
    rows = {r[0]: r[1:] for r in clean_warehouse.rows("""
        select region, first_attempt_pass_rate, eventual_pass_rate, recovered_by_retry_rate,
               first_attempt_pass_rate_ci_upper, call_success_rate, verifications
        from agg_conversion_by_region
    """)}  # fmt: skip
    assert set(rows) == {"Metro", "Tier1", "Tier2", "Rural"}
    for first, eventual, recovered, _, _, _ in rows.values():
        assert eventual >= first and abs(eventual - first - recovered) < 1e-9
    # PAN/Aadhaar OCR blur in low bandwidth: Tier2 users pass less at the first attempt, and
    # retries (client_input failures are retried most) rescue more of them than in Metro
    assert rows["Tier2"][3] < rows["Metro"][0]  # first-attempt upper bound below Metro's rate
    assert rows["Rural"][2] > rows["Tier2"][2] > rows["Metro"][2]


# --------------------------------------------------------------------------- formulas


def _exact_upper_tail(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def test_statistics_macros_match_known_values(demo_warehouse: Warehouse) -> None:
    sql = """
        with p_values as (
            select * from (values (1, 0.01), (2, 0.04), (3, 0.03), (4, 0.2), (5, null)) as v (id, p_value)
        ),
        bh as ({{ api_trust.bh_q_values('p_values') }})
        select 'bh_' || cast(id as varchar) as name, q_value as value from bh
        union all select 'p_two_sided_1_96', {{ api_trust.two_sided_p('1.96') }}
        union all select 'p_upper_1_645', {{ api_trust.upper_p('1.6449') }}
        union all select 'cdf_0', {{ api_trust.normal_cdf('0.0') }}
        union all select 'wilson_lower_5_10', {{ api_trust.wilson_lower(5, 10) }}
        union all select 'wilson_upper_5_10', {{ api_trust.wilson_upper(5, 10) }}
        union all select 'wilson_upper_0_10', {{ api_trust.wilson_upper(0, 10) }}
        union all select 'z_small', {{ api_trust.proportion_z(3, 30, 0.02) }}
        union all select 'p_small', {{ api_trust.upper_p(api_trust.proportion_z(3, 30, 0.02)) }}
        union all select 'z_large', {{ api_trust.proportion_z(520, 10000, 0.05) }}
        union all select 'z_two_ab', {{ api_trust.two_proportion_z(30, 200, 10, 150) }}
        union all select 'z_two_ba', {{ api_trust.two_proportion_z(10, 150, 30, 200) }}
    """
    proc = dbt(demo_warehouse.db, demo_warehouse.work, "show", "--quiet", "--output", "json", "--limit", "100",
               "--inline", sql)  # fmt: skip
    values = {
        r["name"]: r["value"] for r in json.loads(proc.stdout[proc.stdout.index("{") :])["show"]
    }
    # BH by hand: sorted p 0.01, 0.03, 0.04, 0.2 (m = 4, the null is untested)
    assert values["bh_1"] == pytest.approx(0.04)
    assert values["bh_3"] == pytest.approx(0.16 / 3) and values["bh_2"] == pytest.approx(0.16 / 3)
    assert values["bh_4"] == pytest.approx(0.2) and values["bh_5"] is None
    assert values["p_two_sided_1_96"] == pytest.approx(0.05, abs=2e-4)
    assert values["p_upper_1_645"] == pytest.approx(0.05, abs=2e-4)
    assert values["cdf_0"] == pytest.approx(0.5, abs=1e-7)
    assert values["wilson_lower_5_10"] == pytest.approx(0.23659, abs=1e-5)
    assert values["wilson_upper_5_10"] == pytest.approx(0.76341, abs=1e-5)
    assert values["wilson_upper_0_10"] == pytest.approx(1.96**2 / (10 + 1.96**2), abs=1e-9)
    # small counts: honest, where Wald would say p = 0.0009
    exact = _exact_upper_tail(3, 30, 0.02)
    assert exact / 2.5 < values["p_small"] < exact * 2.5, (values["p_small"], exact)
    # large counts: the classical z of a proportion
    wald = (0.052 - 0.05) / math.sqrt(0.05 * 0.95 / 10000)
    assert values["z_large"] == pytest.approx(wald, rel=0.05)
    assert values["z_two_ab"] == pytest.approx(-values["z_two_ba"])


# --------------------------------------------------------------------------- report


def test_report_writes_insights_with_owned_findings(demo_warehouse: Warehouse) -> None:
    proc = run([sys.executable, "-m", "api_trust.report"], demo_warehouse.db, demo_warehouse.work)
    path = demo_warehouse.work / "dashboards" / "insights.md"
    assert str(path) in proc.stdout.strip().splitlines()[-1]
    text = path.read_text(encoding="utf-8")
    for heading in ("## Headline", "## SLO status", "## Conversion", "## Top 10 findings"):
        assert heading in text
    top = demo_warehouse.rows("select owner_team, evidence, recommendation from rca_findings "
                              "where finding_rank <= 10 order by finding_rank")  # fmt: skip
    assert len(top) == 10
    for owner, evidence, recommendation in top:
        assert f"owner: {owner}" in text and evidence in text and recommendation in text
    assert "Tier2" in text and datetime.now().strftime("%Y-%m-%d") in text
    assert (ROOT / "Makefile").read_text().count("api_trust.report") >= 1
