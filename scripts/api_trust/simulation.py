"""The behaviour of the synthetic platform: who calls what, how fast, and why it fails.

Everything here is vectorised numpy over one chunk of calls. The generator
(`generate.py`) owns chunks, batches, dirt and landing; this module owns the
truth that the analysis is later tested against, and writes every effect it
applies as a row of `raw.generator_effects`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from api_trust.contract import PROJECT_ROOT

REGIONS = ("Metro", "Tier1", "Tier2", "Rural")
REGION_SHARE = (0.40, 0.28, 0.20, 0.12)
DOCUMENT_TYPES = ("PAN", "Aadhaar", "Passport", "DrivingLicense", "VoterID")
DOCUMENT_SHARE = (0.34, 0.36, 0.10, 0.12, 0.08)
CLIENT_TYPES = ("FinTech", "E-Commerce", "Bank", "Telecom", "NBFC", "Insurance")
CLIENT_TYPE_SHARE = (0.34, 0.20, 0.20, 0.12, 0.09, 0.05)
N_CLIENTS = 240

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


@dataclass
class Effect:
    """One thing that makes some calls slower or fail more: the generator's ground truth."""

    kind: str
    is_incident: bool
    description: str
    api_name: str | None = None
    api_version: str | None = None
    region: str | None = None
    document_type: str | None = None
    client_type: str | None = None
    client_id: str | None = None
    error_reason: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    failure_rate_added: float | None = None
    latency_multiplier: float | None = None
    # Multiplies the client_input rate instead of adding a fixed rate (structural effects).
    client_input_multiplier: float | None = None
    applies: bool = field(default=True)

    def row(self, effect_id: int, scenario: str) -> dict:
        keys = ("kind", "is_incident", "api_name", "api_version", "region", "document_type",
                "client_type", "client_id", "error_reason", "window_start", "window_end",
                "failure_rate_added", "latency_multiplier", "description")  # fmt: skip
        return {"effect_id": effect_id, "scenario": scenario} | {k: getattr(self, k) for k in keys}


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

    @property
    def client_ids(self) -> list[str]:
        return [f"C{i + 1:04d}" for i in range(len(self.client_type_of))]


def build_world(scenario: str, seed: int, start: datetime, end: datetime) -> World:
    """Fix clients, structural effects and (for `default`) the planted incidents of one run."""
    cat = load_catalogue()
    rng = np.random.default_rng([seed, 7])
    client_type_of = rng.choice(len(CLIENT_TYPES), N_CLIENTS, p=CLIENT_TYPE_SHARE)
    client_traffic = (np.arange(1, N_CLIENTS + 1, dtype=float)) ** -1.0
    client_traffic = rng.permutation(client_traffic)
    client_traffic /= client_traffic.sum()

    effects: list[Effect] = []
    for i, name in enumerate(cat.names):
        effects.append(Effect(
            kind="api_profile", is_incident=False, api_name=name,
            failure_rate_added=float(cat.class_rate[i].sum()),
            description=(f"{name} ({cat.families[i]}): median latency {cat.median_ms[i]:.0f} ms, "
                         f"log-sd {cat.sigma[i]:.2f}, base failure rate {cat.class_rate[i].sum():.1%}"),
        ))  # fmt: skip
    ones4, ones5 = np.ones(4), np.ones(5)
    if scenario == "baseline":
        return World(cat, scenario, start, end, client_type_of, client_traffic, effects,
                     ones4, ones5, 1.0)  # fmt: skip
    if scenario != "default":
        raise ValueError(f"unknown scenario {scenario!r}: choose default or baseline")

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
    for api in ("PAN_OCR", "AADHAAR_OCR"):
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

    effects += _planted_incidents(cat, rng, start, end, client_type_of, client_traffic)
    return World(cat, scenario, start, end, client_type_of, client_traffic, effects,
                 region_latency, document_latency, 1.15)  # fmt: skip


