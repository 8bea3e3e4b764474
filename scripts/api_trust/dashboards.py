"""Render the dashboards from the marts: PNG charts and one offline HTML page.

    python -m api_trust.dashboards          (make dashboards)

Reads marts only (never fct_api_calls), with the warehouse opened read-only and
closed before anything is drawn, so a dashboard build never holds the lock
while Chromium works. Every chart is a plain plotly figure dict built here from
one JSON payload of aggregates; the same dicts go to kaleido (all PNGs in one
browser session) and into `index.html`, whose JavaScript redraws the charts
that follow the API and date filters from that payload (see dashboard_html.py).

Why the payload looks the way it does:

- No per-row data. The page carries mart aggregates only, and the two marts
  that grow with traffic (agg_api_daily, agg_api_hourly: day or hour x api) are
  folded to a few dozen *keys*: the featured APIs (the busiest overall plus the
  busiest of each family) and one "other <family> APIs" key per family. Family
  and platform views are exact sums of keys, so filtering never needs rows.
- Rates are recomputed from counts after every filter, never averaged, and
  intervals are Wilson 95% from the same counts the marts use.
- Percentiles cannot be merged: a filtered view shows per-series values
  (day x api x version x region from agg_api_daily) or reads the histogram
  mart (whose fixed buckets do merge), and each chart says which.
- Data text (API names, regions, reasons, findings) reaches plotly escaped as
  entities (plotly would otherwise read `<b>`-style tags in it) and the page
  as JSON with `<`, `>`, `&` and U+2028/9 escaped, rendered with textContent.
"""

from __future__ import annotations

import html
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from api_trust.contract import dashboards_dir, db_path
from api_trust.warehouse import connect, run_cli

Figure = dict[str, Any]
Payload = dict[str, Any]

# How much of the traffic-sized marts the page carries.
TOP_APIS = 12  # busiest APIs overall, always their own key
TOP_PER_FAMILY = 3  # plus the busiest APIs of every family
DAILY_LATENCY_APIS = 12  # per-series daily percentiles for these (plus each family's busiest)
HOURLY_TOP_APIS = 8  # hourly series of their own; the rest hourly per family
MAX_HOURLY_DAYS = 45  # hourly data for the last N days only (bounded page size)
CHART_APIS = 8  # APIs drawn per chart
MIN_SERIES_CALLS = 20  # a daily p50/p95 from fewer calls is noise: not drawn
SPARSE_SHARE = 0.05  # a day or hour with under 5% of the median one's calls (e.g. the partial
# last hour of an extract, where only late retries land) gets no rate drawn: it says nothing
MIN_P99_CALLS = 100  # below this a p99 is the maximum, not a percentile
HISTOGRAM_PER_DECADE = 20  # must match macros/histogram.sql
Z95 = 1.959963984540054

SLO_COLUMNS = (
    "api_name", "api_family", "status", "calls", "bad_calls", "error_budget_calls", "budget_consumed",
    "availability", "availability_target", "is_breach_significant", "burn_rate_1h", "burn_rate_6h",
    "latency_good_rate", "latency_slo_ms", "latency_target", "is_latency_slo_attained",
)  # fmt: skip
MIN_CHART_HEIGHT = 380  # a 4-line title, a legend and an axis leave room for a plot
PNG_WIDTH = 1200
ORIGINAL_PNGS = {
    "latency_distribution": "api_latency_distribution.png",
    "success_by_region": "success_rate_by_region.png",
    "failure_by_document": "failure_rate_by_document.png",
}
FAILURE_CLASSES = ("client_input", "fraud_decision", "auth", "server", "timeout")
REGION_ORDER = ("Metro", "Tier1", "Tier2", "Rural")
FONT = "Inter, 'Segoe UI', Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"
COLORWAY = [
    "#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed",
    "#0891b2", "#db2777", "#65a30d", "#475569", "#ea580c",
]  # fmt: skip
CHROMIUM_HINT = (
    "PNG export needs Debian's chromium (`apt-get install chromium`); index.html was still written"
)


