-- The original design's "top failure reasons by API": failures per api_name and
-- error_reason, most first. Read from the mart, which also holds each reason's
-- share of its API's failures and its rank.

with

error_reasons_by_api as (
    select * from {{ ref('agg_error_reasons_by_api') }}
),

final as (
    select
        api_name,
        error_reason,
        failure_class,
        failures
    from error_reasons_by_api
)

select * from final
order by
    failures desc,
    api_name asc,
    error_reason asc
