-- Failures per region, most first, with the region's share of all failures against
-- its share of all calls: a region with more failures may simply have more traffic.
-- The mart agg_failures_by_region holds the same numbers.

with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
),

per_region as (
    select
        region,
        count(*) as calls,
        count(case when not is_success then 1 end) as failures
    from api_calls
    group by region
),

shares as (
    select
        region,
        calls,
        failures,
        {{ api_trust.safe_rate('failures', 'calls') }} as failure_rate,
        {{ api_trust.safe_rate('failures', 'sum(failures) over ()') }} as share_of_failures,
        {{ api_trust.safe_rate('calls', 'sum(calls) over ()') }} as share_of_calls
    from per_region
),

final as (
    select
        region,
        calls,
        failures,
        failure_rate,
        share_of_failures,
        share_of_calls,
        {{ api_trust.safe_rate('share_of_failures', 'share_of_calls') }} as concentration_ratio
    from shares
)

select * from final
order by
    failures desc,
    region asc
