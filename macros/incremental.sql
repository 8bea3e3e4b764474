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
