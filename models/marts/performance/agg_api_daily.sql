{%- set fractions = [0.5, 0.95, 0.99] -%}
{{ config(
    materialized=api_trust.incremental_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'day_vars': ['failure_classes']},
    pre_hook="{{ api_trust.delete_stale_days('called_date') }}",
    post_hook="{{ api_trust.record_days_built() }}",
) }}

-- depends_on: {{ ref('int_call_days_fingerprinted') }}, {{ ref('int_incremental_days_built') }}

with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where
        is_api_traffic is not false
        -- incremental by day (doc incremental_days): the days whose facts changed
        and {{ api_trust.in_stale_days('cast(called_at as date)') }}
),

per_day as (
    select
        cast(called_at as date) as called_date,
        api_name,
        api_version,
        region,
        {{ api_trust.failure_counts_by_class() }},
        {{ api_trust.percentile_list('latency_ms', fractions) }} as latency_percentiles_ms
    from api_calls
    group by
        cast(called_at as date),
        api_name,
        api_version,
        region
),

final as (
    select
        called_date,
        api_name,
        api_version,
        region,
        cast(calls as bigint) as calls,
        cast(sampled_calls as bigint) as sampled_calls,
        cast(failures as bigint) as failures,
        {%- for failure_class in var('failure_classes') %}
            cast({{ failure_class }}_failures as bigint) as {{ failure_class }}_failures,
        {%- endfor %}
        {{ api_trust.percentile_at('latency_percentiles_ms', 1) }} as p50_latency_ms,
        {{ api_trust.percentile_at('latency_percentiles_ms', 2) }} as p95_latency_ms,
        {{ api_trust.percentile_at('latency_percentiles_ms', 3) }} as p99_latency_ms
    from per_day
)

select * from final
