{#
    Pre-hook of the batch-incremental models: remove rows of batches that are
    no longer in the landing zone (the generator replaces its own batches on
    every run). Does nothing on a first or full-refresh build. A model that also
    adds columns runs it before its transaction (before_begin): DuckDB cannot
    commit a transaction that deletes rows of a table and then alters it. Safe:
    those batches are gone whether or not the model then succeeds.
#}
{% macro delete_batches_no_longer_landed() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where batch_id not in (select landed.batch_id from {{ ref('stg_logs__load_batches') }} as landed)
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{%- endmacro %}

{#
    The landed batches that a batch-incremental model has not processed yet, as a
    list (read when the model runs; empty at parse time). A list of constants, not a
    subquery, so that the filter reaches the Parquet scan of the landing zone.
#}
{% macro batches_not_yet_in(relation) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set result = run_query(
        'select batch_id from ' ~ ref('stg_logs__load_batches')
        ~ ' except select distinct batch_id from ' ~ relation ~ ' order by 1'
    ) -%}
    {{ return(result.columns[0].values() | list) }}
{%- endmacro %}

{#
    The models kept up to date by deleting and inserting again the batches or
    days a run touches: incremental where the engine deletes rows (DuckDB), a
    table rebuilt whole where it cannot (Spark on plain Parquet tables, which
    have no DELETE). Their delete hooks do nothing outside an incremental run.
#}
{% macro incremental_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}