def progress(message: str) -> None:
    print(f"dashboards: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- reading


@dataclass
class MartRead:
    """What was read from the warehouse: frames by query name, and why others are absent."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # query name -> note for the page

    def get(self, name: str) -> pd.DataFrame | None:
        return self.frames.get(name)


# query name -> (mart it reads, SQL). Per-record marts are aggregated here, in SQL,
# so the page never receives rows; everything else is small and read whole.
# labels only: a refused latency or timestamp is one odd number each, a refused label is a
# sender using a vocabulary we do not know, which someone can fix
_RAW_VALUE_COLUMNS = (
    "api_name",
    "api_version",
    "region",
    "client_type",
    "document_type",
    "status",
    "error_reason",
)
_RAW_VALUE_CASE = " ".join(f"when '{c}' then q.{c}_raw" for c in _RAW_VALUE_COLUMNS)
QUERIES: dict[str, tuple[str, str]] = {
    "overview": ("agg_platform_overview", "select * from agg_platform_overview"),
    "latency": ("agg_latency_by_api", "select * from agg_latency_by_api order by calls desc"),
    "versions": ("agg_latency_by_api_version", "select * from agg_latency_by_api_version"),
    "histogram": (
        "agg_latency_histogram_by_api",
        "select api_name, bucket_no, calls from agg_latency_histogram_by_api",
    ),
    "daily": ("agg_api_daily", "select * from agg_api_daily"),
    "hourly": (
        "agg_api_hourly",
        "select called_hour_at, api_name, calls, failures, server_failures, timeout_failures"
        " from agg_api_hourly",
    ),
    "regions": ("agg_success_by_region", "select * from agg_success_by_region"),
    "documents": ("agg_failure_by_document_type", "select * from agg_failure_by_document_type"),
    "errors": (
        "agg_error_reasons_by_api",
        "select api_name, error_reason, failure_class, failures from agg_error_reasons_by_api",
    ),
    "concentration": ("agg_failures_by_region", "select * from agg_failures_by_region"),
    "slo": ("agg_slo_status", "select * from agg_slo_status"),
    "conversion": ("agg_conversion_by_region", "select * from agg_conversion_by_region"),
    "findings": ("rca_findings", "select * from rca_findings order by finding_rank limit 50"),
    "incidents": ("rca_incidents", "select * from rca_incidents limit 200"),
    "fragile": (
        "rca_fragile_document_types",
        # significant pairs first, then the next-largest excess for context
        "select * from rca_fragile_document_types where calls >= 30"
        " order by is_significant desc, excess_failures desc nulls last, api_name, document_type"
        " limit 10",
    ),
    "dq_reasons": (
        "dq_quarantine_reasons",
        "select column_name, reason, count(*) as records from dq_quarantine_reasons"
        " group by column_name, reason order by records desc, reason",
    ),
    "dq_values": (
        "dq_quarantine",
        # the delivered values behind the commonest refusals: what a sender must fix
        "select r.column_name, r.reason, case r.column_name "
        + _RAW_VALUE_CASE
        + " end as value_raw, count(*) as records"
        " from dq_quarantine_reasons as r join dq_quarantine as q"
        " on r.batch_id = q.batch_id and r.source_record_no = q.source_record_no"
        " where r.column_name in (" + ", ".join(f"'{c}'" for c in _RAW_VALUE_COLUMNS) + ")"
        " group by all having value_raw is not null order by records desc, value_raw limit 20",
    ),
    "dq_drift": ("dq_schema_drift", "select * from dq_schema_drift order by loaded_at, batch_id"),
    "dq_batches": (
        "dq_batch_summary",
        "select * from dq_batch_summary order by loaded_at, batch_id",
    ),
}


def read_marts(con: duckdb.DuckDBPyConnection) -> MartRead:
    """Run every dashboard query; a missing or unreadable mart becomes a note, never a crash."""
    present = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = current_schema()"
        ).fetchall()
    }
    read = MartRead()
    for name, (mart, sql) in QUERIES.items():
        needs = {mart, "dq_quarantine_reasons"} if name == "dq_values" else {mart}
        if not needs <= present:
            read.missing[name] = f"{mart} is not built yet: run `dbt build` (make build)"
            continue
        try:
            read.frames[name] = con.execute(sql).fetch_df()
        except duckdb.Error as err:
            first = str(err).strip().splitlines()[0][:200]
            read.missing[name] = f"{mart} could not be read ({first}): rebuild it with `dbt build`"
    return read


# --------------------------------------------------------------------------- payload


def _clean(value: Any) -> Any:
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
        {c: _clean(v) for c, v in zip(cols, row, strict=True)}
        for row in df[cols].itertuples(index=False)
    ]


def columnar(
    df: pd.DataFrame, columns: Sequence[str], digits: int | None = None
) -> dict[str, list]:
    """Column lists (smaller than records); floats rounded to `digits` places when given."""
    out: dict[str, list] = {}
    for c in columns:
        values = [_clean(v) for v in df[c].tolist()]
        if digits is not None:
            values = [round(v, digits) if isinstance(v, float) else v for v in values]
        out[c] = values
    return out


def featured_apis(latency: pd.DataFrame) -> list[str]:
    """The busiest APIs overall plus the busiest of each family, busiest first."""
    ranked = latency.sort_values(["calls", "api_name"], ascending=[False, True])
    chosen = list(ranked["api_name"].head(TOP_APIS))
    per_family = ranked.groupby("api_family", sort=False).head(TOP_PER_FAMILY)
    chosen += [a for a in per_family["api_name"] if a not in chosen]
    order = {a: i for i, a in enumerate(ranked["api_name"])}
    return sorted(chosen, key=order.__getitem__)


def other_key(family: str) -> str:
    return f"other:{family}"


def build_keys(latency: pd.DataFrame) -> tuple[list[dict], dict[str, str]]:
    """Keys the cubes are folded to, and api_name -> key for every API."""
    featured = featured_apis(latency)
    families = dict(zip(latency["api_name"], latency["api_family"], strict=True))
    keys = [{"key": a, "label": a, "family": families[a], "is_api": True} for a in featured]
    rest = sorted({families[a] for a in families if a not in set(featured)})
    keys += [
        {"key": other_key(f), "label": f"other {f} APIs", "family": f, "is_api": False}
        for f in rest
    ]
    featured_set = set(featured)
    key_of = {a: (a if a in featured_set else other_key(f)) for a, f in families.items()}
    return keys, key_of


def _index(values: Iterable[str], order: Sequence[str]) -> list[int]:
    pos = {v: i for i, v in enumerate(order)}
    return [pos[v] for v in values]


def daily_cube(
    daily: pd.DataFrame,
    key_of: dict[str, str],
    keys: list[str],
    days: list[str],
    regions: list[str],
) -> dict:
    """Calls and failures by day x key x region: exact sums of agg_api_daily counts."""
    df = daily.assign(
        key=daily["api_name"].map(key_of).fillna("other:UNKNOWN"),
        day=daily["called_date"].astype(str),
    )
    measures = ["calls", "failures", *(f"{c}_failures" for c in FAILURE_CLASSES)]
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
    df = daily[daily["api_name"].isin(apis) & (daily["calls"] >= MIN_SERIES_CALLS)]
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


def hourly_cube(hourly: pd.DataFrame, latency: pd.DataFrame) -> dict:
    """Hourly calls and failures for the busiest APIs and per family, last MAX_HOURLY_DAYS days."""
    top = list(latency.sort_values("calls", ascending=False)["api_name"].head(HOURLY_TOP_APIS))
    families = dict(zip(latency["api_name"], latency["api_family"], strict=True))
    df = hourly.copy()
    end = df["called_hour_at"].max()
    df = df[df["called_hour_at"] > end - pd.Timedelta(days=MAX_HOURLY_DAYS)]
    df["key"] = [
        a if a in set(top) else other_key(families.get(a, "UNKNOWN")) for a in df["api_name"]
    ]
    df["platform_failures"] = df["server_failures"] + df["timeout_failures"]
    cube = df.groupby(["called_hour_at", "key"], as_index=False)[
        ["calls", "failures", "platform_failures"]
    ].sum()
    hours = sorted(cube["called_hour_at"].unique())
    keys = top + sorted({k for k in cube["key"] if k not in set(top)})
    hour_text = [pd.Timestamp(h).strftime("%Y-%m-%d %H:00") for h in hours]
    return {
        "hours": hour_text,
        "keys": keys,
        "key_family": [families.get(k, k.removeprefix("other:")) for k in keys],
        "h": _index(cube["called_hour_at"], hours),
        "k": _index(cube["key"], keys),
        "calls": [int(v) for v in cube["calls"]],
        "failures": [int(v) for v in cube["failures"]],
        "platform_failures": [int(v) for v in cube["platform_failures"]],
        "is_truncated": bool(
            hourly["called_hour_at"].min() <= end - pd.Timedelta(days=MAX_HOURLY_DAYS)
        ),
    }


def histogram_by_key(histogram: pd.DataFrame, key_of: dict[str, str], keys: list[str]) -> dict:
    df = histogram.assign(key=histogram["api_name"].map(key_of).fillna("other:UNKNOWN"))
    cube = df.groupby(["key", "bucket_no"], as_index=False)["calls"].sum()
    cube = cube[cube["key"].isin(keys)]
    return {
        "k": _index(cube["key"], keys),
        "b": [int(v) for v in cube["bucket_no"]],
        "calls": [int(v) for v in cube["calls"]],
        "per_decade": HISTOGRAM_PER_DECADE,
    }


def errors_by_key(errors: pd.DataFrame, key_of: dict[str, str], keys: list[str]) -> dict:
    df = errors.assign(key=errors["api_name"].map(key_of).fillna("other:UNKNOWN"))
    cube = df.groupby(["key", "error_reason", "failure_class"], as_index=False)["failures"].sum()
    cube = cube[cube["key"].isin(keys)]
    return {
        "k": _index(cube["key"], keys),
        "reason": cube["error_reason"].tolist(),
        "class": cube["failure_class"].tolist(),
        "failures": [int(v) for v in cube["failures"]],
    }


def build_payload(read: MartRead, generated_at: datetime | None = None) -> Payload:
    """Everything the page and the PNGs draw from: small, JSON-safe, no rows."""
    generated_at = generated_at or datetime.now()
    payload: Payload = {
        "meta": {
            "generated_at": generated_at.strftime("%Y-%m-%d %H:%M"),
            "warehouse": db_path().name,
            "regions": list(REGION_ORDER),
            "max_hourly_days": MAX_HOURLY_DAYS,
            "min_series_calls": MIN_SERIES_CALLS,
            "sparse_share": SPARSE_SHARE,
            "min_p99_calls": MIN_P99_CALLS,
            "min_chart_height": MIN_CHART_HEIGHT,
        },
        "missing": dict(read.missing),
    }
    overview = read.get("overview")
    payload["overview"] = records(overview)[0] if overview is not None and len(overview) else None

    latency = read.get("latency")
    if latency is None or latency.empty:
        payload["keys"] = []
        return _add_static_sections(payload, read)
    keys, key_of = build_keys(latency)
    key_names = [k["key"] for k in keys]
    payload["keys"] = keys
    payload["apis"] = columnar(
        latency[latency["api_name"].isin(key_names)],
        ["api_name", "api_family", "owner_team", "calls", "mean_latency_ms",
         "p50_latency_ms", "p90_latency_ms", "p95_latency_ms", "p99_latency_ms", "max_latency_ms"],
        digits=1,
    )  # fmt: skip
    payload["families"] = sorted(latency["api_family"].unique().tolist())

    daily = read.get("daily")
    if daily is not None and not daily.empty:
        days = sorted(daily["called_date"].astype(str).unique())
        regions = list(REGION_ORDER) + sorted(set(daily["region"]) - set(REGION_ORDER))
        payload["meta"]["regions"] = regions
        payload["days"] = days
        payload["daily"] = daily_cube(daily, key_of, key_names, days, regions)
        ranked = latency.sort_values("calls", ascending=False)
        lat_apis = list(ranked["api_name"].head(DAILY_LATENCY_APIS))
        lat_apis += [
            a for a in ranked.groupby("api_family").head(1)["api_name"] if a not in lat_apis
        ]
        payload["daily_latency_apis"] = lat_apis
        payload["daily_latency"] = daily_latency(daily, lat_apis, days, regions)
    hourly = read.get("hourly")
    if hourly is not None and not hourly.empty:
        payload["hourly"] = hourly_cube(hourly, latency)
    histogram = read.get("histogram")
    if histogram is not None:
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
        payload["slo"] = records(slo, SLO_COLUMNS)
    return _add_static_sections(payload, read)


def _add_static_sections(payload: Payload, read: MartRead) -> Payload:
    """Marts without an API or date dimension: carried whole (they are a few rows each)."""
    for name in ("regions", "documents", "concentration", "conversion", "findings", "incidents",
                 "fragile", "dq_reasons", "dq_values", "dq_drift", "dq_batches"):  # fmt: skip
        frame = read.get(name)
        if frame is not None:
            payload[name] = records(frame)
    return payload


# --------------------------------------------------------------------------- text helpers


def pt(text: Any) -> str:
    """Data text for plotly: entities, so `<img ...>` is drawn as text and never read as a tag."""
    return html.escape(str(text), quote=False)


def wrap(text: str, width: int) -> str:
    """Break a plain title into plotly lines at word boundaries, escaping each line."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return "<br>".join(pt(line) for line in lines)


def rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def pct(rate: float | None, digits: int = 1) -> str:
    return "n/a" if rate is None else f"{100 * rate:.{digits}f}%"


def ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def drawn_mask(calls: Sequence[int]) -> tuple[list[bool], int]:
    """Which periods get a rate drawn: those with at least SPARSE_SHARE of the median
    period's calls (periods without calls ignored). Also returns how many were left blank."""
    busy = sorted(n for n in calls if n)
    typical = (busy[(len(busy) - 1) // 2] + busy[len(busy) // 2]) / 2 if busy else 0
    mask = [n > 0 and n >= SPARSE_SHARE * typical for n in calls]
    return mask, sum(1 for n, ok in zip(calls, mask, strict=True) if n and not ok)


def sparse_note(blank: int, unit: str) -> str:
    if not blank:
        return ""
    return f"; {blank} {unit}{'' if blank == 1 else 's'} with under {SPARSE_SHARE:.0%} of the median {unit}'s calls left blank"


def wilson(hits: float, n: float, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson 95% interval, as the marts compute it (macros/statistics.sql)."""
    if n <= 0:
        return None, None
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


# --------------------------------------------------------------------------- views (filter states)


@dataclass(frozen=True)
class View:
    """A filter state: scope is `all`, `family:<F>` or `api:<name>`; days are ISO dates."""

    scope: str = "all"
    day_from: str | None = None
    day_to: str | None = None


def scope_text(scope: str) -> str:
    if scope == "all":
        return "all APIs"
    kind, _, name = scope.partition(":")
    return f"{name} family" if kind == "family" else name


def among(n: int, scope: str, what: str) -> str:
    """`8 busiest APIs of OCR family`, or just the API's name when one API is selected."""
    return scope_text(scope) if scope.startswith("api:") else f"{n} {what} of {scope_text(scope)}"


def key_in_scope(key: dict, scope: str) -> bool:
    if scope == "all":
        return True
    kind, _, name = scope.partition(":")
    return key["family"] == name if kind == "family" else key["key"] == name


def day_in_view(day: str, view: View) -> bool:
    return (view.day_from is None or day >= view.day_from) and (
        view.day_to is None or day <= view.day_to
    )


def version_order(version: str) -> tuple:
    digits = "".join(ch if ch.isdigit() or ch == "." else " " for ch in version).split()
    return tuple(int(p) for p in ".".join(digits).split(".") if p) or (0,), version


def period_text(payload: Payload, view: View) -> str:
    days = payload.get("days") or []
    if not days:
        return "whole period"
    lo, hi = view.day_from or days[0], view.day_to or days[-1]
    return "whole period" if (lo, hi) == (days[0], days[-1]) else f"{lo} to {hi}"


def daily_rows(payload: Payload, view: View) -> pd.DataFrame:
    cube = payload.get("daily")
    if not cube:
        return pd.DataFrame()
    df = pd.DataFrame(cube)
    keys, days, regions = payload["keys"], payload["days"], payload["meta"]["regions"]
    keep = [
        key_in_scope(keys[k], view.scope) and day_in_view(days[d], view)
        for k, d in zip(df["k"], df["d"], strict=True)
    ]
    df = df[keep].copy()
    df["day"] = [days[d] for d in df["d"]]
    df["region"] = [regions[r] for r in df["r"]]
    return df


# --------------------------------------------------------------------------- figures: the look, and charts of whole marts


SUBTITLE_STYLE = "font-size:12px;color:#475569"


def title_text(title: str, subtitle: str, wrap_at: int = 66) -> str:
    """Finding in bold, what-the-chart-shows below it: one plotly title (its `subtitle`
    attribute overlaps the plot when either part wraps)."""
    return f"<b>{wrap(title, wrap_at)}</b><br><span style='{SUBTITLE_STYLE}'>{wrap(subtitle, int(wrap_at * 1.25))}</span>"


def layout(
    finding: str,
    subtitle: str,
    xtitle: str,
    ytitle: str,
    height: int = 420,
    wrap_at: int = 66,
    title: dict | None = None,
    **extra: Any,
) -> dict:
    """Shared look: a finding as title, what-it-shows as subtitle, labelled axes."""
    legend = extra.get("showlegend", True)
    base: dict[str, Any] = {
        "template": {},
        "title": {
            "text": title_text(finding, subtitle, wrap_at),
            "x": 0.01, "xanchor": "left", "xref": "container",
            "y": 1, "yanchor": "bottom", "yref": "paper", "automargin": True, "pad": {"b": 14},
            "font": {"size": 16},
        },
        "font": {"family": FONT, "size": 13, "color": "#0f172a"},
        "colorway": COLORWAY,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "height": max(MIN_CHART_HEIGHT, height),
        "margin": {"l": 70, "r": 30, "t": 20, "b": 95 if legend else 50},
        "xaxis": {"title": {"text": xtitle}, "gridcolor": "#e2e8f0", "linecolor": "#94a3b8", "automargin": True},
        "yaxis": {"title": {"text": ytitle}, "gridcolor": "#e2e8f0", "linecolor": "#94a3b8", "automargin": True},
        "legend": {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0, "font": {"size": 12}},
        "hoverlabel": {"font": {"family": FONT}},
        "meta": {"wrap_at": wrap_at},
    }  # fmt: skip
    if title:
        base["title"].update(title)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            base[k] = {**base[k], **v}
        else:
            base[k] = v
    return base


def _note_figure(title: str, note: str) -> Figure:
    return {"data": [], "layout": layout(title, note, "", "", height=260)}


def _featured(payload: Payload) -> pd.DataFrame:
    return pd.DataFrame(payload.get("apis", {}))


def fig_latency_distribution(payload: Payload, view: View | None = None) -> Figure | None:
    """Ridgeline of the histogram per busiest API, with exact p50/p95/p99 markers."""
    hist, apis = payload.get("histogram"), _featured(payload)
    if not hist or apis.empty:
        return None
    keys = [k["key"] for k in payload["keys"]]
    h = pd.DataFrame({"key": [keys[i] for i in hist["k"]], "b": hist["b"], "calls": hist["calls"]})
    view = view or View()
    keys_by_name = {k["key"]: k for k in payload["keys"]}
    in_scope = apis[[key_in_scope(keys_by_name[a], view.scope) for a in apis["api_name"]]]
    shown = in_scope.sort_values(["calls", "api_name"], ascending=[False, True]).head(CHART_APIS)
    names = list(shown["api_name"])[::-1]  # busiest at the top
    per_decade = hist["per_decade"]
    data: list[dict] = []
    for i, name in enumerate(names):
        rows = h[h["key"] == name].sort_values("b")
        if rows.empty:
            continue
        total = rows["calls"].sum()
        share = rows["calls"] / total
        peak = share.max()
        xs = [10 ** (b / per_decade) for b in rows["b"]] + [
            10 ** ((rows["b"].iloc[-1] + 1) / per_decade)
        ]
        ys = [i + 0.85 * s / peak for s in share] + [i + 0.85 * share.iloc[-1] / peak]
        color = COLORWAY[(len(names) - 1 - i) % len(COLORWAY)]
        data.append({"type": "scatter", "x": [xs[0], xs[-1]], "y": [i, i], "mode": "lines",
                     "line": {"width": 0.5, "color": "#94a3b8"}, "hoverinfo": "skip", "showlegend": False})  # fmt: skip
        data.append({
            "type": "scatter", "x": xs, "y": ys, "mode": "lines", "line": {"shape": "hv", "color": color, "width": 1.5},
            "fill": "tonexty", "fillcolor": rgba(color, 0.2), "name": pt(name), "showlegend": False,
            "customdata": [math.floor(10000 * s + 0.5) / 100 for s in share] + [None],  # as JS Math.round
            "hovertemplate": pt(name) + "<br>%{x:.0f} ms and up: %{customdata}% of calls<extra></extra>",
        })  # fmt: skip
    marks = [
        ("p50_latency_ms", "p50", "circle"),
        ("p95_latency_ms", "p95", "diamond"),
        ("p99_latency_ms", "p99", "x-thin-open"),
    ]
    by_name = shown.set_index("api_name")
    for col, label, symbol in marks:
        data.append({
            "type": "scatter", "mode": "markers", "name": label, "legendgroup": label,
            "x": [by_name.loc[n, col] for n in names], "y": list(range(len(names))),
            "marker": {"symbol": symbol, "size": 10, "color": "#0f172a", "line": {"width": 2, "color": "#0f172a"}},
            "customdata": [pt(n) for n in names],
            "hovertemplate": "%{customdata} " + label + ": %{x:.0f} ms (exact)<extra></extra>",
        })  # fmt: skip
    slow = shown.sort_values("p99_latency_ms", ascending=False).iloc[0]
    fast = shown.sort_values("p50_latency_ms").iloc[0]
    if len(shown) == 1:
        title = (
            f"{slow['api_name']}: p50 {ms(slow['p50_latency_ms'])}, p95 {ms(slow['p95_latency_ms'])}, "
            f"p99 {ms(slow['p99_latency_ms'])}"
        )
    else:
        title = (
            f"{slow['api_name']} has the slowest tail (p99 {ms(slow['p99_latency_ms'])}); "
            f"{fast['api_name']} answers fastest (p50 {ms(fast['p50_latency_ms'])})"
        )
    subtitle = (
        f"Share of calls per latency bucket, {among(len(names), view.scope, 'busiest APIs')}, whole period "
        "(histogram mart); markers: exact p50 / p95 / p99 from agg_latency_by_api"
    )
    return {"data": data, "layout": layout(
        title, subtitle, "Latency (ms, log scale)", "",
        height=230 + 48 * len(names), xaxis={"type": "log"},
        yaxis={"tickvals": list(range(len(names))), "ticktext": [pt(n) for n in names],
               "range": [-0.4, len(names) + 0.1], "gridcolor": "#f1f5f9", "title": {"text": ""}},
    )}  # fmt: skip


def fig_success_by_region(payload: Payload) -> Figure | None:
    """Success rate per region from agg_success_by_region, with Wilson error bars."""
    rows = payload.get("regions")
    if not rows:
        return None
    order = {r: i for i, r in enumerate(payload["meta"]["regions"])}
    rows = sorted(rows, key=lambda r: order.get(r["region"], 99))
    return region_success_figure(
        [r["region"] for r in rows], [r["successes"] for r in rows], [r["calls"] for r in rows],
        "all APIs, whole period (agg_success_by_region)",
    )  # fmt: skip


def region_success_figure(
    regions: list[str], successes: list[int], calls: list[int], scope: str
) -> Figure:
    """Success rate bars with Wilson intervals; the two lowest regions in red, rates in the tick labels
    (a label on the bar would sit under the error bar)."""
    rates = [s / n if n else None for s, n in zip(successes, calls, strict=True)]
    bounds = [wilson(s, n) for s, n in zip(successes, calls, strict=True)]
    ranked = sorted(
        (r, g, b[0], b[1]) for r, g, b in zip(rates, regions, bounds, strict=True) if r is not None
    )
    title = "How often do calls succeed in each region?"
    worst_two: list[str] = []
    if len(ranked) >= 3:
        (r1, g1, _, h1), (r2, g2, _, _), (rb, gb, lb, _) = ranked[0], ranked[1], ranked[-1]
        gap = " (intervals do not overlap)" if h1 < lb else ""
        title = f"{g1} and {g2} succeed least: {pct(r1)} and {pct(r2)} vs {gb} {pct(rb)}{gap}"
        worst_two = [g1, g2]
    lows = [b[0] for b in bounds if b[0] is not None]
    x = [pt(r) for r in regions]
    data = [{
        "type": "bar", "x": x, "y": rates, "name": "success rate",
        "marker": {"color": ["#dc2626" if r in worst_two else "#2563eb" for r in regions]},
        "error_y": {"type": "data", "symmetric": False,
                    "array": [None if b[1] is None else b[1] - r for b, r in zip(bounds, rates, strict=True)],
                    "arrayminus": [None if b[0] is None else r - b[0] for b, r in zip(bounds, rates, strict=True)],
                    "color": "#0f172a", "thickness": 1.5, "width": 10},
        "customdata": [[n, pct(b[0], 2), pct(b[1], 2)] for n, b in zip(calls, bounds, strict=True)],
        "hovertemplate": "%{x}: %{y:.2%} of %{customdata[0]:,} calls succeeded<br>95% interval %{customdata[1]} to %{customdata[2]}<extra></extra>",
    }]  # fmt: skip
    subtitle = f"Share of calls that succeeded, bars with Wilson 95% intervals; {scope}"
    return {"data": data, "layout": layout(
        title, subtitle, "Caller region (success rate)", "Success rate (%)", showlegend=False,
        yaxis={"tickformat": ".0%", "range": [max(0.0, min(lows) - 0.03) if lows else 0.0, 1.0]},
        xaxis={"tickvals": x, "ticktext": [f"{g}<br><b>{pct(r)}</b>" for g, r in zip(x, rates, strict=True)]},
    )}  # fmt: skip


def fig_failure_by_document(payload: Payload) -> Figure | None:
    rows = payload.get("documents")
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: -(r["failure_rate"] or 0))
    top = rows[0]
    title = (
        f"{top['document_type']} documents fail most: {pct(top['failure_rate'])} "
        f"(95% interval {pct(top['failure_rate_ci_lower'])} to {pct(top['failure_rate_ci_upper'])})"
    )
    data = [{
        "type": "bar", "x": [pt(r["document_type"]) for r in rows], "y": [r["failure_rate"] for r in rows],
        "marker": {"color": ["#dc2626"] + ["#64748b"] * (len(rows) - 1)},
        "error_y": {"type": "data", "symmetric": False,
                    "array": [r["failure_rate_ci_upper"] - r["failure_rate"] for r in rows],
                    "arrayminus": [r["failure_rate"] - r["failure_rate_ci_lower"] for r in rows],
                    "color": "#0f172a", "thickness": 1.5, "width": 8},
        "text": [pct(r["failure_rate"]) for r in rows], "textposition": "inside", "insidetextanchor": "start",
        "textfont": {"color": "#ffffff"},
        "customdata": [[r["calls"], r["failures"]] for r in rows],
        "hovertemplate": "%{x}: %{customdata[1]:,} of %{customdata[0]:,} calls failed (%{y:.2%})<extra></extra>",
    }]  # fmt: skip
    top_y = max(r["failure_rate_ci_upper"] for r in rows)
    return {"data": data, "layout": layout(
        title, "Failure rate per identity document, all APIs and failure classes, whole period, Wilson 95% intervals (agg_failure_by_document_type)",
        "Document type", "Failure rate (%)", yaxis={"tickformat": ".0%", "range": [0, top_y * 1.2]}, showlegend=False,
    )}  # fmt: skip


def fig_failure_concentration(payload: Payload) -> Figure | None:
    rows = payload.get("concentration")
    if not rows:
        return None
    order = {r: i for i, r in enumerate(payload["meta"]["regions"])}
    rows = sorted(rows, key=lambda r: order.get(r["region"], 99))
    worst = max(rows, key=lambda r: r["concentration_ratio"] or 0)
    title = (
        f"{worst['region']} carries {pct(worst['share_of_failures'])} of failures on "
        f"{pct(worst['share_of_calls'])} of calls ({worst['concentration_ratio']:.2f}x its share)"
    )
    x = [pt(r["region"]) for r in rows]
    data = [
        {"type": "bar", "name": "share of calls", "x": x, "y": [r["share_of_calls"] for r in rows], "marker": {"color": "#94a3b8"},
         "hovertemplate": "%{x}: %{y:.1%} of all calls<extra></extra>"},
        {"type": "bar", "name": "share of failures", "x": x, "y": [r["share_of_failures"] for r in rows], "marker": {"color": "#dc2626"},
         "text": [f"{r['concentration_ratio']:.2f}x" for r in rows], "textposition": "outside", "cliponaxis": False,
         "hovertemplate": "%{x}: %{y:.1%} of all failures<extra></extra>"},
    ]  # fmt: skip
    return {"data": data, "layout": layout(
        title, "Each region's share of all failures against its share of all calls; label: ratio of the two (agg_failures_by_region, whole period)",
        "Caller region", "Share of the platform total (%)", yaxis={"tickformat": ".0%"}, barmode="group",
    )}  # fmt: skip


def fig_dq_reasons(payload: Payload) -> Figure | None:
    rows = payload.get("dq_reasons")
    if rows is None:
        return None
    if not rows:
        return _note_figure(
            "No record was quarantined",
            "dq_quarantine_reasons is empty: every landed record passed validation",
        )
    rows = rows[:15]
    total = sum(r["records"] for r in payload["dq_reasons"])
    top = rows[0]
    title = f"{top['reason']} is the commonest defect: {top['records']:,} records ({pct(top['records'] / total)} of reasons)"
    data = [{
        "type": "bar", "orientation": "h", "y": [pt(r["reason"]) for r in rows], "x": [r["records"] for r in rows],
        "marker": {"color": "#d97706"}, "text": [f"{r['records']:,}" for r in rows], "textposition": "outside", "cliponaxis": False,
        "customdata": [pt(r["column_name"] or "(record)") for r in rows],
        "hovertemplate": "%{y}: %{x:,} records (input column %{customdata})<extra></extra>",
    }]  # fmt: skip
    return {"data": data, "layout": layout(
        title, f"Quarantined records per reason code, {len(rows)} commonest (a record can have several); all batches (dq_quarantine_reasons)",
        "Records", "", height=200 + 22 * len(rows), showlegend=False,
        yaxis={"autorange": "reversed", "title": {"text": ""}}, xaxis={"rangemode": "tozero"},
    )}  # fmt: skip


MAX_BATCHES_SHOWN = 20


def fig_dq_batches(payload: Payload) -> Figure | None:
    """Per batch (latest first), the records that did not become facts, by where they went; the
    axis label carries the reconciliation (counted at load, facts)."""
    rows = payload.get("dq_batches")
    if not rows:
        return None
    broken = [r for r in rows if not r["is_reconciled"]]
    if broken:
        lost = sum(abs(r["unaccounted_count"] or 0) for r in broken)
        title = f"{len(broken)} of {len(rows)} batches do not reconcile: {lost:,} records unaccounted for"
    else:
        title = f"All {len(rows)} batches reconcile: every counted record reached facts, quarantine, duplicates or rejects"
    shown = rows[-MAX_BATCHES_SHOWN:]
    y = [
        f"{pt(r['batch_id'])}<br>{r['record_count']:,} counted, {r['fact_count']:,} facts"
        for r in shown
    ]
    parts = [("quarantined_count", "quarantined", "#d97706"), ("duplicate_count", "duplicates", "#7c3aed"),
             ("rejected_count", "reader rejects", "#dc2626"), ("unaccounted_count", "unaccounted", "#0f172a")]  # fmt: skip
    data = [
        {"type": "bar", "orientation": "h", "name": label, "y": y, "x": [r[col] for r in shown], "marker": {"color": color},
         "text": [f"{r[col]:,}" for r in shown], "textposition": "outside", "cliponaxis": False,
         "hovertemplate": "%{x:,} " + label + "<extra></extra>"}
        for col, label, color in parts
    ]  # fmt: skip
    more = f"; latest {len(shown)} of {len(rows)} batches" if len(shown) < len(rows) else ""
    return {"data": data, "layout": layout(
        title, f"Records of each batch that did not become facts, by where they went{more} (dq_batch_summary)",
        "Records", "", barmode="group", height=200 + 70 * len(shown),
        yaxis={"autorange": "reversed", "title": {"text": ""}}, xaxis={"rangemode": "tozero"},
    )}  # fmt: skip


# --------------------------------------------------------------------------- charts that follow the filters
# Each has a JavaScript twin of the same name in dashboard_html.py that redraws it
# for the page's filters; here they draw the default view (all APIs, every day).


def fig_daily_volume(payload: Payload, view: View = View()) -> Figure | None:
    df = daily_rows(payload, view)
    if not payload.get("daily"):
        return None
    per_day = (
        df.groupby("day", as_index=False)[["calls", "failures"]].sum().sort_values("day")
        if len(df)
        else df
    )
    days = list(per_day["day"]) if len(df) else []
    calls = [int(v) for v in per_day["calls"]] if len(df) else []
    fails = [int(v) for v in per_day["failures"]] if len(df) else []
    drawn, blank = drawn_mask(calls)
    rates = [f / n if ok else None for f, n, ok in zip(fails, calls, drawn, strict=True)]
    bounds = [
        wilson(f, n) if ok else (None, None) for f, n, ok in zip(fails, calls, drawn, strict=True)
    ]
    title = f"How many calls fail each day? ({scope_text(view.scope)})"
    if days:
        worst = max(range(len(days)), key=lambda i: (rates[i] or 0, -i))
        total = sum(fails) / sum(calls) if sum(calls) else None
        title = f"Worst day {days[worst]}: {pct(rates[worst])} of calls failed (period {pct(total)}, {scope_text(view.scope)})"
    data = [
        {"type": "bar", "name": "calls", "x": days, "y": calls, "marker": {"color": "#cbd5e1"},
         "hovertemplate": "%{x}: %{y:,} calls<extra></extra>"},
        {"type": "scatter", "mode": "lines", "x": days, "y": [b[1] for b in bounds], "yaxis": "y2",
         "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False},
        {"type": "scatter", "mode": "lines", "name": "95% interval", "x": days, "y": [b[0] for b in bounds],
         "yaxis": "y2", "line": {"width": 0}, "fill": "tonexty", "fillcolor": "rgba(220,38,38,0.18)", "hoverinfo": "skip"},
        {"type": "scatter", "mode": "lines+markers", "name": "failure rate", "x": days, "y": rates, "yaxis": "y2",
         "line": {"color": "#dc2626", "width": 2}, "marker": {"size": 5},
         "customdata": [[f, n] for f, n in zip(fails, calls, strict=True)],
         "hovertemplate": "%{x}: %{y:.2%} failed (%{customdata[0]:,} of %{customdata[1]:,})<extra></extra>"},
    ]  # fmt: skip
    subtitle = (
        f"Calls per day (grey bars, left) and share that failed, any class, with Wilson 95% band (red, right); "
        f"{scope_text(view.scope)}, {period_text(payload, view)}{sparse_note(blank, 'day')} (agg_api_daily)"
    )
    return {"data": data, "layout": layout(
        title, subtitle, "Day (UTC)", "Calls per day",
        yaxis2={"title": {"text": "Failed calls (%)"}, "overlaying": "y", "side": "right", "tickformat": ".0%",
                "rangemode": "tozero", "showgrid": False, "automargin": True},
        xaxis={"type": "date"}, margin={"r": 70}, wrap_at=100,
    )}  # fmt: skip


def busiest_api_in_scope(payload: Payload, scope: str, candidates: Sequence[str]) -> str | None:
    keys = {k["key"]: k for k in payload["keys"]}
    apis = _featured(payload)
    calls = dict(zip(apis["api_name"], apis["calls"], strict=True)) if len(apis) else {}
    inside = [a for a in candidates if a in keys and key_in_scope(keys[a], scope)]
    return max(inside, key=lambda a: (calls.get(a, 0), a)) if inside else None


def latency_focus(payload: Payload, scope: str) -> tuple[str | None, str]:
    """Which API the latency-over-time chart follows: the one whose latest version slowed
    down most (p95 ratio >= 1.2), else the busiest, among those with daily series in scope."""
    candidates = payload["daily_latency_apis"]
    busiest = busiest_api_in_scope(payload, scope, candidates)
    if busiest is None or scope.startswith("api:"):
        return busiest, "the selected API"
    best = None
    for api in candidates:
        key = next((k for k in payload["keys"] if k["key"] == api), None)
        pair = version_comparison(payload, api)
        if key and key_in_scope(key, scope) and pair and pair[1]["p95_latency_ms"]:
            ratio = pair[0]["p95_latency_ms"] / pair[1]["p95_latency_ms"]
            if ratio >= 1.2 and (best is None or ratio > best[0]):
                best = (ratio, api)
    return (best[1], "latest version slowed down most") if best else (busiest, "busiest API")


def version_comparison(payload: Payload, api: str) -> tuple[dict, dict] | None:
    """(latest, previous) version rows of an API by version number, when it has two or more."""
    v = pd.DataFrame(payload.get("versions", {}))
    if v.empty:
        return None
    rows = sorted(records(v[v["api_name"] == api]), key=lambda r: version_order(r["api_version"]))
    return (rows[-1], rows[-2]) if len(rows) >= 2 else None


def fig_latency_over_time(
    payload: Payload, view: View = View(), region: str | None = None
) -> Figure | None:
    lat = payload.get("daily_latency")
    if not lat:
        return None
    api, why = latency_focus(payload, view.scope)
    if api is None:
        return _note_figure(
            "Latency over time", f"No per-day latency embedded for {scope_text(view.scope)}"
        )
    df = pd.DataFrame(lat)
    days, regions = payload["days"], payload["meta"]["regions"]
    df = df[df["a"] == payload["daily_latency_apis"].index(api)].copy()
    df["day"] = [days[d] for d in df["d"]]
    df["region"] = [regions[r] for r in df["r"]]
    region = region or (df.groupby("region")["calls"].sum().idxmax() if len(df) else regions[0])
    df = df[(df["region"] == region) & df["day"].map(lambda d: day_in_view(d, view))]
    data = []
    versions = sorted(df["v"].unique(), key=version_order)
    styles = [("p50", "dot", 1.5), ("p95", "solid", 2.5), ("p99", "dash", 1.5)]
    for i, version in enumerate(versions):
        part = df[df["v"] == version].sort_values("day")
        color = COLORWAY[i % len(COLORWAY)]
        for p, dash, width in styles:
            data.append({
                "type": "scatter", "mode": "lines+markers", "name": f"{pt(version)} {p}",
                "legendgroup": pt(version), "x": list(part["day"]), "y": [_clean(v) for v in part[p]],
                "line": {"color": color, "dash": dash, "width": width}, "marker": {"size": 4},
                "customdata": [int(v) for v in part["calls"]],
                "hovertemplate": f"{pt(api)} {pt(version)} {pt(region)} %{{x}}: {p} %{{y:,}} ms (%{{customdata}} calls)<extra></extra>",
            })  # fmt: skip
    pair = version_comparison(payload, api)
    title = f"{api}: how do p50, p95 and p99 move day by day?"
    if pair:
        latest, prev = pair
        ratio = (
            latest["p95_latency_ms"] / prev["p95_latency_ms"] if prev["p95_latency_ms"] else None
        )
        if ratio:
            title = (
                f"{api}: {latest['api_version']} p95 is {ms(latest['p95_latency_ms'])} vs "
                f"{ms(prev['p95_latency_ms'])} on {prev['api_version']} ({ratio:.1f}x, whole period)"
            )
    subtitle = (
        f"{api} ({why}) in {region}: daily p50 (dotted), p95 (solid), p99 (dashed) per version, exact per "
        f"day x version x region (percentiles do not pool); days under {MIN_SERIES_CALLS} calls not drawn, p99 only "
        f"from {MIN_P99_CALLS} calls; {period_text(payload, view)} (agg_api_daily)"
    )
    return {"data": data, "layout": layout(
        title, subtitle, "Day (UTC)", "Latency (ms)", xaxis={"type": "date"}, yaxis={"rangemode": "tozero"}, wrap_at=100,
        meta={"api": pt(api), "region": pt(region)},
    )}  # fmt: skip


def fig_latency_by_version(payload: Payload, view: View = View()) -> Figure | None:
    v = pd.DataFrame(payload.get("versions", {}))
    if v.empty:
        return None
    keys = {k["key"]: k for k in payload["keys"]}
    apis = _featured(payload).sort_values("calls", ascending=False)
    shown = [a for a in apis["api_name"] if a in keys and key_in_scope(keys[a], view.scope)][
        :CHART_APIS
    ]
    v = v[v["api_name"].isin(shown)]
    versions = sorted(v["api_version"].unique(), key=version_order)
    data = []
    for i, version in enumerate(versions):
        part = v[v["api_version"] == version].set_index("api_name")
        names = [a for a in shown if a in part.index]
        data.append({
            "type": "bar", "name": pt(version), "x": [pt(a) for a in names],
            "y": [part.loc[a, "p95_latency_ms"] for a in names], "marker": {"color": COLORWAY[i % len(COLORWAY)]},
            "customdata": [[int(part.loc[a, "calls"]), part.loc[a, "p50_latency_ms"], "latest" if part.loc[a, "is_latest_version"] else "older"] for a in names],
            "hovertemplate": "%{x} " + pt(version) + " (%{customdata[2]}): p95 %{y:,.0f} ms, p50 %{customdata[1]:,.0f} ms, %{customdata[0]:,} calls<extra></extra>",
        })  # fmt: skip
    worst = None
    for a in shown:
        pair = version_comparison(payload, a)
        if pair and pair[1]["p95_latency_ms"]:
            ratio = pair[0]["p95_latency_ms"] / pair[1]["p95_latency_ms"]
            if worst is None or ratio > worst[0]:
                worst = (ratio, a, pair)
    if worst and worst[0] >= 1.2:
        ratio, a, (latest, prev) = worst
        title = f"{a} {latest['api_version']} is {ratio:.1f}x slower at p95 than {prev['api_version']}: a latency regression"
    elif worst:
        title = f"No latest version is much slower than the one before it (largest p95 ratio {worst[0]:.2f}x, {worst[1]})"
    else:
        title = f"p95 latency per version ({scope_text(view.scope)})"
    subtitle = f"Exact p95 per API version, whole period, {among(len(shown), view.scope, 'busiest APIs')} (agg_latency_by_api_version)"
    return {"data": data, "layout": layout(
        title, subtitle, "API", "p95 latency (ms)", barmode="group", xaxis={"tickangle": -25},
    )}  # fmt: skip


def fig_success_by_region_view(payload: Payload, view: View) -> Figure | None:
    """The region chart for a filtered view: counts from the daily cube, same drawing."""
    df = daily_rows(payload, view)
    if df.empty:
        return None
    per = df.groupby("region")[["calls", "failures"]].sum()
    regions = [r for r in payload["meta"]["regions"] if r in per.index]
    return region_success_figure(
        regions, [int(per.loc[r, "calls"] - per.loc[r, "failures"]) for r in regions],
        [int(per.loc[r, "calls"]) for r in regions],
        f"{scope_text(view.scope)}, {period_text(payload, view)} (agg_api_daily)",
    )  # fmt: skip


def fig_error_reasons(payload: Payload, view: View = View()) -> Figure | None:
    cube = payload.get("errors")
    if not cube:
        return None
    keys = payload["keys"]
    df = pd.DataFrame(cube)
    df = df[[keys[k]["is_api"] and key_in_scope(keys[k], view.scope) for k in df["k"]]]
    if df.empty:
        return _note_figure(
            f"No failures for {scope_text(view.scope)}",
            "agg_error_reasons_by_api has no rows in scope",
        )
    df["api"] = [keys[k]["key"] for k in df["k"]]
    per_api = df.groupby("api")["failures"].sum().sort_values(ascending=False, kind="stable")
    apis = list(per_api.index[:10])
    df = df[df["api"].isin(apis)]
    class_rank = {c: i for i, c in enumerate(FAILURE_CLASSES)}
    reasons_df = df.groupby(["reason", "class"], as_index=False)["failures"].sum()
    reasons_df["rank"] = [class_rank.get(c, 99) for c in reasons_df["class"]]
    reasons_df = reasons_df.sort_values(["rank", "failures"], ascending=[True, False])
    reasons = list(reasons_df["reason"])
    cell = df.set_index(["api", "reason"])["failures"]
    z, text = [], []
    for a in apis:
        row_z, row_t = [], []
        for r in reasons:
            n = int(cell.get((a, r), 0))
            row_z.append(n / per_api[a] if per_api[a] else None)
            row_t.append(f"{n:,}" if n else "")
        z.append(row_z)
        text.append(row_t)
    top_api = apis[0]
    top_reason = max(reasons, key=lambda r: cell.get((top_api, r), 0))
    share = cell.get((top_api, top_reason), 0) / per_api[top_api]
    title = f"{top_api} fails most, mostly on {top_reason}: {pct(share)} of its {per_api[top_api]:,} failures"
    classes = dict(zip(reasons_df["reason"], reasons_df["class"], strict=True))
    data = [{
        "type": "heatmap", "x": [pt(r) for r in reasons], "y": [pt(a) for a in apis], "z": z,
        "text": text, "texttemplate": "%{text}", "textfont": {"size": 11},
        "colorscale": [[0, "#fff7ed"], [0.5, "#f97316"], [1, "#7f1d1d"]], "zmin": 0, "zmax": 1,
        "colorbar": {"title": {"text": "share of the<br>API's failures"}, "tickformat": ".0%", "len": 0.9},
        "customdata": [[pt(classes[r]) for r in reasons] for _ in apis],
        "hovertemplate": "%{y} · %{x} (%{customdata}): %{text} failures, %{z:.1%} of the API's failures<extra></extra>",
        "xgap": 1, "ygap": 1,
    }]  # fmt: skip
    subtitle = (
        f"Failures per API and error reason (number in cell), colour = share of that API's failures; "
        f"reasons grouped by failure class; {among(len(apis), view.scope, 'APIs with most failures')}, whole period"
    )
    shapes, notes = class_bands([classes[r] for r in reasons])
    return {"data": data, "layout": layout(
        title, subtitle, "Error reason, grouped by failure class", "", height=260 + 34 * len(apis),
        xaxis={"tickangle": -30, "gridcolor": "rgba(0,0,0,0)"}, yaxis={"autorange": "reversed", "gridcolor": "rgba(0,0,0,0)"},
        shapes=shapes, annotations=notes, title={"pad": {"b": 30}}, showlegend=False, wrap_at=100,
    )}  # fmt: skip


def class_bands(classes: list[str]) -> tuple[list[dict], list[dict]]:
    """Separators between runs of one failure class on a category axis, and the class name above each run."""
    shapes, notes, start = [], [], 0
    for i in range(1, len(classes) + 1):
        if i == len(classes) or classes[i] != classes[start]:
            notes.append({"x": (start + i - 1) / 2, "y": 1, "xref": "x", "yref": "paper", "yanchor": "bottom",
                          "text": pt(classes[start]), "showarrow": False, "font": {"size": 11, "color": "#475569"}})  # fmt: skip
            if i < len(classes):
                shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": i - 0.5, "x1": i - 0.5, "y0": 0, "y1": 1.06,
                               "line": {"color": "#0f172a", "width": 2}})  # fmt: skip
            start = i
    return shapes, notes


def hourly_keys_in_scope(payload: Payload, scope: str) -> tuple[list[int], str]:
    """Hourly series in scope, and what they cover (an API without its own hourly series
    falls back to its family, and the subtitle says so)."""
    hourly = payload["hourly"]
    kind, _, name = scope.partition(":")
    if scope == "all":
        return list(range(len(hourly["keys"]))), "all APIs"
    if kind == "api" and name not in hourly["keys"]:
        family = next((k["family"] for k in payload["keys"] if k["key"] == name), None)
        idx = [i for i, f in enumerate(hourly["key_family"]) if f == family]
        return idx, f"{family} family (no hourly series of its own for {name})"
    if kind == "api":
        return [hourly["keys"].index(name)], name
    return [i for i, f in enumerate(hourly["key_family"]) if f == name], f"{name} family"


def incident_windows(payload: Payload, scope: str) -> list[dict]:
    """rca_incidents rows to shade, those of APIs in scope."""
    keys = {k["key"]: k for k in payload.get("keys", [])}
    out = []
    for r in payload.get("incidents") or []:
        key = keys.get(r["api_name"]) or {"key": r["api_name"], "family": ""}
        if r.get("started_at") and key_in_scope(key, scope):
            label = " ".join(str(v) for v in (r["api_name"], r.get("dominant_error_reason")) if v)
            out.append(
                {
                    "start": r["started_at"],
                    "end": r.get("ended_at") or r["started_at"],
                    "label": label,
                }
            )
    return out


def fig_incident_timeline(payload: Payload, view: View = View()) -> Figure | None:
    hourly = payload.get("hourly")
    if not hourly:
        return None
    idx, covered = hourly_keys_in_scope(payload, view.scope)
    wanted = set(idx)
    n = len(hourly["hours"])
    calls, fails, platform = [0] * n, [0] * n, [0] * n
    for h, k, c, f, p in zip(
        hourly["h"],
        hourly["k"],
        hourly["calls"],
        hourly["failures"],
        hourly["platform_failures"],
        strict=True,
    ):
        if k in wanted:
            calls[h] += c
            fails[h] += f
            platform[h] += p
    hours = [h for h in range(n) if day_in_view(hourly["hours"][h][:10], view)]
    x = [hourly["hours"][h] for h in hours]
    drawn, blank = drawn_mask([calls[h] for h in hours])
    rate = [fails[h] / calls[h] if ok else None for h, ok in zip(hours, drawn, strict=True)]
    prate = [platform[h] / calls[h] if ok else None for h, ok in zip(hours, drawn, strict=True)]
    data = [
        {"type": "scatter", "mode": "lines", "name": "any failure", "x": x, "y": rate,
         "line": {"color": "#94a3b8", "width": 1}, "customdata": [calls[h] for h in hours],
         "hovertemplate": "%{x}: %{y:.1%} of %{customdata:,} calls failed<extra></extra>"},
        {"type": "scatter", "mode": "lines", "name": "server or timeout (platform's fault)", "x": x, "y": prate,
         "line": {"color": "#dc2626", "width": 1.5}, "customdata": [platform[h] for h in hours],
         "hovertemplate": "%{x}: %{y:.1%} failed on the platform side (%{customdata:,} calls)<extra></extra>"},
    ]  # fmt: skip
    shapes, notes = [], []
    windows = [
        w
        for w in incident_windows(payload, view.scope)
        if x and w["end"][:13] >= x[0][:13] and w["start"][:13] <= x[-1][:13]
    ]
    for i, w in enumerate(windows):
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": w["start"], "x1": w["end"], "y0": 0, "y1": 1,
                       "fillcolor": "rgba(217,119,6,0.18)", "line": {"width": 1, "color": "rgba(217,119,6,0.6)"}, "layer": "below"})  # fmt: skip
        notes.append({"x": w["start"], "y": 1 - 0.09 * (i % 4), "xref": "x", "yref": "paper", "xanchor": "left",
                      "text": pt(w["label"])[:60], "showarrow": False, "font": {"size": 11, "color": "#92400e"},
                      "bgcolor": "rgba(255,255,255,0.7)"})  # fmt: skip
    worst = (
        max(range(len(hours)), key=lambda i: ((prate[i] or 0) if calls[hours[i]] >= 20 else 0, -i))
        if hours
        else None
    )
    if worst is not None and prate[worst]:
        title = f"Worst hour {x[worst]} UTC: {pct(prate[worst])} of calls failed on the platform side ({covered})"
    else:
        title = f"When did {covered} fail on the platform side?"
    if payload.get("incidents") is not None:
        title += f"; {len(windows)} incident{'' if len(windows) == 1 else 's'} marked"
    subtitle = (
        f"Hourly share of calls that failed: any class (grey) and server or timeout only (red); shaded: incidents "
        f"from rca_incidents; {covered}, {period_text(payload, view)}"
        + (f", last {MAX_HOURLY_DAYS} days only" if hourly.get("is_truncated") else "")
        + sparse_note(blank, "hour")
        + " (agg_api_hourly)"
    )
    return {"data": data, "layout": layout(
        title, subtitle, "Hour (UTC)", "Failed calls (%)", yaxis={"tickformat": ".0%", "rangemode": "tozero"},
        xaxis={"type": "date"}, shapes=shapes, annotations=notes, wrap_at=100, height=440,
    )}  # fmt: skip


