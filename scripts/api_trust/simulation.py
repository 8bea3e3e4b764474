"""The behaviour of the synthetic platform: who calls what, how fast, and why it fails.

Everything here is vectorised numpy over one chunk of calls. The generator
(`generate.py`) owns chunks, batches, dirt and landing; this module owns the
truth that the analysis is later tested against, and writes every effect it
applies as a row of `raw.generator_effects`.

Both scenarios carry the nuisances real logs have and an analysis must not
mistake for incidents: a daily and weekly traffic shape, day-to-day variation
of each API's failure rate beyond binomial noise, client types that reach the
platform mostly through some regions, a nightly maintenance bump, and client
SDK releases rolling out. `default` adds structural effects and planted
incidents whose targets and sizes vary by seed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from api_trust.contract import PROJECT_ROOT, project_vars

REGIONS = ("Metro", "Tier1", "Tier2", "Rural")
DOCUMENT_TYPES = ("PAN", "Aadhaar", "Passport", "DrivingLicense", "VoterID")
DOCUMENT_SHARE = (0.34, 0.36, 0.10, 0.12, 0.08)
CLIENT_TYPES = ("FinTech", "E-Commerce", "Bank", "Telecom", "NBFC", "Insurance")
CLIENT_TYPE_SHARE = (0.34, 0.20, 0.20, 0.12, 0.09, 0.05)
N_CLIENTS = 240
# Correlated dimensions: P(region | client type). Clients reach users through different
# channels (telecom retail agents in small towns, banks' apps in cities), so a region
# effect shows up in a client type's numbers too, and the other way round.
REGION_SHARE_BY_CLIENT_TYPE = np.array([
    [0.46, 0.30, 0.16, 0.08],  # FinTech
    [0.42, 0.30, 0.19, 0.09],  # E-Commerce
    [0.52, 0.28, 0.14, 0.06],  # Bank
    [0.08, 0.12, 0.25, 0.55],  # Telecom
    [0.25, 0.27, 0.28, 0.20],  # NBFC
    [0.45, 0.30, 0.17, 0.08],  # Insurance
])  # fmt: skip

# The twelve services of the original design carry most traffic, in this order.
BUSIEST_APIS = (
    "PAN_OCR", "AADHAAR_OCR", "FACE_MATCH", "BANK_VERIFY", "MOBILE_VERIFY", "LIVENESS_CHECK",
    "KYC_COMPOSITE", "FRAUD_SCORE", "DL_OCR", "EMAIL_VERIFY", "PASSPORT_OCR", "ADDRESS_MATCH",
)  # fmt: skip

REASONS = (
    "blurry_image", "invalid_document", "document_expired", "missing_field", "face_not_detected",
    "fraud_suspected", "face_mismatch", "invalid_api_key", "insufficient_scope", "service_down",
    "upstream_registry_unavailable", "internal_error", "timeout",
)  # fmt: skip
R = {name: i for i, name in enumerate(REASONS)}
CLASSES = ("client_input", "fraud_decision", "auth", "server", "timeout")
REASON_CLASS = np.array([0, 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 3, 4])
REASON_STATUS = np.array([422, 422, 422, 400, 422, 422, 422, 401, 403, 503, 502, 500, 504])

# family: median latency ms, log-sd, timeout ms, base rate per failure class
# (client_input, fraud_decision, auth, server, timeout). Server + timeout sit at
# roughly half of the family's availability budget (seeds/api_catalogue.csv), so
# most APIs meet their SLO and the ones that do not have a reason.
FAMILY = {
    "OCR": (650, 0.50, 30000, (0.050, 0.004, 0.002, 0.0015, 0.0010)),
    "FACE": (420, 0.45, 30000, (0.040, 0.020, 0.002, 0.0015, 0.0010)),
    "BANK": (1100, 0.55, 30000, (0.025, 0.008, 0.002, 0.0040, 0.0025)),
    "MOBILE": (110, 0.40, 10000, (0.020, 0.004, 0.002, 0.0003, 0.0002)),
    "REGISTRY": (1500, 0.65, 30000, (0.030, 0.004, 0.002, 0.0040, 0.0030)),
    "FRAUD": (180, 0.35, 5000, (0.005, 0.040, 0.002, 0.0003, 0.0002)),
    "MATCHING": (150, 0.40, 10000, (0.020, 0.002, 0.002, 0.0003, 0.0002)),
    "COMPOSITE": (2600, 0.45, 60000, (0.050, 0.020, 0.002, 0.0030, 0.0020)),
    "ESIGN": (1700, 0.50, 30000, (0.020, 0.002, 0.002, 0.0015, 0.0010)),
}
# How a family's failures of one class split into reasons.
_CLIENT_MIX = {
    "OCR": {"blurry_image": 0.5, "invalid_document": 0.25, "document_expired": 0.1, "missing_field": 0.15},
    "FACE": {"face_not_detected": 0.5, "blurry_image": 0.35, "missing_field": 0.15},
    "BANK": {"invalid_document": 0.45, "document_expired": 0.15, "missing_field": 0.4},
    "REGISTRY": {"invalid_document": 0.45, "document_expired": 0.15, "missing_field": 0.4},
    "COMPOSITE": {"blurry_image": 0.35, "invalid_document": 0.3, "document_expired": 0.1,
                  "face_not_detected": 0.15, "missing_field": 0.1},
}  # fmt: skip
_CLIENT_MIX_DEFAULT = {"missing_field": 0.7, "invalid_document": 0.3}
_FRAUD_MIX = {"FACE": {"face_mismatch": 0.8, "fraud_suspected": 0.2},
              "COMPOSITE": {"face_mismatch": 0.5, "fraud_suspected": 0.5}}  # fmt: skip
_AUTH_MIX = {"invalid_api_key": 0.7, "insufficient_scope": 0.3}
_SERVER_MIX = {"BANK": {"upstream_registry_unavailable": 0.6, "service_down": 0.2, "internal_error": 0.2},
               "REGISTRY": {"upstream_registry_unavailable": 0.6, "service_down": 0.2,
                            "internal_error": 0.2}}  # fmt: skip
_SERVER_MIX_DEFAULT = {"service_down": 0.4, "internal_error": 0.6}

# The document an API reads, where it reads only one; other APIs see the journey's mix.
NATIVE_DOCUMENT = {
    "PAN_OCR": "PAN", "PAN_VERIFY": "PAN", "AADHAAR_OCR": "Aadhaar", "MASKED_AADHAAR_OCR": "Aadhaar",
    "AADHAAR_XML_VERIFY": "Aadhaar", "AADHAAR_OTP_SEND": "Aadhaar", "AADHAAR_OTP_VERIFY": "Aadhaar",
    "ESIGN_AADHAAR": "Aadhaar", "DL_OCR": "DrivingLicense", "DL_VERIFY": "DrivingLicense",
    "PASSPORT_OCR": "Passport", "PASSPORT_VERIFY": "Passport", "VOTERID_OCR": "VoterID",
    "VOTERID_VERIFY": "VoterID",
}  # fmt: skip

# Retry behaviour of end users / client SDKs by failure class.
RETRY_PROBABILITY = np.array([0.65, 0.05, 0.15, 0.50, 0.55])
RETRY_DELAY_S = np.array([90.0, 60.0, 300.0, 8.0, 8.0])
MAX_ATTEMPTS = 3
# A user who retries after a bad photo usually takes a better one.
RETRY_CLIENT_INPUT_FACTOR = 0.6

# Diurnal shape in UTC hours (peak is Indian business hours, UTC+5:30).
HOUR_WEIGHT = np.array([
    0.9, 1.1, 1.3, 1.5, 1.7, 1.8, 1.8, 1.7, 1.6, 1.6, 1.5, 1.4,
    1.3, 1.2, 1.0, 0.8, 0.6, 0.45, 0.35, 0.3, 0.3, 0.35, 0.5, 0.7,
])  # fmt: skip
WEEKDAY_WEIGHT = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.7, 0.55])  # Monday first

# Overdispersion: each API's failure rates move by a lognormal factor per day (mean 1),
# the day-to-day variation of real traffic mixes that is not an incident.
DAILY_DISPERSION_SIGMA = 0.25
# A recurring bump: banks run their end-of-day batch at night (01:30-03:00 IST), so
# bank-family APIs lose their upstream a little more often every night.
MAINTENANCE_FAMILIES = ("BANK",)
MAINTENANCE_UTC_MINUTES = (20 * 60, 21 * 60 + 30)
MAINTENANCE_FAILURE_RATE = 0.06
# Client SDK releases: each client moves to a release some days after it ships (a
# lognormal lag, long for a few laggards). The last two ship inside the window.
SDK_RELEASES = ("mobile-sdk-5.0", "mobile-sdk-5.1", "mobile-sdk-5.2", "mobile-sdk-5.3",
                "mobile-sdk-6.0")  # fmt: skip
SDK_MEDIAN_LAG_DAYS = 4.0
SDK_LAGGARD_SHARE = 0.15
# Dimensions an effect can name, as the facts and vars.analysis_dimensions call them.
EFFECT_DIMENSIONS = ("api_name", "api_version", "region", "document_type", "client_type",
                     "client_id", "sdk_version")  # fmt: skip
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Catalogue:
    """The API services, with per-API behaviour fixed by the catalogue (not by the run seed)."""

    names: tuple[str, ...]
    families: tuple[str, ...]
    versions: tuple[tuple[str, ...], ...]
    traffic: np.ndarray
    median_ms: np.ndarray
    sigma: np.ndarray
    timeout_ms: np.ndarray
    class_rate: np.ndarray  # (n_api, 5)
    reason_mix: np.ndarray  # (n_api, 13): P(reason | class) laid out per reason
    native_doc: np.ndarray  # index into DOCUMENT_TYPES or -1
    tail_apis: tuple[str, ...]

    def index(self, name: str) -> int:
        return self.names.index(name)


def _mix_row(family: str) -> np.ndarray:
    row = np.zeros(len(REASONS))
    mixes = (
        _CLIENT_MIX.get(family, _CLIENT_MIX_DEFAULT),
        _FRAUD_MIX.get(family, {"fraud_suspected": 1.0}),
        _AUTH_MIX,
        _SERVER_MIX.get(family, _SERVER_MIX_DEFAULT),
        {"timeout": 1.0},
    )
    for mix in mixes:
        for reason, share in mix.items():
            row[R[reason]] = share
    return row


def load_catalogue() -> Catalogue:
    """Read seeds/api_catalogue.csv and attach each API's behaviour (deterministic, seed 2026)."""
    with open(PROJECT_ROOT / "seeds" / "api_catalogue.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rng = np.random.default_rng(2026)
    names = tuple(r["api_name"] for r in rows)
    families = tuple(r["api_family"] for r in rows)
    rest = [n for n in names if n not in BUSIEST_APIS]
    order = list(BUSIEST_APIS) + list(rng.permutation(rest))
    rank = np.array([order.index(n) + 1 for n in names], dtype=float)
    traffic = rank**-1.1
    traffic /= traffic.sum()
    fam = [FAMILY[f] for f in families]
    median = np.array([f[0] for f in fam]) * rng.lognormal(0, 0.25, len(names))
    sigma = np.array([f[1] for f in fam]) * rng.uniform(0.9, 1.15, len(names))
    tail_apis = ("KYC_COMPOSITE", "PASSPORT_OCR", "CKYC_SEARCH", "BANK_VERIFY")
    for name in tail_apis:
        sigma[names.index(name)] += 0.35
    class_rate = np.array([f[3] for f in fam]) * rng.lognormal(0, 0.3, (len(names), 5))
    doc_index = {d: i for i, d in enumerate(DOCUMENT_TYPES)}
    return Catalogue(
        names=names,
        families=families,
        versions=tuple(tuple(r["live_versions"].split("|")) for r in rows),
        traffic=traffic,
        median_ms=median,
        sigma=sigma,
        timeout_ms=np.array([f[2] for f in fam], dtype=float),
        class_rate=class_rate,
        reason_mix=np.array([_mix_row(f) for f in families]),
        native_doc=np.array([doc_index.get(NATIVE_DOCUMENT.get(n, ""), -1) for n in names]),
        tail_apis=tail_apis,
    )


def segment_order() -> tuple[str, ...]:
    """Dimension order of a segment: api_name, then vars.analysis_dimensions (core, extra)."""
    dims = project_vars().get("analysis_dimensions") or {}
    listed = [*dims.get("core", []), *dims.get("extra", [])] if isinstance(dims, dict) else dims
    names = [d if isinstance(d, str) else d.get("name") for d in listed]
    order = ["api_name", *(d for d in names if d and d != "api_name")]
    return (*order, *(d for d in EFFECT_DIMENSIONS if d not in order))


def format_segment(values: dict[str, str | None]) -> str | None:
    """`dim=value, dim=value` in segment_order(), the format of rca_findings.segment.

    None when no dimension is named: such an effect (the traffic shape, say) is
    about everything and must never explain a finding.
    """
    parts = [f"{d}={values[d]}" for d in segment_order() if values.get(d) is not None]
    return ", ".join(parts) or None


@dataclass
class Effect:
    """One thing that shapes traffic, slows calls or makes them fail: the generator's truth."""

    kind: str
    is_incident: bool
    description: str
    api_name: str | None = None
    api_version: str | None = None
    region: str | None = None
    document_type: str | None = None
    client_type: str | None = None
    client_id: str | None = None
    sdk_version: str | None = None
    error_reason: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    failure_rate_added: float | None = None
    latency_multiplier: float | None = None
    # traffic_drop: share of calls that still arrive in the window's first and last
    # hour; none arrive in between.
    traffic_multiplier: float | None = None
    # Recurring effects apply every day between these UTC minutes.
    daily_window: tuple[int, int] | None = None
    # How failure_rate_added splits over reasons when error_reason is only the main one.
    reason_mix: tuple[tuple[str, float], ...] | None = None
    # Multiplies the client_input rate instead of adding a fixed rate (structural effects).
    client_input_multiplier: float | None = None

    @property
    def segment(self) -> str | None:
        return format_segment({d: getattr(self, d) for d in EFFECT_DIMENSIONS})

    @property
    def depth(self) -> int:
        return sum(getattr(self, d) is not None for d in EFFECT_DIMENSIONS)

    def row(self, effect_id: int, scenario: str) -> dict:
        keys = ("kind", "is_incident", *EFFECT_DIMENSIONS, "error_reason", "window_start",
                "window_end", "failure_rate_added", "latency_multiplier", "traffic_multiplier",
                "description")  # fmt: skip
        daily = None
        if self.daily_window is not None:
            daily = "-".join(f"{m // 60:02d}:{m % 60:02d}" for m in self.daily_window)
        return (
            {"effect_id": effect_id, "scenario": scenario, "segment": self.segment}
            | {k: getattr(self, k) for k in keys}
            | {"daily_window_utc": daily}
        )


@dataclass
class World:
    """A scenario made concrete: catalogue, clients, window and the effects in force."""

    catalogue: Catalogue
    scenario: str
    start: datetime
    end: datetime
    client_type_of: np.ndarray  # client index -> client type index
    client_traffic: np.ndarray
    effects: list[Effect]
    region_latency: np.ndarray
    document_latency: np.ndarray
    old_version_latency: float
    day_factor: np.ndarray  # (n_api, n_days): factor on failure rates per API and day
    # (n_clients, n_releases): the first ms a client runs that release or a newer one
    sdk_first_ms: np.ndarray
    # API index -> (ms its newest version goes live, ms its rollout takes); other APIs
    # run all their versions throughout.
    version_release: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def client_ids(self) -> list[str]:
        return [f"C{i + 1:04d}" for i in range(len(self.client_type_of))]

    @property
    def incidents(self) -> list[Effect]:
        return [e for e in self.effects if e.is_incident]


def _sdk_rollout(rng, start: datetime, end: datetime) -> np.ndarray:
    """When each client first runs each SDK release or a newer one (ms, clients x releases)."""
    s0, span = _epoch_ms(start), _epoch_ms(end) - _epoch_ms(start)
    release = np.array([s0 - 120 * DAY_MS, s0 - 45 * DAY_MS, s0 - 10 * DAY_MS,
                        s0 + int(span * rng.uniform(0.15, 0.35)),
                        s0 + int(span * rng.uniform(0.5, 0.7))], dtype=np.int64)  # fmt: skip
    lag_days = rng.lognormal(np.log(SDK_MEDIAN_LAG_DAYS), 0.6, N_CLIENTS)
    lag_days = np.where(rng.random(N_CLIENTS) < SDK_LAGGARD_SHARE, lag_days * 8, lag_days)
    lag = lag_days[:, None] * rng.lognormal(0, 0.3, (N_CLIENTS, len(SDK_RELEASES)))
    adopt = release[None, :] + (lag * DAY_MS).astype(np.int64)
    adopt[:, 0] = np.iinfo(np.int64).min  # every client runs at least the oldest release
    # A client that moves straight to a newer release skips the one in between.
    return np.minimum.accumulate(adopt[:, ::-1], axis=1)[:, ::-1]


def sdk_release_at(world: World, release: str) -> datetime:
    """The first moment any client runs `release`."""
    first = int(world.sdk_first_ms[:, SDK_RELEASES.index(release)].min())
    return datetime(1970, 1, 1) + timedelta(milliseconds=max(first, 0))


def _nuisances(cat: Catalogue, sdk_first_ms: np.ndarray) -> list[Effect]:
    """Effects both scenarios carry: real logs have them and none of them is an incident."""
    peak, trough = HOUR_WEIGHT.max(), HOUR_WEIGHT.min()
    shares = ", ".join(
        f"{CLIENT_TYPES[t]} {REGION_SHARE_BY_CLIENT_TYPE[t].max():.0%} "
        f"{REGIONS[int(REGION_SHARE_BY_CLIENT_TYPE[t].argmax())]}"
        for t in range(len(CLIENT_TYPES))
    )
    ships = [datetime(1970, 1, 1) + timedelta(milliseconds=int(sdk_first_ms[:, r].min()))
             for r in range(2, len(SDK_RELEASES))]  # fmt: skip
    out = [
        Effect(kind="traffic_seasonality", is_incident=False,
               description=(f"calls per hour follow a daily shape (peak {peak / trough:.0f}x the "
                            f"night trough, Indian business hours) and a weekly one (Saturday "
                            f"{WEEKDAY_WEIGHT[5]:.0%}, Sunday {WEEKDAY_WEIGHT[6]:.0%} of a weekday)")),
        Effect(kind="daily_dispersion", is_incident=False,
               description=(f"each API's failure rates move by a lognormal factor per day (sd of "
                            f"log {DAILY_DISPERSION_SIGMA}): day-to-day variation, not incidents")),
        Effect(kind="correlated_dimensions", is_incident=False,
               description=f"region depends on client type ({shares})"),
        Effect(kind="sdk_rollout", is_incident=False,
               description=("sdk_version per client: " + ", ".join(
                   f"{SDK_RELEASES[r + 2]} first seen {d:%Y-%m-%d %H:%M}" for r, d in enumerate(ships))
                   + f"; clients move about {SDK_MEDIAN_LAG_DAYS:.0f} days after a release, "
                   f"{SDK_LAGGARD_SHARE:.0%} of them much later")),
    ]  # fmt: skip
    lo, hi = MAINTENANCE_UTC_MINUTES
    for name, family in zip(cat.names, cat.families, strict=True):
        if family in MAINTENANCE_FAMILIES:
            out.append(Effect(
                kind="maintenance_window", is_incident=False, api_name=name,
                error_reason="upstream_registry_unavailable", failure_rate_added=MAINTENANCE_FAILURE_RATE,
                daily_window=MAINTENANCE_UTC_MINUTES,
                description=(f"{name}: every night {lo // 60:02d}:{lo % 60:02d}-{hi // 60:02d}:{hi % 60:02d} "
                             f"UTC the banks' end-of-day batch adds {MAINTENANCE_FAILURE_RATE:.0%} "
                             "upstream_registry_unavailable"),
            ))  # fmt: skip
    return out


def build_world(scenario: str, seed: int, start: datetime, end: datetime) -> World:
    """Fix clients, nuisances, structural effects and (for `default`) the planted incidents."""
    if scenario not in ("default", "baseline"):
        raise ValueError(f"unknown scenario {scenario!r}: choose default or baseline")
    cat = load_catalogue()
    rng = np.random.default_rng([seed, 7])
    client_type_of = choose(rng, N_CLIENTS, CLIENT_TYPE_SHARE)
    client_traffic = (np.arange(1, N_CLIENTS + 1, dtype=float)) ** -1.0
    client_traffic = rng.permutation(client_traffic)
    client_traffic /= client_traffic.sum()
    # Nuisances come from their own stream, so both scenarios of a seed share them.
    nuisance_rng = np.random.default_rng([seed, 8])
    n_days = max(1, -(-(_epoch_ms(end) - _epoch_ms(start)) // DAY_MS))
    sigma = DAILY_DISPERSION_SIGMA
    day_factor = nuisance_rng.lognormal(-(sigma**2) / 2, sigma, (len(cat.names), n_days))
    sdk_first_ms = _sdk_rollout(nuisance_rng, start, end)

    effects: list[Effect] = []
    for i, name in enumerate(cat.names):
        effects.append(Effect(
            kind="api_profile", is_incident=False, api_name=name,
            failure_rate_added=float(cat.class_rate[i].sum()),
            description=(f"{name} ({cat.families[i]}): median latency {cat.median_ms[i]:.0f} ms, "
                         f"log-sd {cat.sigma[i]:.2f}, base failure rate {cat.class_rate[i].sum():.1%}"),
        ))  # fmt: skip
    effects += _nuisances(cat, sdk_first_ms)
    ones4, ones5 = np.ones(4), np.ones(5)
    if scenario == "baseline":
        return World(cat, scenario, start, end, client_type_of, client_traffic, effects,
                     ones4, ones5, 1.0, day_factor, sdk_first_ms)  # fmt: skip

    for name in cat.tail_apis:
        effects.append(
            Effect(
                kind="api_latency_tail",
                is_incident=False,
                api_name=name,
                description=f"{name} has a heavy latency tail (high p95/p99)",
            )
        )
    region_latency = np.array([1.0, 1.12, 1.35, 1.7])
    for r, m in zip(REGIONS[1:], region_latency[1:], strict=True):
        effects.append(
            Effect(
                kind="region_latency",
                is_incident=False,
                region=r,
                latency_multiplier=m,
                description=f"{r} bandwidth makes every call {m:.2f}x slower than Metro",
            )
        )
    document_latency = np.array([1.0, 1.05, 1.25, 1.1, 1.1])
    effects.append(
        Effect(
            kind="document_latency",
            is_incident=False,
            document_type="Passport",
            latency_multiplier=1.25,
            description="Passport pages take 1.25x longer",
        )
    )
    effects.append(
        Effect(
            kind="version_latency",
            is_incident=False,
            api_version="v1",
            latency_multiplier=1.15,
            description="v1 endpoints are 1.15x slower",
        )
    )
    # Low bandwidth -> compressed, blurry captures: PAN and Aadhaar OCR fail more outside cities.
    for api in STRUCTURAL_REGION_APIS:
        for region, mult in (("Tier2", 2.2), ("Rural", 3.2)):
            base = cat.class_rate[cat.index(api), 0]
            effects.append(Effect(
                kind="segment_failure", is_incident=False, api_name=api, region=region,
                error_reason="blurry_image", client_input_multiplier=mult,
                failure_rate_added=float(base * (mult - 1)),
                description=f"{api} in {region}: low bandwidth, {mult}x input failures (blurry images)",
            ))  # fmt: skip
    effects.append(Effect(
        kind="document_failure", is_incident=False, api_name="FACE_MATCH", document_type="DrivingLicense",
        error_reason="face_not_detected", client_input_multiplier=2.5,
        failure_rate_added=float(cat.class_rate[cat.index("FACE_MATCH"), 0] * 1.5),
        description="FACE_MATCH against DrivingLicense photos: old, small portraits, 2.5x input failures",
    ))  # fmt: skip

    world = World(cat, scenario, start, end, client_type_of, client_traffic, effects,
                  region_latency, document_latency, 1.15, day_factor, sdk_first_ms)  # fmt: skip
    world.effects += _planted_incidents(world, rng)
    return world


STRUCTURAL_REGION_APIS = ("PAN_OCR", "AADHAAR_OCR")


def _pick(rng, options: list, used: set[str], api_of=lambda o: o):
    """One option whose API no other incident took (any option if all are taken)."""
    free = [o for o in options if api_of(o) not in used] or list(options)
    choice = free[int(rng.integers(len(free)))]
    if api_of(choice) is not None:
        used.add(api_of(choice))
    return choice


def _inside(rng, start: datetime, end: datetime, length: timedelta, lo: float = 0.2) -> datetime:
    """Start of a window of `length` that lies in the run, not in its first `lo` share."""
    length = min(length, (end - start) / 2)
    first = start + (end - start) * lo
    room = max(0.0, (end - length - first).total_seconds())
    return first + timedelta(hours=int(rng.uniform(0, room) // 3600))


def _night_or_day(rng, start: datetime, end: datetime, utc_minutes: tuple[int, int],
                  length: timedelta) -> datetime:  # fmt: skip
    """Start of a window of `length` on a day in the run's later two thirds, beginning
    at a random half hour between the given UTC minutes of that day."""
    days = max(1, (end - start).days)
    day = int(rng.integers(days // 3, max(days // 3 + 1, days - 1)))
    minute = int(rng.integers(utc_minutes[0] // 30, utc_minutes[1] // 30 + 1)) * 30
    w0 = datetime.combine((start + timedelta(days=day)).date(), datetime.min.time())
    w0 += timedelta(minutes=minute)
    return min(max(w0, start), end - length)


def _top_client_reason(cat: Catalogue, api: int) -> str:
    """The input failure an API sees most (blurry_image for OCR, face_not_detected for faces)."""
    client_reasons = [i for i, c in enumerate(REASON_CLASS) if c == 0]
    return REASONS[max(client_reasons, key=lambda i: cat.reason_mix[api, i])]


def _pp(rate: float) -> str:
    return f"+{rate * 100:.0f} pp"


def _planted_incidents(world: World, rng) -> list[Effect]:
    """Ten incidents of ten kinds whose targets, windows and sizes vary by seed.

    Together they cover depth one to three, a segment without an API, a small API,
    a quiet-hour outage, a traffic drop and an extra delivered dimension (sdk_version).
    Each API carries at most one incident where the pools allow, so a finding
    points at one of them. Sizes are realistic rates; targets are drawn among
    segments with enough traffic to be visible at the test size (120k calls).
    """
    cat, start, end = world.catalogue, world.start, world.end
    total = end - start
    used: set[str] = set()
    out: list[Effect] = []
    type_share = np.bincount(world.client_type_of, weights=world.client_traffic,
                             minlength=len(CLIENT_TYPES))  # fmt: skip
    type_region = type_share[:, None] * REGION_SHARE_BY_CLIENT_TYPE
    region_share = type_region.sum(axis=0)

    def since(days: int) -> datetime:
        return max(start, end - timedelta(days=days))

    # 1. depth 2, new: a capture SDK change breaks one API's images in one region.
    api = _pick(rng, ["DL_OCR", "PASSPORT_OCR", "LIVENESS_CHECK", "FACE_MATCH"], used)
    region = str(rng.choice(["Rural", "Tier2"]))
    reason = _top_client_reason(cat, cat.index(api))
    rate, w0 = round(rng.uniform(0.15, 0.22), 3), since(int(rng.integers(10, 15)))
    out.append(Effect(
        kind="segment_cluster", is_incident=True, api_name=api, region=region, error_reason=reason,
        window_start=w0, window_end=end, failure_rate_added=rate,
        description=f"{api} in {region}: {_pp(rate)} {reason} since {w0:%Y-%m-%d} (capture SDK change)",
    ))  # fmt: skip

    # 2. depth 2, latency: a slow model release, rolled out during the run.
    api = _pick(rng, ["FACE_MATCH", "FRAUD_SCORE", "AADHAAR_OCR", "LIVENESS_CHECK"], used)
    a = cat.index(api)
    version, mult = cat.versions[a][-1], round(rng.uniform(1.8, 2.4), 2)
    release = start + total * rng.uniform(0.15, 0.4)
    ramp = min(timedelta(days=2), total / 10)
    world.version_release[a] = (_epoch_ms(release), max(1, int(ramp.total_seconds() * 1000)))
    out.append(Effect(
        kind="version_regression", is_incident=True, api_name=api, api_version=version,
        latency_multiplier=mult,
        description=(f"{api} {version}: first live {release:%Y-%m-%d %H:%M}, rolled out over "
                     f"{ramp.total_seconds() / 3600:.0f} h, latency {mult}x the version before "
                     "(slow model release)"),
    ))  # fmt: skip

    # 3. depth 1, quiet hours: an outage at night (India), when few calls arrive.
    api = _pick(rng, ["PAN_OCR", "AADHAAR_OCR"], used)
    length = timedelta(minutes=int(rng.choice([120, 150, 180, 240])))
    o0 = _night_or_day(rng, start, end, (17 * 60, 21 * 60 + 30), length)
    o1, rate = o0 + length, round(rng.uniform(0.7, 0.9), 2)
    out.append(Effect(
        kind="outage", is_incident=True, api_name=api, error_reason="service_down",
        reason_mix=(("service_down", 0.6), ("timeout", 0.4)),
        window_start=o0, window_end=o1, failure_rate_added=rate,
        description=(f"{api} outage {o0:%Y-%m-%d %H:%M}-{o1:%H:%M} UTC, a quiet night hour in "
                     f"India: {rate:.0%} of calls fail (service_down 60%, timeout 40%)"),
    ))  # fmt: skip

    # 4. depth 2, chronic: a parser bug for one document type in one API.
    options = [(x, d) for x in ("KYC_COMPOSITE", "LIVENESS_CHECK", "FACE_MATCH")
               for d in ("Passport", "VoterID", "DrivingLicense") if (x, d) != ("FACE_MATCH", "DrivingLicense")]  # fmt: skip
    api, doc = _pick(rng, options, used, api_of=lambda o: o[0])
    rate = round(rng.uniform(0.10, 0.15), 3)
    out.append(Effect(
        kind="document_fragility", is_incident=True, api_name=api, document_type=doc,
        error_reason="invalid_document", failure_rate_added=rate,
        description=f"{api} rejects {doc} as invalid_document {_pp(rate)} more often (parser bug)",
    ))  # fmt: skip

    # 5. depth 1 on client_id: a mid-sized client whose rotated credentials were never deployed.
    order = np.argsort(-world.client_traffic)
    client = int(rng.choice(order[8:25]))
    rate, c0 = round(rng.uniform(0.25, 0.4), 2), since(7)
    out.append(Effect(
        kind="client_auth_failures", is_incident=True, client_id=f"C{client + 1:04d}",
        error_reason="invalid_api_key", window_start=c0, window_end=end, failure_rate_added=rate,
        description=(f"client C{client + 1:04d} ({CLIENT_TYPES[world.client_type_of[client]]}) sends "
                     f"a revoked API key on {rate:.0%} of calls since {c0:%Y-%m-%d}"),
    ))  # fmt: skip

    # 6. depth 2 without an API: a carrier problem for one client type's users in one region.
    combos = [(t, r) for t in range(len(CLIENT_TYPES)) for r in (2, 3) if type_region[t, r] >= 0.04]
    if not combos:
        t, r = np.unravel_index(type_region[:, 2:].argmax(), type_region[:, 2:].shape)
        combos = [(int(t), int(r) + 2)]
    t, r = combos[int(rng.integers(len(combos)))]
    length = timedelta(days=int(rng.integers(4, 8)))
    n0 = _inside(rng, start, end, length)
    n1, rate = min(end, n0 + length), round(rng.uniform(0.06, 0.10), 3)
    out.append(Effect(
        kind="network_degradation", is_incident=True, client_type=CLIENT_TYPES[t], region=REGIONS[r],
        error_reason="timeout", window_start=n0, window_end=n1, failure_rate_added=rate,
        latency_multiplier=1.5,
        description=(f"{CLIENT_TYPES[t]} users in {REGIONS[r]}, every API, {n0:%Y-%m-%d %H:%M} to "
                     f"{n1:%Y-%m-%d %H:%M}: a carrier's network problem, {_pp(rate)} timeouts and "
                     "1.5x latency"),
    ))  # fmt: skip

    # 7. depth 3, chronic: one API fails for one client type in one region, or for one
    # document type in one region (e.g. a bank's branch tablets with a bad camera).
    structural = {(x, reg) for x in STRUCTURAL_REGION_APIS for reg in ("Tier2", "Rural")}
    cells = []
    for x in (
        "PAN_OCR",
        "AADHAAR_OCR",
        "FACE_MATCH",
        "BANK_VERIFY",
        "MOBILE_VERIFY",
        "LIVENESS_CHECK",
    ):
        xi = cat.index(x)
        for rr in range(len(REGIONS)):
            if (x, REGIONS[rr]) in structural:
                continue
            for tt in range(len(CLIENT_TYPES)):
                if cat.traffic[xi] * type_region[tt, rr] >= 0.004:
                    cells.append((x, "client_type", CLIENT_TYPES[tt], REGIONS[rr]))
            if cat.native_doc[xi] < 0:
                for dd, doc_share in enumerate(DOCUMENT_SHARE):
                    if cat.traffic[xi] * doc_share * region_share[rr] >= 0.004:
                        cells.append((x, "document_type", DOCUMENT_TYPES[dd], REGIONS[rr]))
    api, dim, value, region = _pick(rng, cells, used, api_of=lambda o: o[0])
    reason = _top_client_reason(cat, cat.index(api))
    rate = round(rng.uniform(0.10, 0.16), 3)
    out.append(Effect(
        kind="deep_segment_cluster", is_incident=True, api_name=api, region=region,
        error_reason=reason, failure_rate_added=rate, **{dim: value},
        description=f"{api} for {value} in {region}: {_pp(rate)} {reason} (three-way cluster)",
    ))  # fmt: skip

    # 8. depth 1 on a small API (a few thousand calls in 120k): a bad deploy for a few days.
    small = [n for n, s in zip(cat.names, cat.traffic, strict=True) if 0.012 <= s <= 0.035]
    api = _pick(rng, small, used)
    length = timedelta(days=int(rng.integers(2, 5)))
    s0 = _inside(rng, start, end, length)
    s1, rate = min(end, s0 + length), round(rng.uniform(0.12, 0.2), 3)
    out.append(Effect(
        kind="error_spike", is_incident=True, api_name=api, error_reason="internal_error",
        window_start=s0, window_end=s1, failure_rate_added=rate,
        description=(f"{api} (a small API) {s0:%Y-%m-%d %H:%M} to {s1:%Y-%m-%d %H:%M}: a bad "
                     f"deploy, {_pp(rate)} internal_error"),
    ))  # fmt: skip

    # 9. depth 1, volume: an API's calls stop arriving for some business hours.
    busiest = [cat.names[i] for i in np.argsort(-cat.traffic)[:8]]
    api = _pick(rng, busiest, used)
    length = timedelta(hours=int(rng.integers(4, 9)))
    d0 = _night_or_day(rng, start, end, (3 * 60, 10 * 60), length)
    d1, keep = d0 + length, round(rng.uniform(0.1, 0.3), 2)
    out.append(Effect(
        kind="traffic_drop", is_incident=True, api_name=api, window_start=d0, window_end=d1,
        traffic_multiplier=keep,
        description=(f"{api} calls stop reaching the platform {d0:%Y-%m-%d %H:%M}-{d1:%H:%M} UTC "
                     f"(a gateway route lost): {keep:.0%} of normal traffic in the first and last "
                     "hour, none in between"),
    ))  # fmt: skip

    # 10. an extra delivered dimension: a client SDK release with a bug, on every API
    # (it drops a required field) or on one API (its capture screen).
    sdk = SDK_RELEASES[int(rng.choice([3, 4]))]
    shipped = sdk_release_at(world, sdk)
    if rng.random() < 0.5:
        rate = round(rng.uniform(0.02, 0.04), 3)
        out.append(Effect(
            kind="sdk_regression", is_incident=True, sdk_version=sdk, error_reason="missing_field",
            failure_rate_added=rate,
            description=(f"{sdk} (first seen {shipped:%Y-%m-%d}) drops a required field: "
                         f"{_pp(rate)} missing_field on every API"),
        ))  # fmt: skip
    else:
        capture_apis = ["FACE_MATCH", "LIVENESS_CHECK", "AADHAAR_OCR", "PAN_OCR", "KYC_COMPOSITE",
                        "DL_OCR", "PASSPORT_OCR", "FACE_DEDUP"]  # fmt: skip
        api = _pick(rng, capture_apis, used)
        reason = _top_client_reason(cat, cat.index(api))
        rate = round(rng.uniform(0.10, 0.16), 3)
        out.append(Effect(
            kind="sdk_regression", is_incident=True, api_name=api, sdk_version=sdk,
            error_reason=reason, failure_rate_added=rate,
            description=(f"{api} on {sdk} (first seen {shipped:%Y-%m-%d}): the new capture screen "
                         f"gives {_pp(rate)} {reason}"),
        ))  # fmt: skip
    return out


@dataclass
class Calls:
    """One layer of calls as index arrays (cheap to build, cheap to land)."""

    api: np.ndarray
    version: np.ndarray  # index into the API's live versions
    region: np.ndarray
    document: np.ndarray
    client: np.ndarray
    sdk: np.ndarray  # index into SDK_RELEASES
    called_at_ms: np.ndarray  # int64 ms since epoch, naive UTC
    attempt_no: np.ndarray
    verification: np.ndarray  # int64 verification number within the run
    reason: np.ndarray = field(default=None)  # -1 = success
    latency_ms: np.ndarray = field(default=None)

    INPUTS = ("api", "version", "region", "document", "client", "sdk", "called_at_ms",
              "attempt_no", "verification")  # fmt: skip

    def take(self, keep: np.ndarray) -> Calls:
        """The calls where `keep` is true (before outcomes are drawn)."""
        return Calls(**{f: getattr(self, f)[keep] for f in self.INPUTS})

    def __len__(self) -> int:
        return len(self.api)


# A draw's bucket of [0, 1) in choose(): 2**12 buckets, so that u * CHOICE_BUCKETS is exact
CHOICE_BUCKETS = 1 << 12


def choose(rng, n: int, p: np.ndarray) -> np.ndarray:
    """`rng.choice(len(p), n, p=p)`: the same uniform draws and the same answers, about five
    times faster for a hundred choices or more. numpy's choice finds each draw by a binary
    search of the cumulative probabilities (0.5 s for 10M draws among 200 clients). Here a
    draw u is first placed in its bucket [b, b + 1) / 4096 (exact: a power of two); where no
    cumulative probability falls inside the bucket, every draw in it has the answer of the
    bucket's start, and only the draws in the other buckets are searched."""
    cdf = np.asarray(p, dtype=np.float64).cumsum()
    cdf /= cdf[-1]  # as numpy's choice does
    u = rng.random(n)
    at_edge = cdf.searchsorted(np.arange(CHOICE_BUCKETS + 1) / CHOICE_BUCKETS, side="right")
    bucket = (u * CHOICE_BUCKETS).astype(np.intp)
    picked = at_edge[bucket]
    # a draw below the bucket's end passes no more probabilities than the end does
    unsure = np.flatnonzero((at_edge[1:] != at_edge[:-1])[bucket])
    picked[unsure] = cdf.searchsorted(u[unsure], side="right")
    return picked


def _epoch_ms(dt: datetime) -> int:
    return int((dt - datetime(1970, 1, 1)).total_seconds() * 1000)


def sample_times(rng, n: int, start: datetime, end: datetime) -> np.ndarray:
    """Call times in [start, end) following the weekly and daily traffic shape."""
    hours0 = _epoch_ms(start) // HOUR_MS
    n_hours = max(1, int((end - start).total_seconds() // 3600))
    hour_ids = hours0 + np.arange(n_hours)
    weekday = ((hour_ids // 24) + 3) % 7  # 1970-01-01 was a Thursday
    weights = HOUR_WEIGHT[hour_ids % 24] * WEEKDAY_WEIGHT[weekday]
    picked = choose(rng, n, weights / weights.sum())
    return (hour_ids[picked] * HOUR_MS + rng.integers(0, HOUR_MS, n)).astype(np.int64)


def window_weight(start: datetime, end: datetime) -> float:
    """Expected traffic in a window relative to other windows (to size chunks)."""
    hours0 = _epoch_ms(start) // HOUR_MS
    n_hours = max(1, int((end - start).total_seconds() // 3600))
    hour_ids = hours0 + np.arange(n_hours)
    weekday = ((hour_ids // 24) + 3) % 7
    return float((HOUR_WEIGHT[hour_ids % 24] * WEEKDAY_WEIGHT[weekday]).sum())


def sdk_of(world: World, client: np.ndarray, called_at_ms: np.ndarray) -> np.ndarray:
    """The SDK release each call's client runs at its time (index into SDK_RELEASES)."""
    # one release at a time: a calls x releases matrix costs more to allocate than to compare
    sdk = np.full(len(client), -1, dtype=np.int8)
    for first_ms in world.sdk_first_ms.T:
        sdk += first_ms[client] <= called_at_ms
    return sdk


def _hold_back_new_versions(world: World, rng, api, version, called_at_ms) -> np.ndarray:
    """Before (and during) a version's rollout, its calls still go to the version before."""
    for a, (live_ms, ramp_ms) in world.version_release.items():
        newest = len(world.catalogue.versions[a]) - 1
        idx = np.flatnonzero((api == a) & (version == newest))
        if newest == 0 or len(idx) == 0:
            continue
        share_live = np.clip((called_at_ms[idx] - live_ms) / ramp_ms, 0.0, 1.0)
        version[idx[rng.random(len(idx)) >= share_live]] = newest - 1
    return version


def first_attempts(
    world: World, rng, n: int, start: datetime, end: datetime, first_id: int
) -> Calls:
    cat = world.catalogue
    api = choose(rng, n, cat.traffic)
    called_at_ms = sample_times(rng, n, start, end)
    # Newest version carries most traffic; older ones fade out.
    n_versions = np.array([len(v) for v in cat.versions])[api]
    u = rng.random(n)
    back = np.where(u < 0.6, 0, np.where(u < 0.9, 1, 2))
    version = np.clip(n_versions - 1 - back, 0, None)
    version = _hold_back_new_versions(world, rng, api, version, called_at_ms)
    client = choose(rng, n, world.client_traffic)
    # a call's region: how many of its client type's cumulative shares its draw passes
    u_region = rng.random(n)
    client_type = world.client_type_of[client]
    region = np.empty(n, dtype=np.int8)
    for t, cum in enumerate(np.cumsum(REGION_SHARE_BY_CLIENT_TYPE, axis=1)):
        of_type = client_type == t
        region[of_type] = np.searchsorted(cum, u_region[of_type], side="right")
    np.minimum(region, len(REGIONS) - 1, out=region)
    document = choose(rng, n, DOCUMENT_SHARE)
    native = cat.native_doc[api]
    document = np.where(native >= 0, native, document)
    # indexes as the smallest integers that hold them: a chunk's arrays are copied, sorted
    # and gathered several times, and that is memory traffic, not arithmetic
    return Calls(
        api=api.astype(np.int16), version=version.astype(np.int8), region=region,
        document=document.astype(np.int8), client=client.astype(np.int16),
        sdk=sdk_of(world, client, called_at_ms), called_at_ms=called_at_ms,
        attempt_no=np.ones(n, dtype=np.int8), verification=first_id + np.arange(n, dtype=np.int64),
    )  # fmt: skip


def _rows_of_api(calls: Calls, n_api: int):
    """Row indices of each API's calls, sorted once per layer, so that an effect on one
    API looks at that API's calls only (most effects name an API)."""
    order = np.argsort(calls.api, kind="stable")
    bounds = np.searchsorted(calls.api[order], np.arange(n_api + 1))
    return lambda api: order[bounds[api] : bounds[api + 1]]


def effect_rows(world: World, calls: Calls, e: Effect, rows_of_api=None) -> np.ndarray:
    """Indices of the calls an effect applies to: every dimension it names, its window, its hours."""
    cat = world.catalogue
    rows = None
    if e.api_name is not None:
        api = cat.index(e.api_name)
        rows = rows_of_api(api) if rows_of_api else np.flatnonzero(calls.api == api)

    def col(values: np.ndarray) -> np.ndarray:
        return values if rows is None else values[rows]

    mask = np.ones(len(calls.api) if rows is None else len(rows), dtype=bool)
    if e.api_version is not None:
        first = np.array([int(v[0][1:]) for v in cat.versions])
        mask &= first[col(calls.api)] + col(calls.version) == int(e.api_version[1:])
    if e.region is not None:
        mask &= col(calls.region) == REGIONS.index(e.region)
    if e.document_type is not None:
        mask &= col(calls.document) == DOCUMENT_TYPES.index(e.document_type)
    if e.client_type is not None:
        mask &= world.client_type_of[col(calls.client)] == CLIENT_TYPES.index(e.client_type)
    if e.client_id is not None:
        mask &= col(calls.client) == int(e.client_id[1:]) - 1
    if e.sdk_version is not None:
        mask &= col(calls.sdk) == SDK_RELEASES.index(e.sdk_version)
    if e.window_start is not None or e.window_end is not None or e.daily_window is not None:
        t = col(calls.called_at_ms)
        if e.window_start is not None:
            mask &= t >= _epoch_ms(e.window_start)
        if e.window_end is not None:
            mask &= t < _epoch_ms(e.window_end)
        if e.daily_window is not None:
            minute = (t % DAY_MS) // 60_000
            mask &= (minute >= e.daily_window[0]) & (minute < e.daily_window[1])
    return np.flatnonzero(mask) if rows is None else rows[mask]


def effect_mask(world: World, calls: Calls, e: Effect) -> np.ndarray:
    """Which calls an effect applies to, as a boolean mask."""
    mask = np.zeros(len(calls.api), dtype=bool)
    mask[effect_rows(world, calls, e)] = True
    return mask


def arrived(world: World, rng, calls: Calls) -> Calls:
    """The calls that reach the platform: a traffic drop keeps a few at its edges, none between."""
    keep = np.ones(len(calls), dtype=bool)
    for e in world.effects:
        if e.kind != "traffic_drop":
            continue
        idx = effect_rows(world, calls, e)
        if len(idx) == 0:
            continue
        t = calls.called_at_ms[idx]
        edge = (t < _epoch_ms(e.window_start) + HOUR_MS) | (t >= _epoch_ms(e.window_end) - HOUR_MS)
        keep[idx] = rng.random(len(idx)) < np.where(edge, e.traffic_multiplier, 0.0)
    return calls if keep.all() else calls.take(keep)


def version_numbers(cat: Catalogue, calls: Calls) -> np.ndarray:
    """Version number per call: 2 for 'v2' (live versions are consecutive 'v<k>')."""
    first = np.array([int(v[0][1:]) for v in cat.versions])
    return first[calls.api] + calls.version


# Effects applied elsewhere: in the catalogue, the latency arrays or at arrival.
_NOT_PER_CALL = {
    "api_profile",
    "region_latency",
    "document_latency",
    "version_latency",
    "traffic_drop",
}


def _reason_probabilities(world: World, api, day, is_retry) -> np.ndarray:
    """Each row's probability of each failure reason (rows x REASONS), before effects."""
    cat = world.catalogue
    class_rate = cat.class_rate[api] * world.day_factor[api, day][:, None]
    class_rate[is_retry, 0] *= RETRY_CLIENT_INPUT_FACTOR
    return class_rate[:, REASON_CLASS] * cat.reason_mix[api]


def _cumulative(reason_p: np.ndarray) -> np.ndarray:
    """Cumulative reason probabilities per row, scaled so no row fails more than 95%."""
    total = reason_p.sum(axis=1)
    scale = np.where(total > 0.95, 0.95 / np.maximum(total, 1e-12), 1.0)
    return np.cumsum(reason_p * scale[:, None], axis=1)


def simulate(world: World, rng, calls: Calls) -> Calls:
    """Draw latency and outcome for every call of a layer."""
    cat = world.catalogue
    n = len(calls.api)
    a = calls.api
    median = (
        cat.median_ms[a]
        * world.region_latency[calls.region]
        * world.document_latency[calls.document]
    )
    if world.old_version_latency != 1.0:
        median = median * np.where(version_numbers(cat, calls) == 1, world.old_version_latency, 1.0)

    n_days = world.day_factor.shape[1]
    day = np.clip((calls.called_at_ms - _epoch_ms(world.start)) // DAY_MS, 0, n_days - 1)
    rows_of_api = _rows_of_api(calls, len(cat.names))
    changes_reason = []  # (effect, its rows) of the effects that change the reason mix
    for e in world.effects:
        if e.kind in _NOT_PER_CALL or (
            e.latency_multiplier is None and e.failure_rate_added is None
        ):
            continue
        idx = effect_rows(world, calls, e, rows_of_api)
        if len(idx) == 0:
            continue
        if e.latency_multiplier is not None:
            median[idx] *= e.latency_multiplier
        if e.client_input_multiplier is not None or (
            e.failure_rate_added is not None and e.error_reason is not None
        ):
            changes_reason.append((e, idx))

    # A call's reason probabilities depend on its API, day and whether it is a retry, until
    # an effect changes them: computed once per such key (the same arithmetic as per call,
    # so the same numbers), then again per call only for the calls an effect touches.
    key_of = (a.astype(np.int64) * n_days + day) * 2 + (calls.attempt_no > 1)
    keys = np.arange(len(cat.names) * n_days * 2)
    base = _reason_probabilities(world, keys // 2 // n_days, keys // 2 % n_days, keys % 2 == 1)
    u = rng.random(n)
    cum = _cumulative(base)
    # u past the last cumulative probability is a success; a failure's reason is how many
    # cumulative probabilities u passes
    reason = np.full(n, -1, dtype=np.int8)
    failed = np.flatnonzero(u < cum[key_of, -1])
    reason[failed] = (u[failed, None] >= cum[key_of[failed]]).sum(axis=1)
    if changes_reason:
        # the calls any such effect touches, in order, each once (a mask: a sort of their
        # concatenation cost more than the draws)
        is_touched = np.zeros(n, dtype=bool)
        for _, idx in changes_reason:
            is_touched[idx] = True
        touched = np.flatnonzero(is_touched)
        reason_p = base[key_of[touched]]
        client_input = np.flatnonzero(REASON_CLASS == 0)
        for e, idx in changes_reason:
            pos = np.searchsorted(touched, idx)
            if e.client_input_multiplier is not None:
                reason_p[np.ix_(pos, client_input)] *= e.client_input_multiplier
            else:
                for name, share in e.reason_mix or ((e.error_reason, 1.0),):
                    reason_p[pos, R[name]] += e.failure_rate_added * share
        drawn = (u[touched, None] >= _cumulative(reason_p)).sum(axis=1)
        reason[touched] = np.where(drawn >= len(REASONS), -1, drawn)

    timeout = cat.timeout_ms[a]
    latency = median * np.exp(cat.sigma[a] * rng.standard_normal(n))
    latency = np.clip(latency, 5, 0.95 * timeout)
    is_timeout = reason == R["timeout"]
    latency = np.where(is_timeout, timeout * rng.uniform(1.0, 1.02, n), latency)
    fast_fail = np.isin(reason, [R["service_down"], R["invalid_api_key"], R["insufficient_scope"]])
    latency = np.where(fast_fail, rng.lognormal(np.log(35), 0.4, n), latency)
    calls.reason = reason
    calls.latency_ms = np.maximum(1, np.rint(latency)).astype(np.int32)
    return calls


def retries(rng, prev: Calls) -> Calls | None:
    """The next attempt of verifications whose last attempt failed and whose user tried again."""
    failed = prev.reason >= 0
    cls = np.where(failed, REASON_CLASS[np.maximum(prev.reason, 0)], 0)
    again = (
        failed & (prev.attempt_no < MAX_ATTEMPTS) & (rng.random(len(cls)) < RETRY_PROBABILITY[cls])
    )
    if not again.any():
        return None
    delay_s = RETRY_DELAY_S[cls[again]]
    gap_ms = (1000 + rng.exponential(delay_s * 1000)).astype(np.int64)
    nxt = prev.take(again)
    nxt.called_at_ms = nxt.called_at_ms + gap_ms
    nxt.attempt_no = nxt.attempt_no + 1
    return nxt


def calls_for_window(
    world: World, rng, n_rows: int, start: datetime, end: datetime, first_id: int
) -> Calls:
    """Exactly n_rows calls: verifications with their retries, in time order."""
    layers: list[Calls] = []
    n_verifications = max(1, int(n_rows / 1.08))
    got = 0
    next_id = first_id
    while got < n_rows:
        first = first_attempts(world, rng, n_verifications, start, end, next_id)
        next_id += n_verifications
        layer = arrived(world, rng, first)
        while layer is not None and len(layer):
            layer = simulate(world, rng, layer)
            layers.append(layer)
            got += len(layer)
            nxt = retries(rng, layer)
            layer = arrived(world, rng, nxt) if nxt is not None else None
        n_verifications = max(1, int((n_rows - got) / 1.08) + 16)
    fields = (*Calls.INPUTS, "reason", "latency_ms")
    merged = {f: np.concatenate([getattr(layer, f) for layer in layers]) for f in fields}
    # Keep whole verifications first (by id), trim the surplus from the last ones, then time order.
    order = stable_order(merged["verification"], merged["attempt_no"], MAX_ATTEMPTS + 1)[:n_rows]
    order = order[stable_order(merged["called_at_ms"][order])]
    return Calls(**{f: merged[f][order] for f in fields})


def stable_order(
    major: np.ndarray, minor: np.ndarray | None = None, minor_bound: int = 1
) -> np.ndarray:
    """The permutation np.lexsort((minor, major)) gives (ties keep their order), for integer
    arrays with 0 <= minor < minor_bound. Where they fit, major, minor and the position are
    packed into one int64 and sorted by numpy's vectorised sort: a stable sort of a chunk's
    1M times cost a tenth of its simulation."""
    n = len(major)
    if n == 0:
        return np.arange(0)
    low = int(major.min())
    position_bits = max(n - 1, 1).bit_length()
    minor_bits = max(minor_bound - 1, 1).bit_length() if minor is not None else 0
    if (int(major.max()) - low).bit_length() + minor_bits + position_bits > 62:
        return np.lexsort((minor, major)) if minor is not None else np.argsort(major, kind="stable")
    key = major.astype(np.int64) - low
    if minor is not None:
        key = (key << minor_bits) | minor.astype(np.int64)
    key = (key << position_bits) | np.arange(n, dtype=np.int64)
    key.sort()
    return key & ((1 << position_bits) - 1)
