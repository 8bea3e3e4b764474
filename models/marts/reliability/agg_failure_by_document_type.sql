with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
),

per_document_type as (
    select
        document_type,
        count(*) as calls,
        count(case when not is_success then 1 end) as failures
    from api_calls
    group by document_type
),

rates as (
    select
        document_type,
        calls,
        failures,
        {{ api_trust.safe_rate('failures', 'calls') }} as failure_rate,
        {{ api_trust.wilson_lower('failures', 'calls') }} as wilson_lower,
        {{ api_trust.wilson_upper('failures', 'calls') }} as wilson_upper
    from per_document_type
),

final as (
    select
        document_type,
        cast(calls as bigint) as calls,
        cast(failures as bigint) as failures,
        failure_rate,
        -- at a rate of 0 or 1 rounding leaves a bound ~1e-17 past the rate or outside [0, 1]
        cast(
            case
                when wilson_lower < 0 then 0
                when wilson_lower > failure_rate then failure_rate
                else wilson_lower
            end as double
        ) as failure_rate_ci_lower,
        cast(
            case
                when wilson_upper > 1 then 1
                when wilson_upper < failure_rate then failure_rate
                else wilson_upper
            end as double
        ) as failure_rate_ci_upper
    from rates
)

select * from final
