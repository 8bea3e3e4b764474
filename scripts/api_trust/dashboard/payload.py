"""The page's data: one JSON-safe payload of aggregates, folded to keys, no rows.

Every API with calls is its own key, so any API can be selected; likely
misspellings of a catalogued name (dim_apis.name_source) share one key,
`unknown`, whose member names the page lists. The traffic-sized marts (agg_api_daily,
agg_api_hourly) are folded to day x key x region and hour x key counts: family,
platform and window views are exact sums of keys, so the page never needs rows,
and rates are recomputed from counts after every filter, never averaged.
Percentiles cannot be merged: the page either shows a series' exact value
(day x API x version x region) or reads the histogram mart, whose fixed
buckets do merge, and says which.

Display rules (what is drawn, how, with which words) live in the page's
JavaScript only (scripts/api_trust/dashboard/web/); this module decides what
data goes in, and the few size limits that bound the page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from api_trust.contract import project_vars
from api_trust.dashboard.marts import (
    EXTRA_DIMENSIONS,
    REGION_ORDER,
    MartRead,
    field_word,
    traffic_word,
)

Payload = dict[str, Any]

UNKNOWN_KEY = "unknown"  # every likely misspelling of a catalogued API name (dim_apis)
ROUTE_FAMILY = "ROUTES"  # the family of APIs named after a team's unmapped routes
OWN_FAMILY = "OWN"  # the family of a team's own API names outside our catalogue
DAILY_LATENCY_APIS = 12  # exact daily percentiles for the busiest APIs (plus each family's busiest)
HOURLY_TOP_APIS = 8  # hourly series of their own; the rest hourly per family
MAX_HOURLY_DAYS = 45  # hourly data for the last N days only (bounded page size)
MIN_SERIES_CALLS = 20  # a daily p50/p95 from fewer calls is noise: not embedded
MIN_P99_CALLS = 100  # below this a p99 is the maximum, not a percentile
HISTOGRAM_PER_DECADE = 20  # must match macros/histogram.sql
# The failure classes and the ones that count against availability: vars in dbt_project.yml,
# the one list the marts count by (macros/failure_counts.sql) and the page reads from meta.
FAILURE_CLASSES = tuple(project_vars()["failure_classes"])
AVAILABILITY_CLASSES = tuple(project_vars()["availability_failure_classes"])
# an SLO is breached only with at least this many bad calls (agg_slo_status, Stats.sloStatus)
SLO_MIN_BAD_CALLS = int(project_vars()["slo_min_bad_calls"])
STATIC_SECTIONS = (
    "regions", "documents", "concentration", "conversion", "findings", "incidents",
    "fragile", "regressions", "dq_reasons", "dq_values", "dq_drift", "dq_batches",
)  # fmt: skip


def clean(value: Any) -> Any:
    """JSON-safe scalar: NaN/inf -> None, numpy -> Python, timestamps -> ISO text."""
    if value is None:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return None if pd.isna(value) else value.isoformat(sep=" ")
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def records(df: pd.DataFrame | None, columns: Sequence[str] | None = None) -> list[dict]:
    if df is None:
        return []
    cols = [c for c in (columns or df.columns) if c in df.columns]
    return [
        {c: clean(v) for c, v in zip(cols, row, strict=True)}
        for row in df[cols].itertuples(index=False)
    ]


def columnar(
    df: pd.DataFrame, columns: Sequence[str], digits: int | None = None
) -> dict[str, list]:
    """Column lists (smaller than records); floats rounded to `digits` places when given."""
    out: dict[str, list] = {}
    for c in columns:
        values = [clean(v) for v in df[c].tolist()]
        if digits is not None:
            values = [round(v, digits) if isinstance(v, float) else v for v in values]
        out[c] = values
    return out


def _index(values: Iterable[Any], order: Sequence[Any]) -> list[int]:
    pos = {v: i for i, v in enumerate(order)}
    return [pos[v] for v in values]


def build_keys(apis: pd.DataFrame) -> tuple[list[dict], dict[str, str]]:
    """One key per API (busiest first) plus `unknown`; and api_name -> key for all. Every
    name is an API of its own (a catalogue's, a route's, or one the logs alone carry)
    except likely misspellings of a catalogued API (dim_apis.name_source), which share the
    `unknown` key."""
    source = apis["name_source"].fillna("likely_typo")
    own = apis[source != "likely_typo"].sort_values(["calls", "api_name"], ascending=[False, True])
    typos = apis[source == "likely_typo"].sort_values("api_name")
    keys = [
        {"key": r.api_name, "label": r.api_name, "family": _family(r),
         "owner": r.owner_team, "is_api": True, "calls": int(r.calls)}
        for r in own.itertuples(index=False)
    ]  # fmt: skip
    if len(typos):
        keys.append({
            "key": UNKNOWN_KEY, "label": f"Likely misspelt API names ({len(typos)})",
            "family": "UNKNOWN", "owner": None, "is_api": False, "calls": int(typos["calls"].sum()),
            "members": typos["api_name"].tolist(),
            "typo_of": typos["likely_typo_of"].tolist(),
        })  # fmt: skip
    key_of = {a: a for a in own["api_name"]}
    key_of.update({a: UNKNOWN_KEY for a in typos["api_name"]})
    return keys, key_of


def _family(api: Any) -> str:
    """A catalogue API's family; a route's ROUTES; a team's own name (its catalogue's or
    the logs') OWN: no catalogue of ours says what it does."""
    if api.is_known_api:
        return api.api_family
    return ROUTE_FAMILY if api.name_source == "route" else OWN_FAMILY


