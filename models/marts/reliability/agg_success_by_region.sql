with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
),

per_region as (
    select
        region,
        count(*) as calls,
        count(case when is_success then 1 end) as successes,
        count(case when not is_success then 1 end) as failures
    from api_calls
    group by region
),

rates as (
    -- from the region's own counts, never averaged from finer groups
    select
        region,
        calls,
        successes,
        failures,
        {{ api_trust.safe_rate('successes', 'calls') }} as success_rate,
        {{ api_trust.wilson_lower('successes', 'calls') }} as wilson_lower,
        {{ api_trust.wilson_upper('successes', 'calls') }} as wilson_upper
    from per_region
),

final as (
    select
        region,
        cast(calls as bigint) as calls,
        cast(successes as bigint) as successes,
        cast(failures as bigint) as failures,
        success_rate,
        -- at a rate of 0 or 1 rounding leaves a bound ~1e-17 past the rate or outside [0, 1]
        cast(
            case
                when wilson_lower < 0 then 0
                when wilson_lower > success_rate then success_rate
                else wilson_lower
            end as double
        ) as success_rate_ci_lower,
        cast(
            case
                when wilson_upper > 1 then 1
                when wilson_upper < success_rate then success_rate
                else wilson_upper
            end as double
        ) as success_rate_ci_upper
    from rates
)

select * from final
