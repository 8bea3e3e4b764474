{%- set fractions = [0.5, 0.95, 0.99] -%}

with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

totals as (
    -- no group by: exactly one row, even over an empty fact table
    select
        count(*) as sampled_calls,
        -- coalesce: a sum over no rows is null, and the platform then had 0 calls
        coalesce({{ api_trust.weighted_count() }}, 0) as calls,
        coalesce({{ api_trust.weighted_count('is_success') }}, 0) as successes,
        coalesce({{ api_trust.weighted_count('not is_success') }}, 0) as failures,
        {{ api_trust.percentile_list('latency_ms', fractions) }} as latency_percentiles_ms,
        count(distinct api_name) as apis_called,
        -- 'unknown' stands for "client not delivered", not for one more client
        count(distinct case when client_id <> 'unknown' then client_id end) as clients,
        min(called_at) as first_called_at,
        max(called_at) as last_called_at
    from api_calls
),

rates as (
    select
        sampled_calls,
        calls,
        successes,
        failures,
        latency_percentiles_ms,
        apis_called,
        clients,
        first_called_at,
        last_called_at,
        {{ api_trust.safe_rate('successes', 'calls') }} as success_rate,
        {{ api_trust.wilson_lower('successes', 'calls', seen='sampled_calls') }} as wilson_lower,
        {{ api_trust.wilson_upper('successes', 'calls', seen='sampled_calls') }} as wilson_upper
    from totals
),

final as (
    select
        cast(calls as bigint) as calls,
        cast(sampled_calls as bigint) as sampled_calls,
        cast(successes as bigint) as successes,
        cast(failures as bigint) as failures,
        success_rate,
        -- the Wilson macros clamp the bounds to [0, 1] and around the rate
        cast(wilson_lower as double) as success_rate_ci_lower,
        cast(wilson_upper as double) as success_rate_ci_upper,
        {{ api_trust.percentile_at('latency_percentiles_ms', 1) }} as p50_latency_ms,
        {{ api_trust.percentile_at('latency_percentiles_ms', 2) }} as p95_latency_ms,
        {{ api_trust.percentile_at('latency_percentiles_ms', 3) }} as p99_latency_ms,
        cast(apis_called as bigint) as apis_called,
        cast(clients as bigint) as clients,
        first_called_at,
        last_called_at,
        cast(
            {{ api_trust.seconds_between('first_called_at', 'last_called_at') }} / 86400.0 as double
        ) as days_covered
    from rates
)

select * from final