def _planted_incidents(cat, rng, start, end, client_type_of, client_traffic) -> list[Effect]:
    """Five incidents whose targets vary by seed, so tests cannot pass by memorising one answer."""
    days = (end - start).days
    out: list[Effect] = []

    api = str(rng.choice(["DL_OCR", "PASSPORT_OCR", "LIVENESS_CHECK"]))
    region = str(rng.choice(["Rural", "Tier2"]))
    reason = "face_not_detected" if api == "LIVENESS_CHECK" else "blurry_image"
    w0 = end - timedelta(days=min(14, days))
    out.append(Effect(
        kind="segment_cluster", is_incident=True, api_name=api, region=region, error_reason=reason,
        window_start=w0, window_end=end, failure_rate_added=0.22,
        description=f"{api} x {region}: +22 pp {reason} since {w0:%Y-%m-%d} (capture SDK change)",
    ))  # fmt: skip

    api = str(rng.choice(["FACE_MATCH", "FRAUD_SCORE", "AADHAAR_OCR"]))
    version = cat.versions[cat.index(api)][-1]
    out.append(Effect(
        kind="version_regression", is_incident=True, api_name=api, api_version=version,
        latency_multiplier=2.2,
        description=f"{api} {version}: latency 2.2x the previous version (slow model release)",
    ))  # fmt: skip

    api = str(rng.choice(["BANK_VERIFY", "MOBILE_VERIFY", "PAN_OCR"]))
    day = int(rng.integers(max(3, days // 3), max(4, days - 2)))
    hour = int(rng.integers(4, 11))
    o0 = start + timedelta(days=day, hours=hour)
    o1 = o0 + timedelta(minutes=int(rng.choice([90, 120])))
    for reason, share in (("service_down", 0.6), ("timeout", 0.4)):
        out.append(Effect(
            kind="outage", is_incident=True, api_name=api, error_reason=reason,
            window_start=o0, window_end=o1, failure_rate_added=0.8 * share,
            description=f"{api} outage {o0:%Y-%m-%d %H:%M}-{o1:%H:%M} UTC: 80% of calls fail ({reason} {share:.0%})",
        ))  # fmt: skip

    api = str(rng.choice(["KYC_COMPOSITE", "LIVENESS_CHECK"]))
    doc = str(rng.choice(["Passport", "VoterID"]))
    out.append(Effect(
        kind="document_fragility", is_incident=True, api_name=api, document_type=doc,
        error_reason="invalid_document", failure_rate_added=0.15,
        description=f"{api} rejects {doc} as invalid_document 15 pp more often (parser bug)",
    ))  # fmt: skip

    # A mid-sized client whose rotated credentials were never deployed.
    order = np.argsort(-client_traffic)
    client = int(rng.choice(order[8:25]))
    c0 = end - timedelta(days=min(7, days))
    out.append(Effect(
        kind="client_auth_failures", is_incident=True, client_id=f"C{client + 1:04d}",
        client_type=CLIENT_TYPES[client_type_of[client]], error_reason="invalid_api_key",
        window_start=c0, window_end=end, failure_rate_added=0.35,
        description=f"client C{client + 1:04d} sends a revoked API key on 35% of calls since {c0:%Y-%m-%d}",
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
    called_at_ms: np.ndarray  # int64 ms since epoch, naive UTC
    attempt_no: np.ndarray
    verification: np.ndarray  # int64 verification number within the run
    reason: np.ndarray = field(default=None)  # -1 = success
    latency_ms: np.ndarray = field(default=None)


def _epoch_ms(dt: datetime) -> int:
    return int((dt - datetime(1970, 1, 1)).total_seconds() * 1000)


def sample_times(rng, n: int, start: datetime, end: datetime) -> np.ndarray:
    """Call times in [start, end) following the weekly and daily traffic shape."""
    hours0 = _epoch_ms(start) // 3_600_000
    n_hours = max(1, int((end - start).total_seconds() // 3600))
    hour_ids = hours0 + np.arange(n_hours)
    weekday = ((hour_ids // 24) + 3) % 7  # 1970-01-01 was a Thursday
    weights = HOUR_WEIGHT[hour_ids % 24] * WEEKDAY_WEIGHT[weekday]
    picked = rng.choice(n_hours, n, p=weights / weights.sum())
    return (hour_ids[picked] * 3_600_000 + rng.integers(0, 3_600_000, n)).astype(np.int64)


def window_weight(start: datetime, end: datetime) -> float:
    """Expected traffic in a window relative to other windows (to size chunks)."""
    hours0 = _epoch_ms(start) // 3_600_000
    n_hours = max(1, int((end - start).total_seconds() // 3600))
    hour_ids = hours0 + np.arange(n_hours)
    weekday = ((hour_ids // 24) + 3) % 7
    return float((HOUR_WEIGHT[hour_ids % 24] * WEEKDAY_WEIGHT[weekday]).sum())


def first_attempts(
    world: World, rng, n: int, start: datetime, end: datetime, first_id: int
) -> Calls:
    cat = world.catalogue
    api = rng.choice(len(cat.names), n, p=cat.traffic)
    # Newest version carries most traffic; older ones fade out.
    n_versions = np.array([len(v) for v in cat.versions])[api]
    u = rng.random(n)
    back = np.where(u < 0.6, 0, np.where(u < 0.9, 1, 2))
    version = np.clip(n_versions - 1 - back, 0, None)
    region = rng.choice(len(REGIONS), n, p=REGION_SHARE)
    document = rng.choice(len(DOCUMENT_TYPES), n, p=DOCUMENT_SHARE)
    native = cat.native_doc[api]
    document = np.where(native >= 0, native, document)
    client = rng.choice(len(world.client_type_of), n, p=world.client_traffic)
    return Calls(
        api=api, version=version, region=region, document=document, client=client,
        called_at_ms=sample_times(rng, n, start, end), attempt_no=np.ones(n, dtype=np.int64),
        verification=first_id + np.arange(n, dtype=np.int64),
    )  # fmt: skip


def _effect_mask(world: World, calls: Calls, e: Effect) -> np.ndarray:
    cat = world.catalogue
    mask = np.ones(len(calls.api), dtype=bool)
    if e.api_name is not None:
        mask &= calls.api == cat.index(e.api_name)
    if e.api_version is not None:
        mask &= version_numbers(cat, calls) == int(e.api_version[1:])
    if e.region is not None:
        mask &= calls.region == REGIONS.index(e.region)
    if e.document_type is not None:
        mask &= calls.document == DOCUMENT_TYPES.index(e.document_type)
    if e.client_id is not None:
        mask &= calls.client == int(e.client_id[1:]) - 1
    if e.window_start is not None:
        mask &= calls.called_at_ms >= _epoch_ms(e.window_start)
    if e.window_end is not None:
        mask &= calls.called_at_ms < _epoch_ms(e.window_end)
    return mask


def version_numbers(cat: Catalogue, calls: Calls) -> np.ndarray:
    """Version number per call: 2 for 'v2' (live versions are consecutive 'v<k>')."""
    first = np.array([int(v[0][1:]) for v in cat.versions])
    return first[calls.api] + calls.version


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

    class_rate = cat.class_rate[a].copy()
    class_rate[calls.attempt_no > 1, 0] *= RETRY_CLIENT_INPUT_FACTOR
    reason_p = class_rate[:, REASON_CLASS] * cat.reason_mix[a]
    for e in world.effects:
        if e.kind == "api_profile" or (
            e.latency_multiplier is None and e.failure_rate_added is None
        ):
            continue
        if e.kind in ("region_latency", "document_latency", "version_latency"):
            continue  # applied through the multiplier arrays above
        mask = _effect_mask(world, calls, e)
        if not mask.any():
            continue
        if e.latency_multiplier is not None:
            median = np.where(mask, median * e.latency_multiplier, median)
        if e.client_input_multiplier is not None:
            reason_p[np.ix_(mask, REASON_CLASS == 0)] *= e.client_input_multiplier
        elif e.failure_rate_added is not None and e.error_reason is not None:
            reason_p[mask, R[e.error_reason]] += e.failure_rate_added

    total = reason_p.sum(axis=1)
    scale = np.where(total > 0.95, 0.95 / np.maximum(total, 1e-12), 1.0)
    cum = np.cumsum(reason_p * scale[:, None], axis=1)
    u = rng.random(n)
    reason = (u[:, None] >= cum).sum(axis=1)
    reason = np.where(reason >= len(REASONS), -1, reason)

    timeout = cat.timeout_ms[a]
    latency = median * np.exp(cat.sigma[a] * rng.standard_normal(n))
    latency = np.clip(latency, 5, 0.95 * timeout)
    is_timeout = reason == R["timeout"]
    latency = np.where(is_timeout, timeout * rng.uniform(1.0, 1.02, n), latency)
    fast_fail = np.isin(reason, [R["service_down"], R["invalid_api_key"], R["insufficient_scope"]])
    latency = np.where(fast_fail, rng.lognormal(np.log(35), 0.4, n), latency)
    calls.reason = reason
    calls.latency_ms = np.maximum(1, np.rint(latency)).astype(np.int64)
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
    return Calls(
        api=prev.api[again], version=prev.version[again], region=prev.region[again],
        document=prev.document[again], client=prev.client[again],
        called_at_ms=prev.called_at_ms[again] + gap_ms, attempt_no=prev.attempt_no[again] + 1,
        verification=prev.verification[again],
    )  # fmt: skip


def calls_for_window(
    world: World, rng, n_rows: int, start: datetime, end: datetime, first_id: int
) -> Calls:
    """Exactly n_rows calls: verifications with their retries, in time order."""
    layers: list[Calls] = []
    n_verifications = max(1, int(n_rows / 1.08))
    got = 0
    next_id = first_id
    while got < n_rows:
        layer = simulate(
            world, rng, first_attempts(world, rng, n_verifications, start, end, next_id)
        )
        next_id += n_verifications
        while layer is not None:
            layers.append(layer)
            got += len(layer.api)
            nxt = retries(rng, layer)
            layer = simulate(world, rng, nxt) if nxt is not None else None
        n_verifications = max(1, int((n_rows - got) / 1.08) + 16)
    fields = ("api", "version", "region", "document", "client", "called_at_ms", "attempt_no",
              "verification", "reason", "latency_ms")  # fmt: skip
    merged = {f: np.concatenate([getattr(layer, f) for layer in layers]) for f in fields}
    # Keep whole verifications first (by id), trim the surplus from the last ones, then time order.
    order = np.lexsort((merged["attempt_no"], merged["verification"]))[:n_rows]
    order = order[np.argsort(merged["called_at_ms"][order], kind="stable")]
    return Calls(**{f: merged[f][order] for f in fields})
