with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

per_document_type as (
    select
        document_type,
        count(*) as sampled_calls,
        {{ api_trust.weighted_count() }} as calls,
        {{ api_trust.weighted_count('not is_success') }} as failures
    from api_calls
    -- a call whose log names no document_type (an access log) says nothing about document_type
    where document_type != 'unknown'
    group by document_type
),

rates as (
    select
        document_type,
        sampled_calls,
        calls,
        failures,
        {{ api_trust.safe_rate('failures', 'calls') }} as failure_rate,
        {{ api_trust.wilson_lower('failures', 'calls', seen='sampled_calls') }} as wilson_lower,
        {{ api_trust.wilson_upper('failures', 'calls', seen='sampled_calls') }} as wilson_upper
    from per_document_type
),

final as (
    select
        document_type,
        cast(calls as bigint) as calls,
        cast(sampled_calls as bigint) as sampled_calls,
        cast(failures as bigint) as failures,
        failure_rate,
        -- the Wilson macros clamp the bounds to [0, 1] and around the rate
        cast(wilson_lower as double) as failure_rate_ci_lower,
        cast(wilson_upper as double) as failure_rate_ci_upper
    from rates
)

select * from final
