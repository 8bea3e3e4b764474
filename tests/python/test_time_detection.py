"""Time done right (issue 11 items 4 and 6): incidents, traffic drops and SLO alerts.

The rules (dispersion, window suppression, alert windows, breach rule) have dbt unit
tests next to their models (models/intermediate/root_cause/time/_time__models.yml).
Here they meet real data: the generator's planted time-bounded incidents must come
out of rca_incidents and nothing else may; a warehouse with every nuisance and no
incident must report none; burn rates and the 5-minute alert replay are recounted
from the calls by an independent implementation; the p-values and bounds the macros
approximate are checked against exact Poisson tails; and a team's own SLO catalogue
overrides ours without editing it.
"""

from __future__ import annotations

import math
import shutil
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from api_trust.contract import project_vars
from api_trust.dashboard.marts import read_marts
from api_trust.dashboard.payload import build_keys
from conftest import Warehouse, ahead, built, dbt, generate

VARS = project_vars()
FIVE_MINUTES = pd.Timedelta(minutes=5)
# The time side's models and what they read (seeds and models; their tests run in the full builds).
TIME_SELECTION = (
    "--select",
    "+rca_incidents",
    "+int_rca_time_candidates",
    "--resource-type",
    "seed",
    "model",
)


@ahead("baseline_warehouse")
def _baseline(tmp_path_factory, _: object) -> Warehouse:
    work = tmp_path_factory.mktemp("time_baseline")
    wh = Warehouse(work / "warehouse.duckdb", work)
    generate(wh.db, wh.work, "--rows", "120000", "--seed", "5", "--scenario", "baseline")
    dbt(wh.db, wh.work, "build", "--quiet", *TIME_SELECTION)
    return wh


@pytest.fixture(scope="module")
def baseline_warehouse(request) -> Warehouse:
    """Every nuisance the generator has (seasonality, overdispersion, the nightly bump)
    and no planted incident, at the demo's size: only the time side is built (ahead, on
    the background pool)."""
    return built(request)


def planted_windows(wh: Warehouse) -> pd.DataFrame:
    """Planted, time-bounded incidents: their API (when they name one) and window."""
    return wh.df("""
        select kind, segment, window_start, window_end,
               case when segment like 'api_name=%' then split_part(split_part(segment, ', ', 1), '=', 2) end
                   as api_name,
               segment like 'api_name=%' and segment not like '%,%' as is_whole_api
        from raw.generator_effects
        where is_incident and window_start is not null
    """)  # fmt: skip


# --------------------------------------------------------------------------- detection


def test_every_planted_outage_spike_and_drop_of_an_api_is_an_incident(
    demo_warehouse: Warehouse,
) -> None:
    """A planted window on a whole API (an outage, an error spike on a small API, a quiet
    hour outage, a traffic drop) is an rca_incidents row of the right kind overlapping it."""
    planted = planted_windows(demo_warehouse)
    planted = planted[planted["is_whole_api"]]
    assert (planted["kind"] == "traffic_drop").any() and (planted["kind"] != "traffic_drop").any()
    incidents = demo_warehouse.df("select * from rca_incidents")
    for effect in planted.itertuples():
        kind = "traffic_drop" if effect.kind == "traffic_drop" else "incident"
        found = incidents[
            (incidents["api_name"] == effect.api_name)
            & (incidents["finding_type"] == kind)
            & (incidents["started_at"] < effect.window_end)
            & (incidents["ended_at"] > effect.window_start)
        ]
        assert len(found) == 1, (effect, incidents[["incident_id", "started_at", "ended_at"]])
        # the window is the incident's, not a day around it
        assert found["ended_at"].iloc[0] - found["started_at"].iloc[0] <= 2 * (
            effect.window_end - effect.window_start
        ) + timedelta(hours=2)


