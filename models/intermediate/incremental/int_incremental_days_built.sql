{#
    The ledger of the day-incremental models: one row each time a model rebuilt
    a day, with the day's fingerprint then (null when the day no longer held
    facts and its rows were removed). Written by the models' post-hook
    record_days_built, never by this model, which only creates it (empty) and
    keeps it across incremental runs; the latest row per model and day is what
    the model last built. A --full-refresh of it makes every day-incremental
    model rebuild every day at its next run.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
) }}

select
    -- strings
    cast(null as string) as model_name,
    cast(null as string) as day_fingerprint,

    -- dates
    cast(null as date) as called_on,

    -- timestamps
    cast(null as timestamp) as built_at
where false