SLO_VERDICTS = {
    "significant": "misses its availability SLO beyond doubt",
    "breached": "is over its error budget (within noise)",
    "at_risk": "is at risk of missing its availability SLO",
    "ok": "meets its availability SLO",
}
SLO_COLORS = {
    "significant": "#b91c1c",
    "breached": "#f97316",
    "at_risk": "#eab308",
    "ok": "#059669",
}


def slo_state(row: dict) -> str:
    """Colour key: a breach whose interval clears the target is `significant`."""
    if row.get("status") == "breached" and row.get("is_breach_significant"):
        return "significant"
    return str(row.get("status") or "ok")


def fig_slo_burn(payload: Payload, view: View = View()) -> Figure | None:
    """Error budget burnt per API (whole period, with the last 6 h and 1 h rates as markers) next to
    latency-SLO attainment: the APIs furthest over budget in calls, not in ratio (a 2-call API at
    10x its budget matters less than PAN_OCR 80 calls over)."""
    rows = payload.get("slo")
    if rows is None:
        return None
    keys = {k["key"]: k for k in payload.get("keys", [])}
    inside = [
        r
        for r in rows
        if key_in_scope(
            keys.get(r["api_name"]) or {"key": r["api_name"], "family": r.get("api_family")},
            view.scope,
        )
    ]
    if not inside:
        return _note_figure(
            f"No SLO rows for {scope_text(view.scope)}", "agg_slo_status has no API in scope"
        )
    ranked = sorted(
        inside,
        key=lambda r: (-((r["bad_calls"] or 0) - (r["error_budget_calls"] or 0)), r["api_name"]),
    )[:15]
    names = [pt(r["api_name"]) for r in ranked][::-1]
    ranked = ranked[::-1]
    sig = [r for r in inside if slo_state(r) == "significant"]
    breached = [r for r in inside if r.get("status") == "breached"]
    worst = ranked[-1]
    if len(inside) == 1:
        verdict = SLO_VERDICTS.get(slo_state(worst), "meets its availability SLO")
        title = f"{worst['api_name']} {verdict}: {worst['budget_consumed'] or 0:.1f}x its error budget burnt"
    else:
        title = (
            f"{len(sig)} of {len(inside)} APIs miss their availability SLO beyond doubt ({len(breached)} over budget); "
            f"{worst['api_name']} burnt {worst['budget_consumed'] or 0:.1f}x its error budget"
        )
    data = [
        {"type": "bar", "orientation": "h", "y": names, "x": [r["budget_consumed"] for r in ranked], "xaxis": "x", "yaxis": "y",
         "name": "budget burnt, whole period", "marker": {"color": [SLO_COLORS.get(slo_state(r), "#64748b") for r in ranked]},
         "customdata": [[r["bad_calls"], round(r["error_budget_calls"] or 0, 1), pct(r["availability"], 2), pct(r["availability_target"], 2), pt(slo_state(r))] for r in ranked],
         "hovertemplate": "%{y}: %{x:.2f}x the budget (%{customdata[0]} bad calls vs %{customdata[1]} allowed); availability %{customdata[2]} vs target %{customdata[3]} (%{customdata[4]})<extra></extra>"},
        {"type": "scatter", "mode": "markers", "y": names, "x": [r.get("burn_rate_6h") for r in ranked], "name": "burn rate, last 6 h",
         "marker": {"symbol": "diamond", "size": 9, "color": "#0f172a"}, "hovertemplate": "%{y}: burning %{x:.1f}x over the last 6 h<extra></extra>"},
        {"type": "scatter", "mode": "markers", "y": names, "x": [r.get("burn_rate_1h") for r in ranked], "name": "burn rate, last 1 h",
         "marker": {"symbol": "circle-open", "size": 9, "color": "#0f172a", "line": {"width": 2}}, "hovertemplate": "%{y}: burning %{x:.1f}x over the last hour<extra></extra>"},
    ]  # fmt: skip
    for attained, label, color in (
        (True, "latency SLO met", "#059669"),
        (False, "latency SLO missed", "#dc2626"),
    ):
        part = [
            (n, r)
            for n, r in zip(names, ranked, strict=True)
            if bool(r["is_latency_slo_attained"]) is attained
        ]
        data.append({
            "type": "bar", "orientation": "h", "y": [n for n, _ in part], "x": [r["latency_good_rate"] for _, r in part],
            "xaxis": "x2", "yaxis": "y", "name": label, "marker": {"color": color},
            "customdata": [[ms(r["latency_slo_ms"]), pct(r["latency_target"], 0)] for _, r in part],
            "hovertemplate": "%{y}: %{x:.1%} of calls succeeded within %{customdata[0]} (target %{customdata[1]})<extra></extra>",
        })  # fmt: skip
    target = next(
        (r["latency_target"] for r in ranked if r.get("latency_target") is not None), None
    )
    shapes = [
        {"type": "line", "xref": "x", "yref": "paper", "x0": 1, "x1": 1, "y0": 0, "y1": 1, "line": {"color": "#0f172a", "dash": "dash", "width": 1.5}},
    ]  # fmt: skip
    if target is not None:
        shapes.append({"type": "line", "xref": "x2", "yref": "paper", "x0": target, "x1": target, "y0": 0, "y1": 1,
                       "line": {"color": "#0f172a", "dash": "dash", "width": 1.5}})  # fmt: skip
    subtitle = (
        f"Left: error budget burnt (bad calls / allowed bad calls; 1 = exactly on budget, dashed) for "
        f"{among(len(ranked), view.scope, 'APIs furthest over budget in calls')}; dark red = interval clears the target. Right: share of calls "
        "answered successfully within the API's latency SLO (dashed: target). Whole period (agg_slo_status)"
    )
    low = min(
        [r["latency_good_rate"] for r in ranked if r["latency_good_rate"] is not None] or [0.0]
    )
    return {"data": data, "layout": layout(
        title, subtitle, "", "", height=230 + 26 * len(ranked), wrap_at=100,
        xaxis={"domain": [0, 0.62], "title": {"text": "Error budget burnt (x budget)"}, "rangemode": "tozero"},
        xaxis2={"domain": [0.7, 1], "title": {"text": "Calls within latency SLO (%)"}, "tickformat": ".0%",
                "range": [max(0.0, low - 0.05), 1.0], "gridcolor": "#e2e8f0", "automargin": True, "anchor": "y"},
        yaxis={"title": {"text": ""}, "categoryorder": "array", "categoryarray": names}, shapes=shapes, barmode="overlay",
    )}  # fmt: skip