def test_every_incident_is_a_planted_one(demo_warehouse: Warehouse) -> None:
    """No incident outside a planted window that covers its API (or all APIs): day-to-day
    variation, the nightly maintenance bump and quiet hours are not incidents."""
    planted = planted_windows(demo_warehouse)
    incidents = demo_warehouse.df("select * from rca_incidents")
    assert len(incidents) >= 2
    for incident in incidents.itertuples():
        covering = planted[
            (planted["api_name"].isna() | (planted["api_name"] == incident.api_name))
            & (planted["window_start"] < incident.ended_at)
            & (planted["window_end"] > incident.started_at)
        ]
        assert len(covering), incident


def test_every_incident_rca_findings_names_for_an_api_is_an_rca_incidents_row(
    demo_warehouse: Warehouse,
) -> None:
    """One meaning of "incident": an incident or traffic drop that rca_findings ranks for
    an API, whichever test found it, overlaps an rca_incidents row of that API and kind,
    which the incident timeline shades (the rules: unit test of rca_incidents)."""
    named = demo_warehouse.scalar(
        "select count(*) from rca_findings "
        "where finding_type in ('incident', 'traffic_drop') and api_name is not null"
    )
    missing = demo_warehouse.rows("""
        select findings.finding_type, findings.segment, findings.started_at
        from rca_findings as findings
        where findings.finding_type in ('incident', 'traffic_drop') and findings.api_name is not null
          and not exists (
            select 1 from rca_incidents as incidents
            where incidents.api_name = findings.api_name
              and incidents.finding_type = findings.finding_type
              and incidents.started_at < findings.ended_at
              and incidents.ended_at > findings.started_at)
    """)  # fmt: skip
    assert named >= 2 and missing == [], missing


def test_no_incident_when_nothing_was_planted(baseline_warehouse: Warehouse) -> None:
    """With every nuisance and no incident, the scan finds nothing beyond chance, and no
    time candidate is strong enough to survive even a Bonferroni over the time side alone."""
    assert (
        baseline_warehouse.scalar("select count(*) from raw.generator_effects where is_incident")
        == 0
    )
    assert baseline_warehouse.scalar("select count(*) from rca_incidents") == 0
    candidates = baseline_warehouse.df("select * from intermediate.int_rca_time_candidates")
    windows = candidates[candidates["finding_type"].isin(["incident", "traffic_drop"])]
    assert (windows["p_value"] * max(len(candidates), 1) > VARS["rca_fdr_q"]).all(), windows


# --------------------------------------------------------------------------- statistics


def regularized_lower_gamma(a: float, x: float) -> float:
    """P(a, x) (Numerical Recipes gser / gcf): the exact Poisson tail P(X >= a | mean x)."""
    if x <= 0:
        return 0.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        while abs(term) > abs(total) * 1e-15:
            n += 1
            term *= x / n
            total += term
        return total * math.exp(log_front)
    b, c, d = x + 1 - a, 1e300, 1 / (x + 1 - a)
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = 1 / (an * d + b)
        c = b + an / c
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return 1 - math.exp(log_front) * h


def test_window_p_values_and_bounds_match_exact_poisson_tails(demo_warehouse: Warehouse) -> None:
    """The cube-root approximation (macros/time_statistics.sql) against the exact tail on
    every tested window: within a few percent where it matters, and the lift's lower
    bound is where the exact tail is 2.5%."""
    windows = demo_warehouse.df("select * from intermediate.int_rca_time_windows_tested")
    assert len(windows) >= 3
    checked = 0
    for w in windows.itertuples():
        observed, expected = w.observed / w.dispersion, w.expected / w.dispersion
        if w.window_type == "incident":
            exact = regularized_lower_gamma(observed, expected)
        else:
            exact = 1 - regularized_lower_gamma(observed + 1, expected)
        if 1e-9 < exact < 0.5:
            assert w.raw_p_value == pytest.approx(exact, rel=0.2), w
            checked += 1
        if w.window_type == "incident" and observed >= 3:
            lower = w.lift_lower * w.expected / w.dispersion
            assert 0.015 < regularized_lower_gamma(observed, lower) < 0.035, w
    assert checked >= 3