def daily_cube(
    daily: pd.DataFrame,
    key_of: dict[str, str],
    keys: list[str],
    days: list[str],
    regions: list[str],
) -> dict:
    """Calls and failures per class by day x key x region: exact sums of agg_api_daily."""
    df = daily.assign(
        key=daily["api_name"].map(key_of).fillna(UNKNOWN_KEY),
        day=daily["called_date"].astype(str),
    )
    # sampled_calls: the records behind weighted calls, for intervals (marts of before it: none)
    seen = ["sampled_calls"] if "sampled_calls" in daily.columns else []
    measures = ["calls", *seen, *(f"{c}_failures" for c in FAILURE_CLASSES)]
    cube = df.groupby(["day", "key", "region"], as_index=False)[measures].sum()
    cube = cube[cube["key"].isin(keys)]
    out = {
        "d": _index(cube["day"], days),
        "k": _index(cube["key"], keys),
        "r": _index(cube["region"], regions),
    }
    out.update({m: [int(v) for v in cube[m]] for m in measures})
    return out


def daily_latency(
    daily: pd.DataFrame, apis: list[str], days: list[str], regions: list[str]
) -> dict:
    """Exact per-series daily percentiles (day x api x version x region) for a few APIs."""
    df = daily[
        daily["api_name"].isin(apis)
        & (daily["calls"] >= MIN_SERIES_CALLS)
        & daily["p50_latency_ms"].notna()  # a day whose calls carry no latency has no series
    ]
    df = df.sort_values(["api_name", "api_version", "region", "called_date"])
    return {
        "d": _index(df["called_date"].astype(str), days),
        "a": _index(df["api_name"], apis),
        "v": df["api_version"].tolist(),
        "r": _index(df["region"], regions),
        "calls": [int(v) for v in df["calls"]],
        "p50": [round(float(v)) for v in df["p50_latency_ms"]],
        "p95": [round(float(v)) for v in df["p95_latency_ms"]],
        "p99": [
            round(float(v)) if n >= MIN_P99_CALLS else None
            for v, n in zip(df["p99_latency_ms"], df["calls"], strict=True)
        ],
    }


def daily_latency_apis(keys: list[dict], latency: pd.DataFrame | None) -> list[str]:
    """The busiest APIs whose calls carry a latency, plus each family's busiest."""
    timed = set() if latency is None else set(latency["api_name"])
    ranked = [k for k in keys if k["is_api"] and k["key"] in timed]  # keys are busiest first
    chosen = [k["key"] for k in ranked[:DAILY_LATENCY_APIS]]
    families = {}
    for k in ranked:
        families.setdefault(k["family"], k["key"])
    return chosen + [a for a in families.values() if a not in chosen]


