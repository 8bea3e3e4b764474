{#
    One row per merged incident window (an API failing above its seasonal
    baseline), for the localisation that asks "what is different about this
    incident?" (the window against its own baseline). Every tested window is
    here, beyond chance or not: the single Benjamini-Hochberg pass decides
    which become findings.
#}

with

windows as (
    select * from {{ ref('int_rca_time_windows_tested') }}
    where window_type = 'incident'
),

final as (
    select
        -- strings
        api_name,

        -- timestamps
        started_at,
        ended_at
    from windows
)

select * from final