def test_slo_breach_p_value_is_exact_for_one_bad_call_in_161() -> None:
    """The issue's example: 1 bad call in 161 at 99.9% is exact p = 0.15 (not a breach)."""
    exact = 1 - (1 - 0.001) ** 161
    assert regularized_lower_gamma(1, 0.161) == pytest.approx(exact, rel=0.02)


# --------------------------------------------------------------------------- SLOs


def poisson_lower(k: float, z: float = 1.96) -> float:
    """Twin of macros/time_statistics.sql poisson_lower_bound."""
    return k * max(0.0, 1 - 1 / (9 * k) - z / (3 * math.sqrt(k))) ** 3 if k > 0 else 0.0


def api_buckets(wh: Warehouse) -> pd.DataFrame:
    """Eligible and bad calls per API and 5-minute bucket, straight from the facts."""
    bad = ", ".join(f"'{c}'" for c in VARS["availability_failure_classes"])
    return wh.df(f"""
        select api_name, time_bucket(interval 5 minute, called_at) as bucket_at,
               count(*) filter (where coalesce(failure_class, '') <> 'auth') as eligible,
               count(*) filter (where failure_class in ({bad})) as bad
        from fct_api_calls
        where is_api_traffic is not false
        group by all
    """)  # fmt: skip


def test_burn_rates_and_breaches_match_a_recount_from_the_calls(demo_warehouse: Warehouse) -> None:
    slo = demo_warehouse.df("select * from agg_slo_status").set_index("api_name")
    buckets = api_buckets(demo_warehouse)
    end = buckets["bucket_at"].max() + FIVE_MINUTES
    assert (slo["measured_at"] == end).all()
    checked = 0
    for hours in (1, 6):
        recent = buckets[buckets["bucket_at"] >= end - pd.Timedelta(hours=hours)]
        for api, g in recent.groupby("api_name"):
            eligible, bad = g["eligible"].sum(), g["bad"].sum()
            assert (
                slo.loc[api, f"eligible_calls_{hours}h"],
                slo.loc[api, f"bad_calls_{hours}h"],
            ) == (eligible, bad)
            if eligible:
                expected = bad / eligible / (1 - slo.loc[api, "availability_target"])
                assert slo.loc[api, f"burn_rate_{hours}h"] == pytest.approx(
                    expected, rel=1e-9, abs=1e-12
                )
                checked += 1
    assert checked > 20
    budget = (1 - slo["availability_target"]) * slo["eligible_calls"]
    assert np.allclose(slo["error_budget_calls"], budget)
    beyond_doubt = [
        bad >= VARS["slo_min_bad_calls"] and poisson_lower(bad) > allowed
        for bad, allowed in zip(slo["bad_calls"], budget, strict=True)
    ]
    assert (slo["is_breach_significant"] == beyond_doubt).all()
    assert ((slo["status"] == "breached") == slo["is_breach_significant"]).all()
    assert (
        slo["is_breach_significant"].any()
        and (slo["is_over_budget"] & ~slo["is_breach_significant"]).any()
    )


