with

source as (
    select * from {{ source('logs', 'load_rejects') }}
),

renamed as (
    select
        -- ids
        batch_id,

        -- strings
        source_name,
        column_name,
        error_type,
        {{ api_trust.mask_pii('error_message') }} as error_message,
        {{ api_trust.mask_pii('raw_record') }} as raw_record,

        -- numbers
        source_line,
        coalesce(line_count, 1) as line_count
    from source
)

select * from renamed
