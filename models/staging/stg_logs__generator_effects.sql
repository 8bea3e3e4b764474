with

source as (
    select * from {{ source('logs', 'generator_effects') }}
),

renamed as (
    select
        -- ids
        effect_id,

        -- strings
        scenario,
        kind as effect_kind,
        segment,
        api_name,
        api_version,
        region,
        document_type,
        client_type,
        client_id,
        sdk_version,
        error_reason,
        daily_window_utc,
        description,

        -- numbers
        failure_rate_added,
        latency_multiplier,
        traffic_multiplier,

        -- booleans
        is_incident,

        -- timestamps
        window_start as window_start_at,
        window_end as window_end_at
    from source
)

select * from renamed