def fig_conversion_by_region(payload: Payload) -> Figure | None:
    rows = payload.get("conversion")
    if not rows:
        return None
    order = {r: i for i, r in enumerate(payload["meta"]["regions"])}
    rows = sorted(rows, key=lambda r: order.get(r["region"], 99))
    x = [pt(r["region"]) for r in rows]
    data = []
    for stage, label, color in (("first_attempt_pass_rate", "passed at the first attempt", "#94a3b8"),
                                ("eventual_pass_rate", "passed eventually (after retries)", "#2563eb")):  # fmt: skip
        data.append({
            "type": "bar", "name": label, "x": x, "y": [r[stage] for r in rows], "marker": {"color": color},
            "error_y": {"type": "data", "symmetric": False, "array": [r[f"{stage}_ci_upper"] - r[stage] for r in rows],
                        "arrayminus": [r[stage] - r[f"{stage}_ci_lower"] for r in rows], "color": "#0f172a", "thickness": 1.2, "width": 6},
            "customdata": [r["verifications"] for r in rows],
            "hovertemplate": "%{x}: %{y:.1%} of %{customdata:,} verifications " + label + "<extra></extra>",
        })  # fmt: skip
    worst = min(rows, key=lambda r: r["first_attempt_pass_rate"] or 1)
    best = max(rows, key=lambda r: r["first_attempt_pass_rate"] or 0)
    title = (
        f"{worst['region']} users pass least at the first attempt ({pct(worst['first_attempt_pass_rate'])} vs "
        f"{best['region']} {pct(best['first_attempt_pass_rate'])}); retries lift them to {pct(worst['eventual_pass_rate'])}"
    )
    lows = [r["first_attempt_pass_rate_ci_lower"] for r in rows]
    return {"data": data, "layout": layout(
        title, "End-user verifications (all attempts of one verification_id) that passed at the first attempt and eventually, "
        "Wilson 95% intervals; all APIs, whole period (agg_conversion_by_region)",
        "Caller region", "Verifications passed (%)", barmode="group",
        yaxis={"tickformat": ".0%", "range": [max(0.0, min(lows) - 0.03), 1.0]},
    )}  # fmt: skip


