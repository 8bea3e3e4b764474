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
        -- null for batches landed before the loader recorded it, all with a decimal point
        coalesce(decimal_mark, '.') as decimal_mark,
        date_order,

        -- numbers
        record_count,
        landed_count,
        rejected_count,
        line_count,
        header_line_count,
        blank_line_count,
        landed_line_count,
        rejected_line_count,

        -- timestamps
        loaded_at
    from source
)

select * from renamed
