with

source as (
    select * from {{ source('logs', 'generator_runs') }}
),

renamed as (
    select
        -- ids
        run_id,

        -- strings
        scenario,

        -- numbers
        seed,
        row_count,
        days,
        dirty_rate,
        batches,

        -- booleans
        has_drift,

        -- timestamps
        end_at as window_end_at,
        generated_at
    from source
)

select * from renamed