def hourly_cube(hourly: pd.DataFrame, keys: list[dict], key_of: dict[str, str]) -> dict:
    """Hourly calls and failures for the busiest APIs and per family, last MAX_HOURLY_DAYS days."""
    top = [k["key"] for k in keys if k["is_api"]][:HOURLY_TOP_APIS]
    family_of_key = {k["key"]: k["family"] for k in keys}
    families = {a: family_of_key.get(k, "UNKNOWN") for a, k in key_of.items()}
    df = hourly.copy()
    end = df["called_hour_at"].max()
    df = df[df["called_hour_at"] > end - pd.Timedelta(days=MAX_HOURLY_DAYS)]
    df["key"] = [
        a if a in set(top) else f"family:{families.get(a, 'UNKNOWN')}" for a in df["api_name"]
    ]
    df["platform_failures"] = df["server_failures"] + df["timeout_failures"]
    cube = df.groupby(["called_hour_at", "key"], as_index=False)[
        ["calls", "failures", "platform_failures"]
    ].sum()
    hours = sorted(cube["called_hour_at"].unique())
    series = top + sorted({k for k in cube["key"] if k not in set(top)})
    return {
        "hours": [pd.Timestamp(h).strftime("%Y-%m-%d %H:00") for h in hours],
        "series": series,
        "series_family": [families.get(k, k.removeprefix("family:")) for k in series],
        "h": _index(cube["called_hour_at"], hours),
        "s": _index(cube["key"], series),
        "calls": [int(v) for v in cube["calls"]],
        "failures": [int(v) for v in cube["failures"]],
        "platform_failures": [int(v) for v in cube["platform_failures"]],
        "is_truncated": bool(
            hourly["called_hour_at"].min() <= end - pd.Timedelta(days=MAX_HOURLY_DAYS)
        ),
    }


def by_key(frame: pd.DataFrame, key_of: dict[str, str], keys: list[str], group: list[str],
           measure: str) -> pd.DataFrame:  # fmt: skip
    df = frame.assign(key=frame["api_name"].map(key_of).fillna(UNKNOWN_KEY))
    cube = df.groupby(["key", *group], as_index=False)[measure].sum()
    return cube[cube["key"].isin(keys)]


def histogram_by_key(histogram: pd.DataFrame, key_of: dict[str, str], keys: list[str]) -> dict:
    cube = by_key(histogram, key_of, keys, ["bucket_no"], "calls")
    return {
        "k": _index(cube["key"], keys),
        "b": [int(v) for v in cube["bucket_no"]],
        "calls": [int(v) for v in cube["calls"]],
        "per_decade": HISTOGRAM_PER_DECADE,
    }


def errors_by_key(errors: pd.DataFrame, key_of: dict[str, str], keys: list[str]) -> dict:
    cube = by_key(errors, key_of, keys, ["error_reason", "failure_class"], "failures")
    return {
        "k": _index(cube["key"], keys),
        "reason": cube["error_reason"].tolist(),
        "class": cube["failure_class"].tolist(),
        "failures": [int(v) for v in cube["failures"]],
    }


def evidence_by_finding(evidence: pd.DataFrame) -> dict[str, dict]:
    """finding_rank -> {reasons: [[reason, class, failures]], clients: [[id, failures]], samples}."""
    out: dict[str, dict] = {}
    for r in evidence.itertuples(index=False):
        item = out.setdefault(str(r.finding_rank), {"reasons": [], "clients": [], "samples": []})
        if r.kind == "reason":
            item["reasons"].append([r.label, r.detail, int(r.n)])
        elif r.kind == "client":
            item["clients"].append([r.label, int(r.n)])
        else:
            item["samples"].append(r.label)
    return out


def clients_by_key(clients: pd.DataFrame, key_of: dict[str, str]) -> dict[str, list]:
    """Known API -> its top clients by failures [[client_id, calls, failures]]."""
    out: dict[str, list] = {}
    for r in clients.itertuples(index=False):
        if key_of.get(r.api_name) == r.api_name:
            out.setdefault(r.api_name, []).append([r.client_id, int(r.calls), int(r.failures)])
    return out


