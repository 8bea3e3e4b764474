with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
        -- calls whose log has no latency (plain access logs) say nothing about it
        and latency_ms is not null
),

bucketed as (
    select
        api_name,
        {{ api_trust.latency_bucket_no('latency_ms') }} as bucket_no
    from api_calls
),

per_bucket as (
    -- only non-empty buckets: a missing bucket means zero calls
    select
        api_name,
        bucket_no,
        count(*) as calls
    from bucketed
    group by
        api_name,
        bucket_no
),

final as (
    select
        api_name,
        bucket_no,
        {{ api_trust.latency_bucket_lower_ms('bucket_no') }} as bucket_lower_ms,
        {{ api_trust.latency_bucket_upper_ms('bucket_no') }} as bucket_upper_ms,
        cast(calls as bigint) as calls
    from per_bucket
)

select * from final
