{#
    Every day that holds facts, with a fingerprint of its calls (how many and a
    sum of their hashes): what the day-incremental models compare against what
    they recorded when they last built the day (macros/incremental_days.sql).
    The fingerprint ends with the keys int_api_calls_validated's files were
    written under: a rule, seed or var of the validation edited, every batch is
    checked again and every fact may have changed, so every day is rebuilt.
    One small aggregate over the facts, rebuilt on every run.
#}

-- depends_on: {{ ref('int_api_calls_validated') }}
{%- set validation_keys = api_trust.batch_files_stored_keys(ref('int_api_calls_validated')) | join(',') %}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
),

days as (
    select
        cast(called_at as date) as called_on,
        count(*) as calls,
        {{ api_trust.ids_fingerprint('request_id') }}
        || '|{{ validation_keys }}' as day_fingerprint
    from calls
    group by cast(called_at as date)
),

final as (
    select
        -- strings
        day_fingerprint,

        -- numbers
        cast(calls as bigint) as calls,

        -- dates
        called_on
    from days
)

select * from final