def build_payload(read: MartRead, warehouse: str, generated_at: datetime | None = None) -> Payload:
    """Everything the page draws from: small, JSON-safe, no rows."""
    generated_at = generated_at or datetime.now()
    payload: Payload = {
        "meta": {
            "generated_at": generated_at.strftime("%Y-%m-%d %H:%M"),
            "warehouse": warehouse,
            "regions": list(REGION_ORDER),
            "classes": list(FAILURE_CLASSES),
            "availability_classes": list(AVAILABILITY_CLASSES),
            "slo_min_bad_calls": SLO_MIN_BAD_CALLS,
            "max_hourly_days": MAX_HOURLY_DAYS,
            "min_series_calls": MIN_SERIES_CALLS,
            "min_p99_calls": MIN_P99_CALLS,
            "extra_dimensions": list(EXTRA_DIMENSIONS),
        },
        "missing": dict(read.missing),
        "keys": [],
        "days": [],
    }
    overview = read.get("overview")
    payload["overview"] = records(overview)[0] if overview is not None and len(overview) else None
    apis = read.get("apis")
    if apis is not None and not apis.empty:
        _add_api_sections(payload, read, apis)
    _add_coverage(payload, read)
    for name in STATIC_SECTIONS:
        frame = read.get(name)
        if frame is not None:
            payload[name] = records(frame)
    return payload


def _add_coverage(payload: Payload, read: MartRead) -> None:
    """What the data lacks: fields no API call carries (the one rule is marts._COVERAGE_SQL),
    calls left out as non-API traffic, and the extra dimensions' values."""
    coverage = read.get("coverage")
    if coverage is not None:
        payload["coverage"] = {
            r["field"]: {**r, "word": field_word(r["field"])} for r in records(coverage)
        }
    left_out = read.get("left_out")
    if left_out is not None:
        payload["left_out"] = [
            {**r, "word": traffic_word(r["traffic_class"])} for r in records(left_out)
        ]
    extra = read.get("extra_values")
    if extra is not None:
        grouped: dict[str, list[dict]] = {d: [] for d in EXTRA_DIMENSIONS}
        for row in records(extra):
            grouped.setdefault(row["dimension"], []).append(row)
        payload["extra_values"] = grouped


def _add_api_sections(payload: Payload, read: MartRead, apis: pd.DataFrame) -> None:
    keys, key_of = build_keys(apis)
    key_names = [k["key"] for k in keys]
    payload["keys"] = keys
    latency = read.get("latency")
    if latency is not None and not latency.empty:
        payload["latency"] = columnar(
            latency[latency["api_name"].isin(key_names)],
            ["api_name", "calls", "p50_latency_ms", "p90_latency_ms", "p95_latency_ms",
             "p99_latency_ms", "max_latency_ms"],
            digits=1,
        )  # fmt: skip
    payload["families"] = sorted({k["family"] for k in keys if k["is_api"]})
    daily = read.get("daily")
    if daily is not None and not daily.empty:
        days = sorted(daily["called_date"].astype(str).unique())
        regions = list(REGION_ORDER) + sorted(set(daily["region"]) - set(REGION_ORDER))
        payload["meta"]["regions"] = regions
        payload["days"] = days
        payload["daily"] = daily_cube(daily, key_of, key_names, days, regions)
        lat_apis = daily_latency_apis(keys, latency)
        payload["daily_latency_apis"] = lat_apis
        payload["daily_latency"] = daily_latency(daily, lat_apis, days, regions)
    hourly = read.get("hourly")
    if hourly is not None and not hourly.empty:
        payload["hourly"] = hourly_cube(hourly, keys, key_of)
    histogram = read.get("histogram")
    if histogram is not None and not histogram.empty:
        payload["histogram"] = histogram_by_key(histogram, key_of, key_names)
    versions = read.get("versions")
    if versions is not None:
        payload["versions"] = columnar(
            versions[versions["api_name"].isin(key_names)].sort_values(["api_name", "api_version"]),
            ["api_name", "api_version", "calls", "p50_latency_ms", "p95_latency_ms",
             "p99_latency_ms", "is_latest_version"],
            digits=1,
        )  # fmt: skip
    errors = read.get("errors")
    if errors is not None:
        payload["errors"] = errors_by_key(errors, key_of, key_names)
    slo = read.get("slo")
    if slo is not None:
        payload["slo"] = records(slo)
    evidence = read.get("evidence")
    if evidence is not None:
        payload["evidence"] = evidence_by_finding(evidence)
    clients = read.get("clients")
    if clients is not None:
        payload["clients"] = clients_by_key(clients, key_of)
