"""Read what the dashboard draws from the marts: small frames, never rows.

The warehouse is opened read-only and closed before anything is drawn, so a
dashboard build never holds the lock while Chromium works. Marts that grow with
traffic are either read whole because their dimensions are bounded (day x API x
version x region) or aggregated here in SQL (quarantine values, finding
evidence, top clients), so the page never receives a row of fct_api_calls.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from api_trust.contract import PROJECT_ROOT, db_path, project_vars
from api_trust.warehouse import connect

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
EVIDENCE_SAMPLES = 5  # request ids per finding: enough to open a trace, not a data dump
TOP_CLIENTS = 5  # per API, by failures

# The calls a finding speaks about: its segment's columns, and its window when it has one.
_FINDING_MATCH = " and ".join(
    f"(f.{c} is null or c.{c} = f.{c})"
    for c in ("api_name", "api_version", "region", "document_type", "client_type", "client_id")
)
_EVIDENCE_SQL = f"""
with matched as (
    select f.finding_rank, c.request_id, c.client_id, c.error_reason, c.failure_class, c.called_at
    from rca_findings as f
    inner join fct_api_calls as c
        on {_FINDING_MATCH}
        and (f.started_at is null or c.called_at >= f.started_at)
        -- an incident ends at the end of its last hour; other windows end at their last call
        and (
            f.ended_at is null or f.finding_type = 'slo_breach'
            or (f.finding_type = 'incident' and c.called_at < f.ended_at)
            or (f.finding_type <> 'incident' and c.called_at <= f.ended_at)
        )
    where not c.is_success and f.finding_rank <= 50
),
reasons as (
    select finding_rank, error_reason, failure_class, count(*) as failures
    from matched group by all
),
clients as (
    select finding_rank, client_id, count(*) as failures
    from matched group by finding_rank, client_id
    qualify row_number() over (partition by finding_rank order by count(*) desc, client_id) <= 5
),
samples as (
    select finding_rank, request_id
    from matched
    qualify row_number() over (partition by finding_rank order by called_at desc, request_id)
        <= {EVIDENCE_SAMPLES}
)
select 'reason' as kind, finding_rank, error_reason as label, failure_class as detail, failures as n
from reasons
union all
select 'client', finding_rank, client_id, null, failures from clients
union all
select 'sample', finding_rank, request_id, null, null from samples
order by finding_rank, kind, n desc nulls last, label
"""
_CLIENTS_SQL = f"""
select api_name, client_id, count(*) as calls,
       sum(case when is_success then 0 else 1 end) as failures