def replay_alerts(buckets: pd.DataFrame, slo: pd.DataFrame) -> set[tuple]:
    """The multiwindow, multi-burn-rate rules evaluated at every 5-minute step of every
    API (dense, numpy): (api, severity, fired_at, resolved_at or None)."""
    rules, z, min_bad = (
        VARS["slo_alert_rules"],
        VARS["slo_alert_bound_z"],
        VARS["slo_alert_min_bad_calls"],
    )
    first, last = buckets["bucket_at"].min(), buckets["bucket_at"].max()
    steps = int((last - first) / FIVE_MINUTES) + 1
    alerts = set()
    for api, g in buckets.groupby("api_name"):
        idx = ((g["bucket_at"] - first) / FIVE_MINUTES).astype(int).to_numpy()
        series = {k: np.zeros(steps) for k in ("eligible", "bad")}
        for k in series:
            np.add.at(series[k], idx, g[k].to_numpy())
        cum = {k: np.concatenate([[0.0], np.cumsum(v)]) for k, v in series.items()}

        def window(kind: str, minutes: int, cum=cum) -> np.ndarray:
            n = minutes // 5
            ends = np.arange(1, steps + 1)
            return cum[kind][ends] - cum[kind][np.maximum(ends - n, 0)]

        target, period = slo.loc[api, "availability_target"], slo.loc[api, "slo_period_days"]
        firing: dict[str, np.ndarray] = {}
        for rule in rules:
            allowed = (
                rule["budget_share"] * period * 1440 / rule["long_window_minutes"] * (1 - target)
            )
            long_e, long_b = (
                window("eligible", rule["long_window_minutes"]),
                window("bad", rule["long_window_minutes"]),
            )
            short_e, short_b = (
                window("eligible", rule["short_window_minutes"]),
                window("bad", rule["short_window_minutes"]),
            )
            long_b_bound = np.array([poisson_lower(b, z) for b in long_b]) if z > 0 else long_b
            fires = (
                (long_e > 0)
                & (long_b_bound >= allowed * long_e)
                & (long_b >= min_bad)
                & (short_e > 0)
                & (short_b >= allowed * short_e)
            )
            firing[rule["severity"]] = firing.get(rule["severity"], np.zeros(steps, bool)) | fires
        for severity, fires in firing.items():
            edges = np.diff(np.concatenate([[0], fires.astype(int), [0]]))
            for start, stop in zip(
                np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True
            ):
                fired = first + (start + 1) * FIVE_MINUTES
                resolved = None if stop == steps else first + (stop + 1) * FIVE_MINUTES
                alerts.add((api, severity, fired, resolved))
    return alerts


def test_alert_replay_matches_a_dense_recount(demo_warehouse: Warehouse) -> None:
    """agg_slo_alerts_replayed evaluates only steps that can fire; an evaluation of every
    step of every API from the calls gives the same alerts, fired and resolved at the same
    5-minute steps. The planted outage pages; a page resolves within minutes."""
    slo = demo_warehouse.df("select * from agg_slo_status").set_index("api_name")
    expected = replay_alerts(api_buckets(demo_warehouse), slo)
    mart = demo_warehouse.df("select * from agg_slo_alerts_replayed")
    got = {
        (r.api_name, r.severity, r.fired_at, None if pd.isna(r.resolved_at) else r.resolved_at)
        for r in mart.itertuples()
    }
    assert got == expected
    pages = mart[mart["severity"] == "page"]
    outages = planted_windows(demo_warehouse).query("kind == 'outage'")
    for outage in outages.itertuples():
        paged = pages[
            (pages["api_name"] == outage.api_name)
            & (pages["fired_at"] >= outage.window_start)
            & (pages["fired_at"] < outage.window_end)
        ]
        assert len(paged), outage
        # the short window resolves the page soon after the outage, not an hour later
        assert (paged["resolved_at"] <= outage.window_end + pd.Timedelta(minutes=35)).all(), paged


