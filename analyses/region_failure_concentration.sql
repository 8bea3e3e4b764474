-- The original design's "region-wise failure concentration": failures per region,
-- most first, with the region's share of all failures against its share of all
-- calls (a region with more failures may simply have more traffic). Read from the
-- mart so the numbers are defined once.

with

failures_by_region as (
    select * from {{ ref('agg_failures_by_region') }}
),

final as (
    select
        region,
        calls,
        failures,
        failure_rate,
        share_of_failures,
        share_of_calls,
        concentration_ratio
    from failures_by_region
)

select * from final
order by
    failures desc,
    region asc
