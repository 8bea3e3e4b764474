"""The generator's nuisances and incidents are in its output, at the size it records.

Root cause is graded against raw.generator_effects, so the generator must do
what that table says: traffic with a daily and weekly shape, failure rates
that vary by day beyond binomial noise, client types concentrated in regions,
a nightly bump, SDK releases rolling out per client, and (scenario `default`)
incidents whose segments fail more by about the rate they record, a traffic
drop with empty hours, and a slower release. Most tests call the simulation
directly on 120k-200k calls (the test size of the root-cause suite); two
small runs check what lands in the warehouse.
"""

from __future__ import annotations

import copy
import re
import sys
from datetime import datetime, timedelta

import numpy as np
import pytest
from api_trust.contract import project_vars
from api_trust.pii import has_pii_sql
from api_trust.simulation import (
    CLIENT_TYPES,
    HOUR_WEIGHT,
    MAINTENANCE_FAILURE_RATE,
    MAINTENANCE_FAMILIES,
    MAINTENANCE_UTC_MINUTES,
    REGION_SHARE_BY_CLIENT_TYPE,
    REGIONS,
    SDK_RELEASES,
    WEEKDAY_WEIGHT,
    World,
    arrived,
    build_world,
    calls_for_window,
    choose,
    effect_mask,
    first_attempts,
    simulate,
    stable_order,
    version_numbers,
)
from conftest import Warehouse, generate, run

END = datetime(2026, 11, 1)
DAYS = 28  # four whole weeks: every weekday and hour equally often
START = END - timedelta(days=DAYS)
TEST_ROWS = 120_000
SEEDS = (1, 2, 3, 4, 5)
NUISANCES = {"traffic_seasonality", "daily_dispersion", "correlated_dimensions", "sdk_rollout",
             "maintenance_window"}  # fmt: skip
HOUR_MS, DAY_MS = 3_600_000, 86_400_000


def _world(scenario: str, seed: int) -> World:
    return build_world(scenario, seed, START, END)


@pytest.fixture(scope="module")
def baseline_calls():
    """200k calls of the baseline scenario, retries included, as the generator draws them."""
    world = _world("baseline", 3)
    return world, calls_for_window(world, np.random.default_rng(30), 200_000, START, END, 0)


def _first_attempts(world: World, seed: int, n: int = TEST_ROWS):
    return arrived(world, np.random.default_rng([seed, 2]),
                   first_attempts(world, np.random.default_rng([seed, 1]), n, START, END, 0))  # fmt: skip


def _dispersion_index(world: World, calls, api: int) -> float:
    """Pearson chi-square per degree of freedom of the API's daily failure counts (1 = binomial)."""
    mine = calls.api == api
    day = (calls.called_at_ms[mine] - _ms(START)) // DAY_MS
    failed = calls.reason[mine] >= 0
    n = np.bincount(day, minlength=DAYS)
    f = np.bincount(day, weights=failed, minlength=DAYS)
    p = f.sum() / n.sum()
    return float(((f - n * p) ** 2 / (n * p * (1 - p))).sum() / (DAYS - 1))


def _ms(dt: datetime) -> int:
    return int((dt - datetime(1970, 1, 1)).total_seconds() * 1000)


# --------------------------------------------------------------------------- nuisances


