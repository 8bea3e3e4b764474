{#
    Every later delivery of a call beside its first delivery. The redeliveries
    are few: they are found first, and only their calls' first deliveries are
    looked up. A join of every first delivery (every validated record) kept
    that whole side as a stored CTE: 24-25 s of each build at 100M rows.
#}

with

validated_calls as {{ api_trust.inline_cte() }} (
    -- read twice, for the redeliveries and their first deliveries: inline, not stored whole
    select * from {{ ref('int_api_calls_validated') }}
),

redeliveries as (
    select
        call_id,
        batch_id,
        source_record_no,
        delivery_no,
        loaded_at
    from validated_calls
    where route = 'duplicate'
),

first_deliveries as (
    select
        call_id,
        batch_id,
        source_record_no,
        route
    from validated_calls
    where
        delivery_no = 1
        and call_id in (select redeliveries.call_id from redeliveries)
),

duplicates as (
    select
        -- ids
        redeliveries.call_id as request_id,
        redeliveries.batch_id,
        redeliveries.source_record_no,
        first_deliveries.batch_id as first_batch_id,
        first_deliveries.source_record_no as first_source_record_no,

        -- strings
        first_deliveries.route as first_delivery_route,

        -- numbers
        cast(redeliveries.delivery_no as integer) as delivery_no,

        -- timestamps
        redeliveries.loaded_at
    from redeliveries
    inner join first_deliveries
        on redeliveries.call_id = first_deliveries.call_id
)

select * from duplicates
