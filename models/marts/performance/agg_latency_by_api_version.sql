{%- set fractions = [0.5, 0.9, 0.95, 0.99] -%}

with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
        -- calls whose log has no latency (plain access logs) say nothing about it
        and latency_ms is not null
),

apis as (
    select * from {{ ref('dim_apis') }}
),

per_version as (
    select
        api_name,
        api_version,
        api_family,
        owner_team,
        count(*) as calls,
        avg(latency_ms) as mean_latency_ms,
        {{ api_trust.percentile_list('latency_ms', fractions) }} as latency_percentiles_ms,
        {{ api_trust.percentile('case when is_success then latency_ms end', 0.95) }}
            as p95_success_latency_ms
    from api_calls
    group by
        api_name,
        api_version,
        api_family,
        owner_team
),

final as (
    select
        per_version.api_name,
        per_version.api_version,
        per_version.api_family,
        per_version.owner_team,
        cast(per_version.calls as bigint) as calls,
        cast(per_version.mean_latency_ms as double) as mean_latency_ms,
        {{ api_trust.percentile_at('per_version.latency_percentiles_ms', 1) }} as p50_latency_ms,
        {{ api_trust.percentile_at('per_version.latency_percentiles_ms', 2) }} as p90_latency_ms,
        {{ api_trust.percentile_at('per_version.latency_percentiles_ms', 3) }} as p95_latency_ms,
        {{ api_trust.percentile_at('per_version.latency_percentiles_ms', 4) }} as p99_latency_ms,
        cast(per_version.p95_success_latency_ms as double) as p95_success_latency_ms,
        -- unknown services have no catalogue entry, so no version of theirs is "latest"
        coalesce(per_version.api_version = apis.latest_version, false) as is_latest_version
    from per_version
    left join apis
        on per_version.api_name = apis.api_name
)

select * from final
