{%- set fractions = [0.5, 0.9, 0.95, 0.99] -%}

with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
        -- calls whose log has no latency (plain access logs) say nothing about it
        and latency_ms is not null
),

per_api as (
    select
        api_name,
        api_family,
        owner_team,
        is_known_api,
        count(*) as calls,
        avg(latency_ms) as mean_latency_ms,
        -- one sort for the four percentiles; never averaged across groups
        {{ api_trust.percentile_list('latency_ms', fractions) }} as latency_percentiles_ms,
        {{ api_trust.percentile('case when is_success then latency_ms end', 0.95) }}
            as p95_success_latency_ms,
        max(latency_ms) as max_latency_ms
    from api_calls
    group by
        api_name,
        api_family,
        owner_team,
        is_known_api
),

final as (
    select
        api_name,
        api_family,
        owner_team,
        cast(calls as bigint) as calls,
        cast(mean_latency_ms as double) as mean_latency_ms,
        {{ api_trust.percentile_at('latency_percentiles_ms', 1) }} as p50_latency_ms,
        {{ api_trust.percentile_at('latency_percentiles_ms', 2) }} as p90_latency_ms,
        {{ api_trust.percentile_at('latency_percentiles_ms', 3) }} as p95_latency_ms,
        {{ api_trust.percentile_at('latency_percentiles_ms', 4) }} as p99_latency_ms,
        cast(p95_success_latency_ms as double) as p95_success_latency_ms,
        cast(max_latency_ms as double) as max_latency_ms,
        is_known_api
    from per_api
)

select * from final