from fct_api_calls
group by api_name, client_id
qualify row_number() over (
    partition by api_name order by sum(case when is_success then 0 else 1 end) desc, count(*) desc, client_id
) <= {TOP_CLIENTS}
"""


def region_order() -> tuple[str, ...]:
    """The regions in the order seed value_aliases first names them (ours: Metro, Tier1,
    Tier2, Rural; a team's own after them): the vocabulary lives in the seed alone, and the
    page and the report order regions by it (values the seed lacks come after, by name)."""
    with (PROJECT_ROOT / "seeds" / "value_aliases.csv").open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh)
        return tuple(
            dict.fromkeys(r["canonical_value"] for r in rows if r["dimension"] == "region")
        )


REGION_ORDER = region_order()
_DIMENSIONS = project_vars()["analysis_dimensions"]
CORE_DIMENSIONS = tuple(_DIMENSIONS["core"])
EXTRA_DIMENSIONS = tuple(_DIMENSIONS.get("extra") or ())
# Fields a chart may need beyond the dimensions: a latency, and a verification id (without one
# the models count every call as its own verification, so conversion would be call success).
MEASURE_FIELDS = ("latency_ms", "verification_id")
EXTRA_VALUES_SHOWN = 15  # values per extra dimension in the chart and the report
# Words for fields and traffic classes in the page's and the report's sentences (the payload
# carries them to the page); a field without one is its name with spaces.
FIELD_WORDS = {
    "region": "region", "document_type": "document type", "client_type": "client type",
    "api_version": "API version", "client_id": "client id", "service_name": "service name",
    "user_agent_family": "user agent", "latency_ms": "latency", "verification_id": "verification id",
}  # fmt: skip
TRAFFIC_WORDS = {
    "health_check": "health checks", "probe_method": "HEAD/OPTIONS probes",
    "static_asset": "static assets", "bot": "bots", "internal_span": "non-server spans",
}  # fmt: skip


def field_word(field: str) -> str:
    return FIELD_WORDS.get(field, field.replace("_", " "))


def traffic_word(traffic_class: str) -> str:
    return TRAFFIC_WORDS.get(traffic_class, traffic_class.replace("_", " "))


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_FIELD_ROWS = ", ".join(
    f"({_sql_text(name)}, {_sql_text(kind)}, {order})"
    for order, (name, kind) in enumerate(
        [(d, "core") for d in CORE_DIMENSIONS]
        + [(d, "extra") for d in EXTRA_DIMENSIONS if d not in CORE_DIMENSIONS]
        + [(m, "measure") for m in MEASURE_FIELDS]
    )
)
# THE rule for "this field is missing from the data", read by the page (and so its PNGs) and by
# the report: API calls exist and none carries a value. A dimension's values are those of
# agg_failure_rate_by_dimension (missing and `unknown` are left out there); a latency is a
# non-null latency_ms; a verification id is one the log delivered (the models fall back to the
# request id). Partial coverage is reported as counts, never called missing.
_COVERAGE_SQL = f"""
with api_calls as (
    select
        count(*) as api_calls,
        count(latency_ms) as latency_ms,
        count(case when verification_id <> request_id then 1 end) as verification_id
    from fct_api_calls
    where is_api_traffic is not false
),
dimension_values as (
    select dimension, sum(calls) as calls_with_value, count(*) as distinct_values
    from agg_failure_rate_by_dimension
    group by dimension
),
fields (field, kind, field_order) as (values {_FIELD_ROWS}),
counted as (
    select
        fields.field,
        fields.kind,
        fields.field_order,
        api_calls.api_calls,
        case fields.field
            when 'latency_ms' then api_calls.latency_ms
            when 'verification_id' then api_calls.verification_id
            else coalesce(dimension_values.calls_with_value, 0)
        end as calls_with_value,
        dimension_values.distinct_values
    from fields
    cross join api_calls
    left join dimension_values
        on fields.kind <> 'measure' and dimension_values.dimension = fields.field
)
select
    field, kind, cast(api_calls as bigint) as api_calls,
    cast(calls_with_value as bigint) as calls_with_value, distinct_values,
    api_calls > 0 and calls_with_value = 0 as is_missing
from counted
order by field_order
"""
# Calls the metric marts leave out: everything that is not API traffic, by class.
_LEFT_OUT_SQL = """
select traffic_class, count(*) as calls
from fct_api_calls
where is_api_traffic = false
group by traffic_class
order by calls desc, traffic_class
"""
# The extra dimensions' values: those whose failure interval lies wholly above the rate of the
# dimension's other values first (the one highlight rule of the chart and the report), then
# the busiest, at most EXTRA_VALUES_SHOWN per dimension.
_EXTRA_VALUES_SQL = f"""
with extra as (
    select
        *,
        sum(calls) over (partition by dimension) as dimension_calls,
        sum(failures) over (partition by dimension) as dimension_failures,
        count(*) over (partition by dimension) as dimension_values
    from agg_failure_rate_by_dimension
    where dimension in ({", ".join(map(_sql_text, EXTRA_DIMENSIONS)) or "null"})
),
compared as (
    select
        *,
        (dimension_failures - failures) / nullif(dimension_calls - calls, 0) as others_failure_rate
    from extra
),
flagged as (
    select *, coalesce(failure_rate_ci_lower > others_failure_rate, false) as is_above_others
    from compared
)
select
    dimension, dimension_value, calls, failures, failure_rate, failure_rate_ci_lower,
    failure_rate_ci_upper, others_failure_rate, is_above_others,
    cast(dimension_calls as bigint) as dimension_calls,
    cast(dimension_failures as bigint) as dimension_failures, dimension_values
from flagged
qualify row_number() over (
    partition by dimension order by is_above_others desc, calls desc, dimension_value
) <= {EXTRA_VALUES_SHOWN}
order by dimension, is_above_others desc, calls desc, dimension_value
"""
# Every API with calls, whether or not its calls carry a latency (agg_latency_by_api only
# counts those that do): the page's API keys. dim_apis says where each name comes from
# (name_source: a catalogue, a route, the logs alone, or a likely misspelling).
_APIS_SQL = """
with daily as (
    select api_name, sum(calls) as calls
    from agg_api_daily
    group by api_name
)
select
    daily.api_name, dim_apis.api_family, dim_apis.owner_team,
    coalesce(dim_apis.is_known_api, false) as is_known_api,
    dim_apis.name_source, dim_apis.likely_typo_of,
    cast(daily.calls as bigint) as calls
from daily
left join dim_apis on daily.api_name = dim_apis.api_name
order by calls desc, api_name
"""

# query name -> (marts it needs, SQL). Everything is small or aggregated in SQL.
QUERIES: dict[str, tuple[tuple[str, ...], str]] = {
    "overview": (("agg_platform_overview",), "select * from agg_platform_overview"),
    "apis": (("agg_api_daily", "dim_apis"), _APIS_SQL),
    "coverage": (("fct_api_calls", "agg_failure_rate_by_dimension"), _COVERAGE_SQL),
    "left_out": (("fct_api_calls",), _LEFT_OUT_SQL),
    "extra_values": (("agg_failure_rate_by_dimension",), _EXTRA_VALUES_SQL),
    "latency": (
        ("agg_latency_by_api",),
        "select * from agg_latency_by_api order by calls desc, api_name",
    ),
    "versions": (("agg_latency_by_api_version",), "select * from agg_latency_by_api_version"),
    "regressions": (
        ("rca_version_regressions",),
        "select api_name, api_version, previous_version, is_regression, is_latency_regression,"
        " is_failure_regression, p95_latency_ratio from rca_version_regressions",
    ),
    "histogram": (
        ("agg_latency_histogram_by_api",),
        "select api_name, bucket_no, calls from agg_latency_histogram_by_api",
    ),
    "daily": (("agg_api_daily",), "select * from agg_api_daily"),
    "hourly": (
        ("agg_api_hourly",),
        "select called_hour_at, api_name, calls, failures, server_failures, timeout_failures"
        " from agg_api_hourly",
    ),
    "regions": (("agg_success_by_region",), "select * from agg_success_by_region"),
    "documents": (
        ("agg_failure_by_document_type",),
        "select * from agg_failure_by_document_type",
    ),
    "errors": (
        ("agg_error_reasons_by_api",),
        "select api_name, error_reason, failure_class, failures from agg_error_reasons_by_api",
    ),
    "concentration": (("agg_failures_by_region",), "select * from agg_failures_by_region"),
    "slo": (("agg_slo_status",), "select * from agg_slo_status"),
    "conversion": (("agg_conversion_by_region",), "select * from agg_conversion_by_region"),
    "findings": (
        ("rca_findings",),
        "select * from rca_findings order by finding_rank limit 50",
    ),
    "evidence": (("rca_findings", "fct_api_calls"), _EVIDENCE_SQL),
    "clients": (("fct_api_calls",), _CLIENTS_SQL),
    "incidents": (("rca_incidents",), "select * from rca_incidents limit 200"),
    "fragile": (
        ("rca_fragile_document_types",),
        # significant pairs first, then the next-largest excess for context
        "select * from rca_fragile_document_types where calls >= 30"
        " order by is_significant desc, excess_failures desc nulls last, api_name, document_type"
        " limit 10",
    ),
    "dq_reasons": (
        ("dq_quarantine_reasons",),
        "select column_name, reason, count(*) as records from dq_quarantine_reasons"
        " group by column_name, reason order by records desc, reason",
    ),
    "dq_values": (
        ("dq_quarantine", "dq_quarantine_reasons"),
        # the delivered values behind the commonest refusals: what a sender must fix
        "select r.column_name, r.reason, case r.column_name "
        + _RAW_VALUE_CASE
        + " end as value_raw, count(*) as records"
        " from dq_quarantine_reasons as r join dq_quarantine as q"
        " on r.batch_id = q.batch_id and r.source_record_no = q.source_record_no"
        " where r.column_name in (" + ", ".join(f"'{c}'" for c in _RAW_VALUE_COLUMNS) + ")"
        " group by all having value_raw is not null order by records desc, value_raw limit 20",
    ),
    "dq_drift": (
        ("dq_schema_drift",),
        "select * from dq_schema_drift order by loaded_at, batch_id",
    ),
    "dq_batches": (
        ("dq_batch_summary",),
        "select * from dq_batch_summary order by loaded_at, batch_id",
    ),
}


def marts_read() -> set[str]:
    """Every mart the dashboard reads (the exposure in models/exposures.yml names them)."""
    return {mart for marts, _ in QUERIES.values() for mart in marts}


@dataclass
class MartRead:
    """What was read from the warehouse: frames by query name, and why others are absent."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # query name -> note for the page

    def get(self, name: str) -> pd.DataFrame | None:
        return self.frames.get(name)


def read_marts(con: duckdb.DuckDBPyConnection, names: tuple[str, ...] | None = None) -> MartRead:
    """Run every dashboard query (or those named); a missing or unreadable mart becomes a note,
    never a crash."""
    present = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = current_schema()"
        ).fetchall()
    }
    read = MartRead()
    for name, (marts, sql) in QUERIES.items():
        if names is not None and name not in names:
            continue
        absent = [m for m in marts if m not in present]
        if absent:
            read.missing[name] = f"{absent[0]} is not built yet: run `dbt build` (make build)"
            continue
        try:
            read.frames[name] = con.execute(sql).fetch_df()
        except duckdb.Error as err:
            first = str(err).strip().splitlines()[0][:200]
            read.missing[name] = (
                f"{marts[0]} could not be read ({first}): rebuild it with `dbt build`"
            )
    return read


def read_warehouse() -> MartRead:
    """Open the warehouse read-only, read every query, close it."""
    con = connect(read_only=True)
    try:
        return read_marts(con)
    finally:
        con.close()


def warehouse_name() -> str:
    return db_path().name
