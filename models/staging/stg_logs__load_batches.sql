with

source as (
    select * from {{ source('logs', 'load_batches') }}
),

renamed as (
    select
        -- ids
        batch_id,
        content_hash,

        -- strings
        source_name,
        source_kind,
        source_format,
        columns_seen,

        -- numbers
        record_count,
        landed_count,
        rejected_count,

        -- timestamps
        loaded_at
    from source
)

select * from renamed
