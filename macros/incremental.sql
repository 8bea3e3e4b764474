{#
    Pre-hook of the batch-incremental models: remove rows of batches that are
    no longer in the landing zone (the generator replaces its own batches on
    every run). Does nothing on a first or full-refresh build.
#}
{% macro delete_batches_no_longer_landed() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where batch_id not in (select landed.batch_id from {{ ref('stg_logs__load_batches') }} as landed)
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{%- endmacro %}