def fig_fragile_documents(payload: Payload) -> Figure | None:
    """API x document type pairs that fail more than the API and the document predict: the
    pair's failure rate (Wilson interval) next to the API's rate on its other documents."""
    rows = payload.get("fragile")
    if rows is None:
        return None
    if not rows:
        return _note_figure("No API x document pair has enough calls", "rca_fragile_document_types")
    rows = rows[::-1]  # most excess at the top of a horizontal chart
    y = [f"{pt(r['api_name'])} × {pt(r['document_type'])}" for r in rows]
    significant = [r for r in rows if r["is_significant"]]
    data = [
        {"type": "scatter", "mode": "markers", "name": "API on its other documents", "y": y,
         "x": [r["other_documents_failure_rate"] for r in rows],
         "marker": {"symbol": "line-ns-open", "size": 16, "line": {"width": 3, "color": "#475569"}, "color": "#475569"},
         "hovertemplate": "%{y}: the API fails %{x:.1%} on its other documents<extra></extra>"},
    ]  # fmt: skip
    for is_sig, label, color in (
        (True, "fragile: significant after FDR", "#dc2626"),
        (False, "not significant", "#94a3b8"),
    ):
        part = [
            (label_y, r)
            for label_y, r in zip(y, rows, strict=True)
            if bool(r["is_significant"]) is is_sig
        ]
        data.append({
            "type": "scatter", "mode": "markers", "name": f"this document, {label} (95% interval)",
            "y": [p[0] for p in part], "x": [r["failure_rate"] for _, r in part],
            "error_x": {"type": "data", "symmetric": False,
                        "array": [r["failure_rate_ci_upper"] - r["failure_rate"] for _, r in part],
                        "arrayminus": [r["failure_rate"] - r["failure_rate_ci_lower"] for _, r in part],
                        "color": "#0f172a", "thickness": 1.2, "width": 5},
            "marker": {"size": 11, "color": color},
            "customdata": [[r["failures"], r["calls"], pt(r["dominant_error_reason"] or ""),
                            "" if r["lift"] is None else f"{r['lift']:.2f}x"] for _, r in part],
            "hovertemplate": "%{y}: %{customdata[0]:,} of %{customdata[1]:,} calls failed (%{x:.1%}), mostly "
                             "%{customdata[2]}; lift %{customdata[3]}<extra></extra>",
        })  # fmt: skip
    if significant:
        top = max(significant, key=lambda r: r["excess_failures"] or 0)
        title = (
            f"{top['api_name']} fails {pct(top['failure_rate'])} on {top['document_type']} vs "
            f"{pct(top['other_documents_failure_rate'])} on its other documents "
            f"(mostly {top['dominant_error_reason']}); {len(significant)} fragile pair{'' if len(significant) == 1 else 's'}"
        )
    else:
        title = "No API x document type pair fails more than its API and document predict"
    return {"data": data, "layout": layout(
        title, "Failure rate of each API x document type pair (red: significant after FDR control) against the "
        "same API on its other documents; pairs with most excess failures, whole period (rca_fragile_document_types)",
        "Failure rate (%)", "", height=200 + 34 * len(rows),
        xaxis={"tickformat": ".0%", "rangemode": "tozero"},
        yaxis={"title": {"text": ""}, "categoryorder": "array", "categoryarray": y},
    )}  # fmt: skip


