{#-
    DuckDB's table materialization, in the statements this project needs: one
    `create or replace table ... as`, inside the model's transaction, so a reader sees the
    old table or the new one, never neither, and a model that reads its own last version
    ({{ this }}) still reads it. dbt-duckdb's own builds the table under a temporary name,
    renames the old one to a backup and the new one into place, drops the backup after the
    commit, and first asks DuckDB about indexes and foreign keys (duckdb_indexes(),
    duckdb_constraints()) this project never declares: about nine statements a model
    where this runs two, each with dbt's Python around it (benchmarks/HISTORY.md). A
    relation of another type under the name (a view, before the model became a table) is
    dropped first, in the same transaction. Constraints, indexes, partitioning,
    grants and Python models are none of this project's; a model that declares one is
    refused here, not built some other way. An enforced contract is checked as dbt-duckdb
    checks it (the query's column names and types against the declared ones), and its
    columns are written in the declared order.
-#}
{% materialization table, adapter='duckdb', supported_languages=['sql'] %}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set contracted = config.get('contract').enforced -%}
    {%- set constrained = model.get('constraints') or model.columns.values()
        | selectattr('constraints') | list -%}
    {%- for unsupported in ['indexes', 'grants', 'partitioned_by', 'partition_by', 'sorted_by', 'constraints'] -%}
        {%- if config.get(unsupported) or (unsupported == 'constraints' and constrained) -%}
            {{ exceptions.raise_compiler_error(
                "model " ~ this ~ " sets `" ~ unsupported ~ "`, which this project's table "
                ~ "materialization (macros/table_materialization.sql) does not build") }}
        {%- endif -%}
    {%- endfor -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set replaces = existing_relation is not none and existing_relation.is_table -%}
    {%- if existing_relation is not none and not replaces %}
        {#- dbt's own drop, which also forgets the view in its relation cache -#}
        {% do adapter.drop_relation(existing_relation) %}
    {%- endif %}
    {% call statement('main') -%}
        {{ config.get('sql_header') or '' }}
        {%- if contracted %}
            {#- the query's columns and types are the contract's, or this stops the model -#}
            {{ get_assert_columns_equivalent(compiled_code) }}
        {%- endif %}
        create {{ 'or replace ' if replaces }}table {{ target_relation }} as (
            {{ get_select_subquery(compiled_code) if contracted else compiled_code }}
        );
    {%- endcall %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