def test_a_team_catalogue_overrides_ours_value_by_value(
    demo_warehouse: Warehouse, tmp_path, monkeypatch
) -> None:
    """A team's CSV (any subset of columns, its own spelling of names) wins over seed
    api_catalogue without editing it; unusable values fall through; unknown APIs get the
    default SLO from vars. Its owners are the owners everywhere: the API dimension, the
    facts and the findings route to them. A name it lists is a service, never a likely
    misspelling: the dashboard gives it an entry of its own."""
    wh = Warehouse(tmp_path / "warehouse.duckdb", tmp_path)
    shutil.copyfile(demo_warehouse.db, wh.db)
    # a name the demo's catalogue does not list, close to one that it does
    listed = demo_warehouse.scalar(
        "select max(api_name) from dim_apis where name_source = 'likely_typo'"
    )
    team = tmp_path / "team_slos.csv"
    team.write_text(
        "api_name,owner_team,availability_target,slo_period_days\n"
        "pan ocr,team-x,0.9,7\n"
        "FACE_MATCH,,1.5,\n"  # no owner, an impossible target: both fall through to ours
        f"{listed},team-y,,\n"
    )
    monkeypatch.setenv("API_TRUST_SLO_CATALOGUE", str(team))
    dbt(
        wh.db,
        wh.work,
        "run",
        "--quiet",
        "--select",
        "int_api_slos_resolved",
        "int_slo_periods_measured",
        "agg_slo_status",
        "dim_apis",
        "rca_findings",
    )
    slos = wh.df("select * from intermediate.int_api_slos_resolved").set_index("api_name")
    assert tuple(
        slos.loc[
            "PAN_OCR",
            [
                "owner_team",
                "availability_target",
                "latency_slo_ms",
                "slo_period_days",
                "slo_source",
            ],
        ]
    ) == ("team-x", 0.9, 3000.0, 7.0, "team")
    assert tuple(slos.loc["FACE_MATCH", ["owner_team", "availability_target", "slo_source"]]) == (
        "biometrics",
        0.995,
        "team",
    )
    unknown = slos[slos["slo_source"] == "default"]
    assert (
        len(unknown)
        and (unknown["availability_target"] == VARS["slo_default_availability_target"]).all()
    )
    status = wh.df("select * from agg_slo_status").set_index("api_name")
    before = demo_warehouse.df("select * from agg_slo_status").set_index("api_name")
    pan = status.loc["PAN_OCR"]
    assert pan["owner_team"] == "team-x" and pan["period_started_at"] == pan[
        "measured_at"
    ] - pd.Timedelta(days=7)
    assert 0 < pan["eligible_calls"] < before.loc["PAN_OCR", "eligible_calls"]
    assert pan["error_budget_calls"] == pytest.approx(0.1 * pan["eligible_calls"])
    # one owner everywhere: PAN_OCR's is team-x's now, FACE_MATCH's (no owner given) ours
    owners = dict(wh.rows("select api_name, owner_team from dim_apis"))
    assert (owners["PAN_OCR"], owners["FACE_MATCH"]) == ("team-x", "biometrics")
    assert wh.rows("select distinct owner_team from fct_api_calls where api_name = 'PAN_OCR'") == [
        ("team-x",)
    ]
    findings = (
        "select finding_id, coalesce(api_name, carrying_api_name), owner_team from rca_findings"
    )
    before_owner = {fid: owner for fid, _, owner in demo_warehouse.rows(findings)}
    after = wh.rows(findings)
    assert {fid for fid, _, _ in after} == set(before_owner)
    moved = [fid for fid, api, owner in after if owner != before_owner[fid]]
    # what PAN_OCR's catalogue owner had now goes to team-x; no other finding moves
    ours = demo_warehouse.scalar("select owner_team from dim_apis where api_name = 'PAN_OCR'")
    expected = [fid for fid, api, _ in after if api == "PAN_OCR" and before_owner[fid] == ours]
    assert moved == expected and expected, (moved, expected)
    assert all(owner == "team-x" for fid, _, owner in after if fid in moved)
    # the team's own name: its source and owner, and an entry of its own on the dashboard
    assert wh.rows(
        "select name_source, likely_typo_of, owner_team from dim_apis where api_name = ?", [listed]
    ) == [("team_catalogue", None, "team-y")]
    with duckdb.connect(str(wh.db), read_only=True) as con:
        keys, key_of = build_keys(read_marts(con, ("apis",)).get("apis"))
    entry = {k["key"]: k for k in keys}
    assert key_of[listed] == listed and entry[listed]["owner"] == "team-y"
    assert entry[listed]["family"] == "OWN" and listed not in entry["unknown"]["members"]