# --------------------------------------------------------------------------- assembly


@dataclass(frozen=True)
class Chart:
    """A chart of the page: its section, the queries it needs, and its PNG name."""

    chart_id: str
    section: str
    sources: tuple[str, ...]
    build: Callable[[Payload], Figure | None]
    wide: bool = False

    @property
    def png_name(self) -> str:
        return ORIGINAL_PNGS.get(self.chart_id, f"dashboard_{self.chart_id}.png")


CHARTS: tuple[Chart, ...] = (
    Chart("daily_volume", "overview", ("daily",), fig_daily_volume, wide=True),
    Chart("latency_distribution", "latency", ("histogram", "latency"), fig_latency_distribution),
    Chart("latency_by_version", "latency", ("versions", "latency"), fig_latency_by_version),
    Chart("latency_over_time", "latency", ("daily", "latency"), fig_latency_over_time, wide=True),
    Chart("success_by_region", "reliability", ("regions",), fig_success_by_region),
    Chart("conversion_by_region", "reliability", ("conversion",), fig_conversion_by_region),
    Chart("slo_burn", "reliability", ("slo",), fig_slo_burn, wide=True),
    Chart("error_reasons", "failures", ("errors", "latency"), fig_error_reasons, wide=True),
    Chart("failure_by_document", "failures", ("documents",), fig_failure_by_document),
    Chart("fragile_documents", "failures", ("fragile",), fig_fragile_documents),
    Chart("failure_concentration", "failures", ("concentration",), fig_failure_concentration),
    Chart("incident_timeline", "failures", ("hourly", "latency"), fig_incident_timeline, wide=True),
    Chart("dq_reasons", "data_quality", ("dq_reasons",), fig_dq_reasons),
    Chart("dq_batches", "data_quality", ("dq_batches",), fig_dq_batches),
)


