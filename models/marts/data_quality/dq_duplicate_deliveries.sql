with

validated_calls as (
    select * from {{ ref('int_api_calls_validated') }}
),

first_deliveries as (
    select
        call_id,
        batch_id,
        source_record_no,
        route
    from validated_calls
    where delivery_no = 1
),

duplicates as (
    select
        -- ids
        validated_calls.call_id as request_id,
        validated_calls.batch_id,
        validated_calls.source_record_no,
        first_deliveries.batch_id as first_batch_id,
        first_deliveries.source_record_no as first_source_record_no,

        -- strings
        first_deliveries.route as first_delivery_route,

        -- numbers
        cast(validated_calls.delivery_no as integer) as delivery_no,

        -- timestamps
        validated_calls.loaded_at
    from validated_calls
    inner join first_deliveries
        on validated_calls.call_id = first_deliveries.call_id
    where validated_calls.route = 'duplicate'
)

select * from duplicates
