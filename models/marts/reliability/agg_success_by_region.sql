with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

per_region as (
    select
        region,
        count(*) as sampled_calls,
        {{ api_trust.weighted_count() }} as calls,
        {{ api_trust.weighted_count('is_success') }} as successes,
        {{ api_trust.weighted_count('not is_success') }} as failures
    from api_calls
    -- a call whose log names no region (an access log) says nothing about region
    where region != 'unknown'
    group by region
),

rates as (
    -- from the region's own counts, never averaged from finer groups
    select
        region,
        sampled_calls,
        calls,
        successes,
        failures,
        {{ api_trust.safe_rate('successes', 'calls') }} as success_rate,
        {{ api_trust.wilson_lower('successes', 'calls', seen='sampled_calls') }} as wilson_lower,
        {{ api_trust.wilson_upper('successes', 'calls', seen='sampled_calls') }} as wilson_upper
    from per_region
),

final as (
    select
        region,
        cast(calls as bigint) as calls,
        cast(sampled_calls as bigint) as sampled_calls,
        cast(successes as bigint) as successes,
        cast(failures as bigint) as failures,
        success_rate,
        -- the Wilson macros clamp the bounds to [0, 1] and around the rate
        cast(wilson_lower as double) as success_rate_ci_lower,
        cast(wilson_upper as double) as success_rate_ci_upper
    from rates
)

select * from final