def build_figures(payload: Payload) -> tuple[dict[str, Figure], dict[str, str]]:
    """Every chart's default-view figure, or a note saying why it is not drawn."""
    figures: dict[str, Figure] = {}
    notes: dict[str, str] = {}
    missing = payload.get("missing", {})
    for chart in CHARTS:
        absent = [missing[s] for s in chart.sources if s in missing]
        if absent:
            notes[chart.chart_id] = absent[0]
            continue
        fig = chart.build(payload)
        if fig is None:
            notes[chart.chart_id] = "no data for this chart in the warehouse"
        else:
            figures[chart.chart_id] = fig
    return figures, notes


def is_browser_missing(err: Exception) -> bool:
    text = f"{type(err).__name__}: {err}".lower()
    return "notfound" in text or ("chrome" in text and ("requires" in text or "not found" in text))


def export_pngs(
    figures: dict[str, Figure], out_dir: Path
) -> tuple[list[Path], float | None, str | None]:
    """Write every figure as PNG in ONE kaleido browser session; (paths, seconds, problem)."""
    import plotly.io as pio

    by_id = {c.chart_id: c for c in CHARTS}
    for (
        chart
    ) in CHARTS:  # a stale PNG (or one of a chart now shown as a note) would pass for current
        (out_dir / chart.png_name).unlink(missing_ok=True)
    paths = [out_dir / by_id[cid].png_name for cid in figures]
    if not figures:
        return [], None, None
    start = time.perf_counter()
    try:
        pio.write_images(
            list(figures.values()), paths, format="png", width=PNG_WIDTH,
            height=[int(f["layout"].get("height", 420)) for f in figures.values()], scale=1,
        )  # fmt: skip
    except Exception as err:  # plotly and kaleido raise several types when no browser is found
        if is_browser_missing(err):
            return [], None, CHROMIUM_HINT
        raise
    return paths, time.perf_counter() - start, None


