"""Root cause, SLOs and conversion, checked against the generator's own truth.

The generator writes every effect it applies to raw.generator_effects with its
segment in the rca_findings format (`dim=value, dim=value`), so the analysis can
be graded (issue 11's acceptance): every planted incident among the top
(planted + 2) significant findings, at most one significant finding that no
generator effect explains, and a baseline with every nuisance and nothing
planted that gives no finding on a dimension value and no incident.

Matching (also doc `rca_findings`): a finding matches an effect when its segment
holds every dimension value the effect names and, for a time-bounded effect, its
window overlaps the effect's. Effects that name no segment (traffic shape, daily
dispersion) explain nothing.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from api_trust.report import finding_title
from api_trust.simulation import CLASSES, RETRY_PROBABILITY
from conftest import ROOT, Warehouse, ahead, built, dbt, generate, in_background, query, run

# One seed of each scenario, as issue 11's acceptance asks; the grade over many seeds is
# `make eval` (EVALUATION.md), which is where recall and precision are measured.
SEEDS = (1,)
MAX_UNEXPLAINED = 1
# What the seeds and the baseline need, without the unrelated marts (faster than a full build).
ROOT_CAUSE_SELECTION = (
    "--select",
    "+rca_findings",
    "+rca_version_regressions",
    "+rca_fragile_document_types",
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


def segment_values(segment: str | None) -> set[tuple[str, str]]:
    """`dim=value, dim=value` as a set of (dim, value) pairs."""
    if not segment:
        return set()
    return {tuple(part.split("=", 1)) for part in segment.split(", ")}  # type: ignore[misc]


def matches(finding: dict, effect: dict) -> bool:
    """True when the effect explains the finding (see the module docstring)."""
    named = segment_values(effect["segment"])
    if not named or not named <= segment_values(finding["segment"]):
        return False
    start, end = effect["window_start"], effect["window_end"]
    if start is not None and end is not None:
        f_start = finding["started_at"] or datetime.min
        f_end = finding["ended_at"] or datetime.max
        return f_start < end and start < f_end
    return True


def load_truth(wh: Warehouse) -> tuple[list[dict], list[dict]]:
    effects = records(wh, "select * from raw.generator_effects")
    findings = records(
        wh,
        "select * from rca_findings where is_significant and not is_acknowledged order by finding_rank",
    )
    return effects, findings


def grade(wh: Warehouse) -> tuple[list[str], list[dict], list[dict]]:
    """Report lines, the planted effects missing from the top, and the unexplained findings."""
    effects, findings = load_truth(wh)
    planted = [e for e in effects if e["is_incident"]]
    top = findings[: len(planted) + 2]
    lines, missed = [], []
    for effect in planted:
        hits = [f for f in top if matches(f, effect)]
        found = f"#{hits[0]['finding_rank']} {hits[0]['finding_type']}" if hits else "NOT IN TOP"
        lines.append(f"  planted {effect['kind']:<22} {effect['segment']:<50} -> {found}")
        if not hits:
            missed.append(effect)
    unexplained = [f for f in findings if not any(matches(f, e) for e in effects)]
    for f in findings:
        mark = "  " if f not in unexplained else "??"
        lines.append(f"  {mark} #{f['finding_rank']:<3} {f['finding_type']:<18} {f['segment']}")
    return lines, missed, unexplained


# the generator arguments of each run root_cause_runs gathers
RUNS = {"baseline": ("--rows", "120000", "--seed", "11", "--scenario", "baseline")} | {
    f"seed{s}": ("--rows", "120000", "--seed", str(s)) for s in SEEDS
}


@ahead("root_cause_run")
def _root_cause_run(tmp_path_factory, name: str) -> Warehouse:
    return build_root_cause(tmp_path_factory, f"rca_{name}", *RUNS[name])


# queued on the background pool when the session starts (conftest reads BUILT_AHEAD)
BUILT_AHEAD = [("root_cause_run", name) for name in RUNS]


@pytest.fixture(scope="module")
def root_cause_runs(request) -> dict[str, Warehouse]:
    """Seed 1 of `default` and seed 11 of `baseline`, 120k rows each, each built on the
    background pool."""
    return {name: built(request, "root_cause_run", name) for name in RUNS}


@ahead("clean_warehouse")
def _clean(tmp_path_factory, _: object) -> Warehouse:
    return build_root_cause(
        tmp_path_factory, "clean", "--rows", "120000", "--seed", "42", "--batches", "3", "--drift"
    )


@pytest.fixture(scope="module")
def clean_warehouse(request) -> Warehouse:
    """demo_warehouse's calls without the dirt: same seed, batches and drift, so the same
    traffic is drawn and only the planted defects differ. Findings must agree. Only the
    root-cause models and what they read are built, without data tests: demo_warehouse
    runs every data test on the same calls with the dirt added (a full build with tests
    here took 40-47 s of the background pool, beside other builds; this one 32 s)."""
    return built(request)


@pytest.fixture(params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def default_run(request, root_cause_runs: dict[str, Warehouse]) -> Warehouse:
    return root_cause_runs[f"seed{request.param}"]


# --------------------------------------------------------------------------- truth: planted and found


def test_every_planted_incident_is_among_the_top_findings(default_run: Warehouse) -> None:
    lines, missed, _ = grade(default_run)
    print("\n" + "\n".join(lines))
    assert not missed, [(e["kind"], e["segment"]) for e in missed]


def test_at_most_one_significant_finding_is_explained_by_no_effect(default_run: Warehouse) -> None:
    lines, _, unexplained = grade(default_run)
    print("\n" + "\n".join(lines))
    assert len(unexplained) <= MAX_UNEXPLAINED, [f["segment"] for f in unexplained]


def test_a_grouped_finding_says_its_group_total(default_run: Warehouse) -> None:
    """A grouped finding's evidence is its top member's text; its numbers are the group's,
    and the text says so with the same total (PAN_OCR and AADHAAR_OCR, Rural and Tier2)."""
    grouped = default_run.rows(
        "select metric, evidence, excess_failures, excess_slow_calls, related_segments "
        "from rca_findings where is_significant and evidence like '%One cause with%'"
    )
    assert grouped, "no grouped finding on this seed"
    for metric, evidence, failures, slow, related in grouped:
        said = re.search(
            r"One cause with (\d+) linked segments? \(related_segments\): (\d+) excess", evidence
        )
        assert said, evidence
        assert int(said.group(2)) == round(failures if metric == "failure_rate" else slow), evidence
        assert int(said.group(1)) <= len(related.split("; ")), (evidence, related)


def test_baseline_gives_no_finding_on_a_dimension_value_and_no_incident(
    root_cause_runs: dict[str, Warehouse],
) -> None:
    """Every nuisance (seasonality, overdispersion, correlated dimensions, a nightly bump,
    an SDK rollout), nothing planted: nothing to report about a dimension value, no incident."""
    wh = root_cause_runs["baseline"]
    assert wh.scalar("select count(*) from raw.generator_effects where is_incident") == 0
    findings = wh.rows(
        "select finding_type, segment from rca_findings where is_significant "
        "and (finding_type in ('incident', 'traffic_drop') or segment <> 'api_name=' || api_name)"
    )
    tested = wh.scalar("select count(*) from intermediate.int_rca_candidates_tested")
    print(
        f"\n  baseline: {tested} candidates tested, significant on a value or incident: {findings}"
    )
    assert tested > 1000  # the analysis had every chance to find something
    assert findings == []


def test_findings_agree_on_clean_and_dirty_data(
    demo_warehouse: Warehouse, clean_warehouse: Warehouse
) -> None:
    """Same seed, batches and drift: the same calls, with and without 3% planted defects.

    Quarantine and deduplication remove ~2.5% of the dirty run's calls, so a
    borderline finding may cross the line either way, and an hourly incident window
    may start a few hours apart (its start is part of its id); a finding found in both
    keeps its id.
    """
    sql = (
        "select finding_id, finding_type, segment, metric, started_at from rca_findings "
        "order by finding_rank"
    )
    dirty, clean = demo_warehouse.rows(sql), clean_warehouse.rows(sql)
    print(f"\n  dirty: {[r[2] for r in dirty]}\n  clean: {[r[2] for r in clean]}")
    top_dirty, top_clean = {r[1:3] for r in dirty[:5]}, {r[1:3] for r in clean}
    assert dirty and len(top_dirty - top_clean) <= 1, top_dirty - top_clean
    shared = {r[1:]: r[0] for r in dirty}
    assert any(r[1:] in shared for r in clean)
    for finding_id, *finding in clean:
        if tuple(finding) in shared:
            assert shared[tuple(finding)] == finding_id


# --------------------------------------------------------------------------- dimensions and team logs

# the one API whose calls of one document type fail for four days (write_team_csv)
TEAM_API_DOCUMENT = ("BANK_VERIFY", "VoterID")
TEAM_BROKEN = (datetime(2026, 10, 20), datetime(2026, 10, 24))
TEAM_ROWS = 6000
# a team-only API whose v2 replaced v1 at midnight and doubled its latency (write_team_csv)
TEAM_CUTOVER = ("TEAM_SCORE", datetime(2026, 10, 29))
TEAM_CUTOVER_ROWS = 1500
# the carrier as an OpenTelemetry attribute names it: sliced as `carrier`, read from this field
CARRIER_FIELD = "network.carrier.name"
TEAM_COLUMNS = ("timestamp", "api_name", "api_version", "region", "client_type", "document_type",
                "status", "status_code", "latency_ms", "error_reason", CARRIER_FIELD)  # fmt: skip


def write_team_csv(path: Path, seed: int = 3) -> str:
    """A team's CSV with only the required columns plus `carrier`, a field we have never
    seen; one carrier fails far more often on every API. One call in eight is of a document
    type our generator never makes, and for four days (TEAM_BROKEN) BANK_VERIFY's (only)
    fail. An API of the team's own changes version at once (TEAM_CUTOVER): its v2 never
    runs beside v1, and takes twice as long. Returns that carrier."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 10, 5)
    carriers, bad = ("Jio", "Airtel", "Vi", "BSNL"), "Vi"
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(TEAM_COLUMNS)
        for i in range(TEAM_ROWS):
            carrier = carriers[int(rng.integers(0, 4))]
            at = start + timedelta(minutes=7 * i)
            api, document = (
                ("PAN_OCR", "FACE_MATCH", "BANK_VERIFY")[i % 3],
                ("PAN", "VoterID")[i // 3 % 8 == 0],
            )
            broken = (api, document) == TEAM_API_DOCUMENT and TEAM_BROKEN[0] <= at < TEAM_BROKEN[1]
            fails = rng.random() < (0.30 if carrier == bad else 0.80 if broken else 0.04)
            out.writerow([
                at.strftime("%Y-%m-%d %H:%M:%S"),
                api, "v2", ("Metro", "Tier1", "Tier2", "Rural")[int(rng.integers(0, 4))],
                "FinTech", document, "failure" if fails else "success", 503 if fails else 200,
                int(rng.integers(80, 400)), "service_down" if fails else "", carrier,
            ])  # fmt: skip
        cut = np.random.default_rng(seed + 1)  # its own draws: the rows above stay as they were
        api, released = TEAM_CUTOVER
        for i in range(TEAM_CUTOVER_ROWS):
            at = start + timedelta(minutes=28 * i + 3)
            version = "v2" if at >= released else "v1"
            carrier = carriers[int(cut.integers(0, 4))]
            fails = cut.random() < (0.30 if carrier == bad else 0.04)
            out.writerow([
                at.strftime("%Y-%m-%d %H:%M:%S"), api, version,
                ("Metro", "Tier1", "Tier2", "Rural")[int(cut.integers(0, 4))], "FinTech", "PAN",
                "failure" if fails else "success", 503 if fails else 200,
                int(cut.integers(80, 400)) * (2 if version == "v2" else 1),
                "service_down" if fails else "", carrier,
            ])  # fmt: skip
    return bad


@ahead("team_warehouse")
def _team(tmp_path_factory, _: object) -> tuple[Warehouse, str]:
    work = tmp_path_factory.mktemp("team")
    wh = Warehouse(work / "warehouse.duckdb", work)
    generate(wh.db, wh.work, "--rows", "20000", "--seed", "4", "--scenario", "baseline")
    team_csv = work / "team_calls.csv"
    bad = write_team_csv(team_csv)
    run([sys.executable, "-m", "api_trust.ingest", str(team_csv)], wh.db, wh.work)
    # built first with the project's dimensions, then `carrier` added, as a team does it
    # (make dimensions WRITE=1, make build): the cube gains a column on a built warehouse.
    # In the same edit client_id leaves the list (the team's calls carry none): the cube
    # loses a column, and rca_findings keeps its contract's client_id column, null
    dbt(wh.db, wh.work, "build", "--quiet", *ROOT_CAUSE_SELECTION)
    dims = json.dumps({"analysis_dimensions": {
        "core": ["region", "document_type", "client_type", "api_version", "service_name",
                 "user_agent_family"],
        "extra": ["sdk_version", "carrier"],
        "fields": {"carrier": CARRIER_FIELD},
    }})  # fmt: skip
    dbt(wh.db, wh.work, "build", "--quiet", "--vars", dims, *ROOT_CAUSE_SELECTION)
    return wh, bad


@pytest.fixture(scope="module")
def team_warehouse(request) -> tuple[Warehouse, str]:
    """Generated calls plus a team's CSV without optional columns, built, then `carrier`
    made an analysis dimension by one line (the var, here on the command line; its field
    is `network.carrier.name`, read under that name through the var's `fields`), client_id
    taken out, and built again. Built ahead: its `--vars` makes dbt parse again, so it is one of the longer
    builds."""
    return built(request)


def test_a_dimension_added_in_one_line_finds_the_incident_planted_on_it(team_warehouse) -> None:
    wh, bad = team_warehouse
    rows = wh.rows("select finding_rank, segment from rca_findings where is_significant order by 1")
    print(f"\n  findings: {rows}")
    assert any(f"carrier={bad}" in segment for _, segment in rows), rows
    # client_id, left out of the list, is in no segment and its mart column is null
    assert all("client_id=" not in segment for _, segment in rows), rows
    assert wh.scalar("select count(*) from rca_findings where client_id is not null") == 0
    assert wh.scalar("select count(*) from rca_findings where api_name is not null") > 0
    assert (
        wh.scalar(
            "select count(distinct segment) from intermediate.int_rca_cells_counted where segment like 'carrier=%'"
        )
        == 4
    )  # every carrier is a segment


def test_a_document_type_failing_on_one_api_goes_to_that_apis_owner(team_warehouse) -> None:
    """A document type fails on BANK_VERIFY only, for four days (write_team_csv): whether
    the finding names the API or is the document type across APIs, BANK_VERIFY's owner
    gets it, and a finding across APIs names the API carrying its excess."""
    wh, _ = team_warehouse
    api, document = TEAM_API_DOCUMENT
    owner = wh.scalar("select owner_team from dim_apis where api_name = ?", [api])
    where = f"segment like '%document_type={document}%' and finding_type <> 'slo_breach'"
    rows = wh.rows(
        "select api_name, carrying_api_name, carrying_api_share, owner_team, evidence "
        f"from rca_findings where {where}"
    )
    print(f"\n  owner {owner}, {document} findings: {rows}")
    assert rows and owner and owner != "api-platform"
    for api_name, carrying, share, owner_team, evidence in rows:
        assert (api_name or carrying) == api and owner_team == owner, rows
        if api_name is None:
            assert share > 0.5 and f"{api}'s calls carry" in evidence, rows
    # the report's title of each names the API too
    with query(wh.db) as con:
        cur = con.execute(f"select * from rca_findings where {where}")
        names = [d[0] for d in cur.description]
        titles = [finding_title(dict(zip(names, row, strict=True))) for row in cur.fetchall()]
    print(f"  report titles: {titles}")
    assert len(titles) == len(rows)
    assert all(f"mostly {api})" in t or t.startswith(f"{api} ") for t in titles), titles


def test_a_team_csv_without_optional_columns_builds_with_no_finding_about_unknown(
    team_warehouse,
) -> None:
    wh, _ = team_warehouse
    assert (
        wh.scalar("select count(*) from fct_api_calls where client_id = 'unknown'")
        == TEAM_ROWS + TEAM_CUTOVER_ROWS
    )
    assert wh.rows("select segment from rca_findings where segment ilike '%unknown%'") == []
    assert wh.scalar("select count(*) from rca_findings where owner_team is null") == 0


def test_a_version_that_replaced_the_last_at_once_is_compared_before_and_after(
    team_warehouse,
) -> None:
    """A cutover (TEAM_CUTOVER: v2 never ran on a day with v1) has no day to compare the
    versions on; it was no regression at all ("no version is significantly slower") though
    v2 takes twice as long. Now it is compared before against after, and the incident of
    the same slow calls from that day is folded into the regression, its cause."""
    wh, _ = team_warehouse
    api, released = TEAM_CUTOVER
    regression = wh.rows(
        "select previous_version, is_cutover, is_latency_regression, first_seen_at "
        "from rca_version_regressions where api_name = ? and api_version = 'v2'", [api]
    )  # fmt: skip
    assert len(regression) == 1 and regression[0][:3] == ("v1", True, True), regression
    assert released <= regression[0][3] < released + timedelta(hours=1)
    findings = wh.rows(
        "select finding_type, segment, related_segments, evidence from rca_findings "
        "where metric = 'slow_call_share' and segment like ?", [f"%api_name={api}%"]
    )  # fmt: skip
    kinds = [f[0] for f in findings]
    assert kinds.count("version_regression") == 1 and "incident" not in kinds, findings
    _, segment, related, evidence = next(f for f in findings if f[0] == "version_regression")
    assert segment == f"api_name={api}, api_version=v2" and "(a cutover" in evidence, evidence
    # the detector's incident of those calls, if it found one, is listed under the release
    incidents = wh.rows(
        "select segment from intermediate.int_rca_candidates_tested where is_significant "
        "and finding_type = 'incident' and metric = 'slow_call_share' and segment like ?",
        [f"%api_name={api}%"],
    )  # fmt: skip
    print(f"\n  {api} slow-call incidents folded: {incidents}; related: {related}")
    for (incident,) in incidents:
        assert incident in (related or ""), (incident, related)


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


def test_the_cube_keeps_its_text_as_enums_in_text_order_and_the_marts_as_text(
    demo_warehouse: Warehouse,
) -> None:
    """Speed only, but what it rests on is checked: the leaf cube's text columns are ENUMs
    of exactly the values it holds, in text order (so they sort as text), the marts read
    text, and a segment typed like the cube marks a value outside it instead of reading it
    as null, which would mean "any value" in a join to the cube."""
    wh = demo_warehouse
    types = dict(wh.rows(
        "select column_name, data_type from duckdb_columns() "
        "where schema_name = 'intermediate' and table_name = 'int_rca_leaves_counted'"))  # fmt: skip
    for column in ("api_name", "region", "document_type", "error_reason", "failure_class"):
        assert types[column].startswith("ENUM("), (column, types[column][:40])
        held = [r[0] for r in wh.rows(
            f"select distinct cast({column} as varchar) as v from intermediate.int_rca_leaves_counted "
            "where v is not null order by v")]  # fmt: skip
        listed = wh.scalar(
            f"select enum_range(any_value({column})) from intermediate.int_rca_leaves_counted"
        )
        assert list(listed) == held, column
    fragile = dict(wh.rows(
        "select column_name, data_type from duckdb_columns() where table_name = 'rca_fragile_document_types'"))  # fmt: skip
    assert fragile["document_type"] == "VARCHAR" and fragile["api_name"] == "VARCHAR"
    sql = """
        select
            parsed.segment, typed.region, cast(typed.region as varchar) = 'Rural' as is_rural,
            typed.is_in_cube
        from (select segment, {{ api_trust.rca_segment_columns('segment') }}
            from (select unnest(['api_name=A, region=Rural', 'region=Nowhere', 'api_name=A']) as segment)
        ) as parsed
        cross join lateral (select
            {{ api_trust.rca_typed_dimension_columns('parsed', {'region': "ENUM('Metro', 'Rural')"}) }}
        ) as typed
    """
    proc = dbt(
        wh.db, wh.work, "show", "--quiet", "--output", "json", "--limit", "10", "--inline", sql
    )
    rows = {r["segment"]: r for r in json.loads(proc.stdout[proc.stdout.index("{") :])["show"]}
    assert (
        rows["api_name=A, region=Rural"]["is_rural"]
        and rows["api_name=A, region=Rural"]["is_in_cube"]
    )
    assert (
        rows["region=Nowhere"]["region"] is None and rows["region=Nowhere"]["is_in_cube"] is False
    )
    assert rows["api_name=A"]["region"] is None and rows["api_name=A"]["is_in_cube"] is True


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
        union all select 'llr_z_large', {{ api_trust.llr_z(520, 10000, 500) }}
        union all select 'llr_p_9_of_1', {{ api_trust.llr_p(9, 53, 1.13) }}
        union all select 'llr_p_3_of_06', {{ api_trust.llr_p(3, 30, 0.6) }}
        union all select 'llr_p_below', {{ api_trust.llr_p(4, 100, 5) }}
        union all select 'llr_p_inflated', {{ api_trust.llr_p(30, 100, 10, 2) }}
        union all select 'llr_p_plain', {{ api_trust.llr_p(30, 100, 10) }}
        union all select 'lift_lower_90_300_15', {{ api_trust.lift_lower(90, 300, 15) }}
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
    # large counts: the classical z of a proportion, by both tests
    wald = (0.052 - 0.05) / math.sqrt(0.05 * 0.95 / 10000)
    assert values["z_large"] == pytest.approx(wald, rel=0.05)
    assert values["llr_z_large"] == pytest.approx(wald, rel=0.1)
    assert values["z_two_ab"] == pytest.approx(-values["z_two_ba"])
    # the Chernoff bound is never below the exact binomial tail, and not wildly above it
    for name, k, n, e in (("llr_p_9_of_1", 9, 53, 1.13), ("llr_p_3_of_06", 3, 30, 0.6)):
        exact = _exact_upper_tail(k, n, e / n)
        assert exact <= values[name] < 40 * exact, (name, values[name], exact)
    assert values["llr_p_below"] == 1.0  # fewer than expected is no evidence of "more"
    # widening the variance by 2 is the square root of the bound
    assert values["llr_p_inflated"] == pytest.approx(math.sqrt(values["llr_p_plain"]), rel=1e-9)
    # 90 of 300 where 15 are expected: the Wilson lower bound of 0.3 over 0.05
    z, p, n = 1.96, 0.3, 300
    wilson = (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (
        1 + z * z / n
    )
    assert values["lift_lower_90_300_15"] == pytest.approx(wilson / 0.05, rel=1e-9)


# --------------------------------------------------------------------------- report


def test_recommendations_name_what_each_finding_counts(demo_warehouse: Warehouse) -> None:
    """The playbook's text is filled from the finding: a slow-call finding without a reason
    read "(failures)", and a release to roll back was named by its whole segment
    ("Roll back LIVENESS_CHECK api_name=LIVENESS_CHECK, api_version=v3")."""
    rows = demo_warehouse.rows(
        "select finding_type, metric, segment, api_name, api_version, recommendation "
        "from rca_findings"
    )
    assert any(m == "slow_call_share" and t == "incident" for t, m, *_ in rows)
    assert any(t == "version_regression" for t, *_ in rows)
    # a traffic drop's values are calls seen and expected, not calls per call (100% vs 1118%)
    drops = demo_warehouse.rows(
        "select calls, segment_value, baseline_value, lift from rca_findings where metric = 'calls'"
    )
    assert drops
    for calls, seen, expected, lift in drops:
        assert seen == calls < expected and lift == pytest.approx(seen / expected, rel=1e-9)
    for kind, metric, segment, api, version, text in rows:
        assert "{" not in text, text
        if metric == "slow_call_share":
            assert "failure" not in text.lower(), text
        if kind == "version_regression":
            assert text.startswith(f"Roll back {api} {version} ("), text
            assert segment not in text, text


def test_report_writes_insights_with_owned_findings(demo_warehouse: Warehouse) -> None:
    proc = run([sys.executable, "-m", "api_trust.report"], demo_warehouse.db, demo_warehouse.work)
    path = demo_warehouse.work / "dashboards" / "insights.md"
    assert str(path) in proc.stdout.strip().splitlines()[-1]
    text = path.read_text(encoding="utf-8")
    for heading in ("## Headline", "## SLO status", "## Conversion", "## Top"):
        assert heading in text
    top = demo_warehouse.rows("select owner_team, evidence, recommendation from rca_findings "
                              "where finding_rank <= 10 order by finding_rank")  # fmt: skip
    assert top
    for owner, evidence, recommendation in top:
        assert f"owner: {owner}" in text and evidence in text and recommendation in text
    assert datetime.now().strftime("%Y-%m-%d") in text
    assert (ROOT / "Makefile").read_text().count("api_trust.report") >= 1


@in_background
def test_bursty_traffic_with_nothing_planted_gives_no_finding(tmp_path) -> None:
    """Real arrivals are burstier than Poisson within a day (a batch job, a retrying client):
    here each API-hour's calls are Poisson around a gamma-distributed level (relative
    variance 0.05), independent from hour to hour, with steady days and a steady 2% of
    failures, and nothing planted but failures above the SLOs. The day-to-day dispersion does not see such bursts (a
    day's sum averages them away): on main, tested at the hour grain against it, a 10-day
    log of three APIs gave traffic drops that were only bursts. The hour-to-hour
    dispersion is now learnt as well (macro seasonal_baseline_ctes), and no incident or
    traffic drop is reported."""
    rng = np.random.default_rng(5)
    start = datetime(2026, 11, 2)
    rows = []
    for api in ("PAN_OCR", "FACE_MATCH", "BANK_VERIFY"):
        for hour in range(10 * 24):
            at = start + timedelta(hours=hour)
            level = 40 * (1.5 + math.sin((at.hour - 7) / 24 * 2 * math.pi)) / 1.5
            calls = rng.poisson(rng.gamma(20, level / 20))  # shape 20: relative variance 0.05
            for i in range(calls):
                failed = rng.random() < 0.02
                rows.append([f"{api}-{hour}-{i}", f"{at + timedelta(seconds=int(rng.integers(3600)))}",
                             api, "v1", "Metro", "Bank", "PAN", "fail" if failed else "success",
                             "500" if failed else "200", f"{rng.lognormal(6, 0.3):.0f}",
                             "internal_error" if failed else ""])  # fmt: skip
    path = tmp_path / "bursty.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["request_id", "timestamp", "api_name", "api_version", "region",
                         "client_type", "document_type", "status", "status_code", "latency_ms",
                         "error_reason"])  # fmt: skip
        writer.writerows(rows)
    db = tmp_path / "warehouse.duckdb"
    run([sys.executable, "-m", "api_trust.ingest", str(path)], db, tmp_path)
    dbt(db, tmp_path, "build", "--quiet", *ROOT_CAUSE_SELECTION)
    wh = Warehouse(db, tmp_path)
    # the bursts are there, and learnt: far beyond the day-to-day variation
    hour, day = wh.rows("""
        select avg(traffic_hour_dispersion), avg(traffic_day_dispersion)
        from intermediate.int_rca_api_hours_baselined where is_traffic_tested
    """)[0]  # fmt: skip
    assert hour > 0.02 and hour > 5 * day, (hour, day)
    # what is left is what the data holds: 2% failures breach SLOs of 99.5%
    found = wh.rows("select distinct finding_type from rca_findings")
    assert set(found) <= {("slo_breach",)}, found
