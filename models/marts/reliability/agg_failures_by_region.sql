with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

per_region as (
    select
        region,
        {{ api_trust.weighted_count() }} as calls,
        {{ api_trust.weighted_count('not is_success') }} as failures
    from api_calls
    -- a call whose log names no region (an access log) says nothing about region
    where region != 'unknown'
    group by region
),

with_totals as (
    select
        region,
        calls,
        failures,
        sum(calls) over () as total_calls,
        sum(failures) over () as total_failures,
        row_number() over (order by failures desc, region asc) as failure_rank
    from per_region
),

shares as (
    select
        region,
        calls,
        failures,
        failure_rank,
        {{ api_trust.safe_rate('failures', 'calls') }} as failure_rate,
        -- null when the platform had no failures at all: a share of nothing is undefined
        {{ api_trust.safe_rate('failures', 'total_failures') }} as share_of_failures,
        {{ api_trust.safe_rate('calls', 'total_calls') }} as share_of_calls
    from with_totals
),

final as (
    select
        region,
        cast(calls as bigint) as calls,
        cast(failures as bigint) as failures,
        failure_rate,
        share_of_failures,
        share_of_calls,
        {{ api_trust.safe_rate('share_of_failures', 'share_of_calls') }} as concentration_ratio,
        cast(failure_rank as integer) as failure_rank
    from shares
)

select * from final
