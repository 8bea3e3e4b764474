{{ config(
    materialized=api_trust.incremental_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'day_vars': ['failure_classes']},
    pre_hook="{{ api_trust.delete_stale_days('cast(called_hour_at as date)') }}",
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

hourly_calls as (
    select
        {{ api_trust.truncate_to('hour', 'called_at') }} as called_hour_at,
        api_name,
        is_success,
        failure_class,
        sample_weight,
        latency_ms
    from api_calls
),

per_hour as (
    select
        called_hour_at,
        api_name,
        {{ api_trust.failure_counts_by_class() }},
        {{ api_trust.percentile('latency_ms', 0.95) }} as p95_latency_ms
    from hourly_calls
    group by
        called_hour_at,
        api_name
),

final as (
    select
        cast(called_hour_at as timestamp) as called_hour_at,
        api_name,
        cast(calls as bigint) as calls,
        cast(sampled_calls as bigint) as sampled_calls,
        cast(failures as bigint) as failures,
        {%- for failure_class in var('failure_classes') %}
            cast({{ failure_class }}_failures as bigint) as {{ failure_class }}_failures,
        {%- endfor %}
        cast(p95_latency_ms as double) as p95_latency_ms
    from per_hour
)

select * from final