def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def read_warehouse() -> MartRead:
    progress(f"reading marts from {db_path()} (read-only)")
    con = connect(read_only=True)
    try:
        return read_marts(con)
    finally:
        con.close()


def summary_line(
    index: Path,
    figures: dict,
    read: MartRead,
    pngs: list[Path],
    seconds: float | None,
    problem: str | None,
) -> str:
    """The one line a `make dashboards` ends with: what was written, where, and what is missing."""
    size = f"{index.stat().st_size / 1e6:.1f} MB"
    missing = sorted({QUERIES[q][0] for q in read.missing})
    gaps = f"; marts not built yet: {', '.join(missing)}" if missing else ""
    if problem:
        return f"dashboards: wrote {index} ({size}, {len(figures)} charts) but no PNGs: {problem}{gaps}"
    return (
        f"dashboards: wrote {index} ({size}, {len(figures)} charts) and {len(pngs)} PNGs in "
        f"{index.parent} (PNG render {seconds or 0:.1f} s, one browser session){gaps}"
    )


def main(argv: list[str] | None = None) -> None:
    from api_trust.dashboard_html import render_page

    out_dir = dashboards_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    read = read_warehouse()  # closed before anything is drawn
    if read.missing:
        progress(
            f"{len(read.missing)} queries without a mart, shown as notes: {', '.join(sorted(read.missing))}"
        )
    payload = build_payload(read)
    figures, notes = build_figures(payload)
    index = out_dir / "index.html"
    index.write_text(render_page(payload, figures, notes, CHARTS, plotly_js()), encoding="utf-8")
    progress(f"wrote {index}; exporting {len(figures)} PNGs in one browser session")
    pngs, seconds, problem = export_pngs(figures, out_dir)
    print(summary_line(index, figures, read, pngs, seconds, problem))


if __name__ == "__main__":
    run_cli(main)
