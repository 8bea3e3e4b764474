with

source as (
    select * from {{ source('logs', 'planted_defects') }}
),

renamed as (
    select
        -- ids
        batch_id,
        source_record_no,
        request_id,

        -- strings
        kind as defect_kind,
        column_name
    from source
)

select * from renamed