def test_traffic_follows_a_daily_and_weekly_shape(baseline_calls) -> None:
    _, calls = baseline_calls
    first = calls.attempt_no == 1
    hour = (calls.called_at_ms[first] // HOUR_MS) % 24
    per_hour = np.bincount(hour, minlength=24) / first.sum()
    assert np.corrcoef(per_hour, HOUR_WEIGHT)[0, 1] > 0.98
    assert per_hour.max() / per_hour.min() > 3, "business hours carry several times the night"
    weekday = ((calls.called_at_ms[first] // DAY_MS) + 3) % 7  # Monday = 0
    per_day = np.bincount(weekday, minlength=7)
    ratio = per_day / per_day[:4].mean()
    assert ratio[6] == pytest.approx(WEEKDAY_WEIGHT[6], abs=0.04)  # Sunday
    assert ratio[5] == pytest.approx(WEEKDAY_WEIGHT[5], abs=0.04)  # Saturday


def test_failure_rates_vary_by_day_beyond_binomial(baseline_calls) -> None:
    """The per API-day factor makes daily failure counts overdispersed; without it they are not."""
    world, _ = baseline_calls
    busiest = np.argsort(-world.catalogue.traffic)[:2]  # enough calls a day to see it
    calls = simulate(world, np.random.default_rng(5), _first_attempts(world, 3, 200_000))
    steady = copy.copy(world)
    steady.day_factor = np.ones_like(world.day_factor)
    control = simulate(steady, np.random.default_rng(5), _first_attempts(world, 3, 200_000))
    for api in busiest:
        name = world.catalogue.names[api]
        assert _dispersion_index(world, calls, api) > 3, name
        assert _dispersion_index(steady, control, api) < 2.0, f"{name} without the daily factor"


def test_region_depends_on_client_type(baseline_calls) -> None:
    world, calls = baseline_calls
    client_type = world.client_type_of[calls.client]
    for t, name in enumerate(CLIENT_TYPES):
        mine = client_type == t
        if mine.sum() < 3000:
            continue
        share = np.bincount(calls.region[mine], minlength=len(REGIONS)) / mine.sum()
        assert share == pytest.approx(REGION_SHARE_BY_CLIENT_TYPE[t], abs=0.03), name
    telecom = client_type == CLIENT_TYPES.index("Telecom")
    rural = calls.region == REGIONS.index("Rural")
    assert rural[telecom].mean() > 3 * rural[~telecom].mean()


def test_the_nightly_maintenance_bump_is_small_and_every_night(baseline_calls) -> None:
    world, _ = baseline_calls
    cat = world.catalogue
    bank = np.flatnonzero(np.isin(cat.families, MAINTENANCE_FAMILIES))
    calls = simulate(world, np.random.default_rng(6), _first_attempts(world, 6, 400_000))
    mine = np.isin(calls.api, bank)
    minute = (calls.called_at_ms % DAY_MS) // 60_000
    lo, hi = MAINTENANCE_UTC_MINUTES
    inside = mine & (minute >= lo) & (minute < hi)
    around = mine & (minute >= lo - 180) & (minute < hi + 150) & ~inside
    failed = calls.reason >= 0
    bump = failed[inside].mean() - failed[around].mean()
    assert bump == pytest.approx(MAINTENANCE_FAILURE_RATE, abs=0.03)
    nights = np.unique(calls.called_at_ms[inside] // DAY_MS)
    assert len(nights) >= DAYS - 1, "the bump recurs every night"


def test_sdk_versions_roll_out_per_client(baseline_calls) -> None:
    _, calls = baseline_calls
    order = np.lexsort((calls.called_at_ms, calls.client))
    client, sdk = calls.client[order], calls.sdk[order]
    same_client = client[1:] == client[:-1]
    assert (sdk[1:][same_client] >= sdk[:-1][same_client]).all(), "a client never downgrades"
    newest = len(SDK_RELEASES) - 1
    week = (calls.called_at_ms - _ms(START)) // (7 * DAY_MS)
    share = [(calls.sdk[week == w] == newest).mean() for w in range(4)]
    assert share[0] == 0 and share[3] > share[2] > 0, f"the last release ships mid-run: {share}"
    in_use = np.bincount(calls.sdk, minlength=len(SDK_RELEASES))
    assert (in_use > 0).sum() >= 4


def test_baseline_has_every_nuisance_and_no_incident() -> None:
    for seed in SEEDS:
        world = _world("baseline", seed)
        kinds = {e.kind for e in world.effects}
        assert kinds >= NUISANCES
        assert not world.incidents
        # the API alone decides: no effect on a segment of an API or across APIs
        assert kinds <= NUISANCES | {"api_profile"}


# --------------------------------------------------------------------------- incidents


@pytest.mark.parametrize("seed", SEEDS)
def test_incident_segments_fail_more_by_the_rate_they_record(seed: int) -> None:
    """Same calls, same random draws, with and without the incident: the difference is
    the incident alone. It adds about its recorded rate and is visible at 120k calls."""
    world = _world("default", seed)
    calls = _first_attempts(world, seed)
    for effect in world.incidents:
        if effect.failure_rate_added is None:
            continue
        mask = effect_mask(world, calls, effect)
        affected = calls.take(mask)
        without = copy.copy(world)
        without.effects = [e for e in world.effects if e is not effect]
        with_it = simulate(world, np.random.default_rng(seed), copy.copy(affected)).reason >= 0
        base = simulate(without, np.random.default_rng(seed), copy.copy(affected)).reason >= 0
        added = with_it.mean() - base.mean()
        excess, expected = int(with_it.sum() - base.sum()), max(int(base.sum()), 1)
        label = f"{effect.kind} {effect.segment}: {mask.sum()} calls, +{added:.3f}"
        rate = effect.failure_rate_added
        # the calls whose draw lands in the added band are binomial(n, rate)
        assert abs(added - rate) < 4 * np.sqrt(rate * (1 - rate) / mask.sum()), label
        assert excess >= 5 and excess / np.sqrt(expected) > 3, label


@pytest.mark.parametrize("seed", SEEDS)
def test_traffic_drop_hours_fall_far_below_normal(seed: int) -> None:
    world = _world("default", seed)
    (drop,) = [e for e in world.incidents if e.kind == "traffic_drop"]
    calls = calls_for_window(world, np.random.default_rng(seed), TEST_ROWS, START, END, 0)
    t = calls.called_at_ms[calls.api == world.catalogue.index(drop.api_name)]
    w0, w1 = _ms(drop.window_start), _ms(drop.window_end)

    def count(lo: int, hi: int, shift_days: int = 0) -> int:
        return int(((t >= lo + shift_days * DAY_MS) & (t < hi + shift_days * DAY_MS)).sum())

    # normal: the same time of day on the other weekdays (or the other weekend days)
    day0 = (w0 - _ms(START)) // DAY_MS
    weekend = [(START + timedelta(days=d)).weekday() >= 5 for d in range(DAYS)]
    shifts = [d - day0 for d in range(DAYS) if d != day0 and weekend[d] == weekend[day0]]
    normal_window = np.mean([count(w0, w1, k) for k in shifts])
    normal_core = np.mean([count(w0 + HOUR_MS, w1 - HOUR_MS, k) for k in shifts])
    assert count(w0 + HOUR_MS, w1 - HOUR_MS) == 0, "no calls at all between the edge hours"
    assert normal_core >= 2 * (w1 - w0 - 2 * HOUR_MS) / HOUR_MS, "hours that normally have calls"
    assert count(w0, w1) <= 0.35 * normal_window, (count(w0, w1), normal_window)


@pytest.mark.parametrize("seed", SEEDS)
def test_version_regression_is_slower_and_rolls_out(seed: int) -> None:
    world = _world("default", seed)
    (reg,) = [e for e in world.incidents if e.kind == "version_regression"]
    calls = simulate(world, np.random.default_rng(seed), _first_attempts(world, seed))
    cat = world.catalogue
    api = cat.index(reg.api_name)
    version = version_numbers(cat, calls)
    newest = int(reg.api_version[1:])
    ok = (calls.api == api) & (calls.reason < 0) & (calls.region == 0)  # one region: no mix shift
    slow = np.median(calls.latency_ms[ok & (version == newest)])
    before = np.median(calls.latency_ms[ok & (version == newest - 1)])
    assert slow / before == pytest.approx(reg.latency_multiplier, rel=0.2)
    live_ms, _ = world.version_release[api]
    first_seen = calls.called_at_ms[(calls.api == api) & (version == newest)].min()
    assert first_seen >= live_ms > _ms(START), "the new version appears during the run"


def test_incidents_cover_the_shapes_real_incidents_take() -> None:
    segments = set()
    median_hour_weight = np.median(HOUR_WEIGHT)
    for seed in range(1, 11):
        world = _world("default", seed)
        planted = world.incidents
        kinds = {e.kind for e in planted}
        assert {"outage", "traffic_drop", "sdk_regression", "error_spike"} <= kinds
        assert {e.depth for e in planted} >= {1, 2, 3}
        assert any(e.api_name is None and e.depth >= 2 for e in planted), "one without an API"
        assert any(e.sdk_version is not None for e in planted)
        (outage,) = [e for e in planted if e.kind == "outage"]
        assert HOUR_WEIGHT[outage.window_start.hour] < median_hour_weight, "a quiet hour"
        (spike,) = [e for e in planted if e.kind == "error_spike"]
        assert world.catalogue.traffic[world.catalogue.index(spike.api_name)] <= 0.035
        segments.add(tuple(sorted(e.segment for e in planted)))
    assert len(segments) == 10, "targets vary by seed"


# --------------------------------------------------------------------------- the recorded truth


def test_segments_are_written_as_findings_write_them() -> None:
    dims = project_vars()["analysis_dimensions"]
    order = ["api_name", *dims["core"], *dims["extra"]]
    pattern = re.compile(r"[a-z_]+=[^,=]+(, [a-z_]+=[^,=]+)*")
    for seed in SEEDS:
        for effect in _world("default", seed).effects:
            named = [(d, getattr(effect, d)) for d in order if getattr(effect, d, None) is not None]
            expected = ", ".join(f"{d}={v}" for d, v in named) or None
            assert effect.segment == expected
            assert effect.segment is None or pattern.fullmatch(effect.segment)


def test_the_warehouse_gets_sdk_version_on_every_record_and_the_effects(tmp_path) -> None:
    db = tmp_path / "warehouse.duckdb"
    generate(db, tmp_path, "--rows", "4000", "--seed", "5", "--batches", "2", "--drift")
    wh = Warehouse(db, tmp_path)
    assert wh.rows("""
        select count(*), count(extra_fields->>'$.sdk_version'), count(extra_fields->>'$.device_os')
        from raw.api_calls
    """)[0][:2] == (4000, 4000)
    columns = set(wh.rows("select batch_id, column_name from raw.load_batch_columns"))
    batches = [b for (b,) in wh.rows("select batch_id from raw.load_batches order by 1")]
    assert all((b, "sdk_version") in columns for b in batches)
    assert (batches[0], "device_os") not in columns and (batches[1], "device_os") in columns
    planted = wh.rows("""
        select kind, segment, window_start, window_end from raw.generator_effects
        where is_incident order by effect_id
    """)
    assert len(planted) == 10 and all(segment for _, segment, _, _ in planted)
    assert ("traffic_drop",) in {(k,) for k, *_ in planted}

    base = tmp_path / "baseline.duckdb"
    generate(base, tmp_path, "--rows", "2000", "--seed", "5", "--scenario", "baseline")
    baseline = Warehouse(base, tmp_path)
    assert (
        baseline.scalar("select count(*) filter (where is_incident) from raw.generator_effects")
        == 0
    )
    kinds = {k for (k,) in baseline.rows("select distinct kind from raw.generator_effects")}
    assert kinds >= NUISANCES


def test_stable_order_sorts_as_lexsort_does_ties_and_wide_values_included() -> None:
    """The packed sort that orders each chunk's calls gives numpy's stable permutation:
    repeated keys keep their order, and values too wide to pack take numpy's own sort."""
    rng = np.random.default_rng(3)
    for n in (0, 1, 7, 50_000):
        major = rng.integers(0, 40, n)  # many ties
        minor = rng.integers(0, 4, n)
        assert np.array_equal(stable_order(major, minor, 4), np.lexsort((minor, major)))
        times = rng.integers(1_764_547_200_000, 1_767_139_200_000, n)
        assert np.array_equal(stable_order(times), np.argsort(times, kind="stable"))
        wide = rng.integers(-(2**62), 2**62, n)
        assert np.array_equal(stable_order(wide), np.argsort(wide, kind="stable"))


def test_choose_draws_as_numpy_choice_does() -> None:
    """The bucketed search that draws each call's API, client, document and hour gives numpy's
    `rng.choice(len(p), n, p=p)` exactly and leaves the generator where choice leaves it:
    few and many choices, zero probabilities at either end and inside, one certain choice,
    probabilities that do not sum to 1 by rounding, and draws on a bucket's edge."""
    shapes = [np.array([1.0]), np.array([0.0, 0.3, 0.0, 0.7, 0.0]), np.full(7, 1 / 7),
              np.random.default_rng(5).dirichlet(np.full(200, 0.3)),
              np.random.default_rng(6).random(5000)]  # fmt: skip
    for p in shapes:
        p = p / p.sum()
        for n in (0, 1, 100_000):
            ours, numpys = np.random.default_rng(11), np.random.default_rng(11)
            assert np.array_equal(choose(ours, n, p), numpys.choice(len(p), n, p=p))
            assert ours.random() == numpys.random()
    # a draw exactly on a bucket's start, and one just below the next (u is never 1)
    edges = np.array([0.25, np.nextafter(0.25, 0), 0.0, np.nextafter(1.0, 0)])

    class Fixed:
        def random(self, n: int) -> np.ndarray:
            return edges[:n]

    cdf = np.array([0.1, 0.25, 0.25, 0.9, 1.0])
    p = np.diff(cdf, prepend=0.0)
    expected = (p.cumsum() / p.cumsum()[-1]).searchsorted(edges, side="right")
    assert np.array_equal(choose(Fixed(), len(edges), p), expected)


def test_a_long_seed_leaves_no_personal_data_in_the_ids(tmp_path) -> None:
    # ten digits from 6 read as a mobile number: written whole in the run id, every batch id,
    # source name and record then failed the personal-data tests of every build
    db = tmp_path / "warehouse.duckdb"
    generate(db, tmp_path, "--rows", "300", "--seed", "9876543210", "--batches", "2")
    wh = Warehouse(db, tmp_path)
    ids = wh.rows("select batch_id, source_name from raw.load_batches order by 1")
    assert len(ids) == 2 and all("9_876_543_210" in batch for batch, _ in ids)
    (run_id,) = wh.rows("select run_id from raw.generator_runs")[0]
    values = [run_id, *sum(ids, ()), "gen_default_s9876543210_1"]  # the last: the old spelling
    flagged = [
        value
        for value in values
        if wh.scalar(f"select {has_pii_sql('v')} from (select ? as v)", [value])
    ]
    assert flagged == ["gen_default_s9876543210_1"]
    failed = run([sys.executable, "-m", "api_trust.generate", "--seed", "-1"], db, tmp_path,
                 check=False)  # fmt: skip
    assert failed.returncode == 2 and "--seed must be between 0" in failed.stderr
    assert "Traceback" not in failed.stderr
