with

api_calls as (
    select * from {{ ref('fct_api_calls') }}
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
