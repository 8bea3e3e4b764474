with

source as (
    select * from {{ source('logs', 'load_batch_columns') }}
),

renamed as (
    select
        -- ids
        batch_id,

        -- strings
        lower(trim(column_name)) as column_name,
        coalesce(
            landed_as,
            {{ api_trust.canonical_column_name('lower(trim(column_name))') }}
        ) as canonical_name,
        upper(sniffed_type) as sniffed_type,

        -- numbers
        column_position
    from source
)

select * from renamed
