{#-
    DuckDB's persist_docs (the descriptions a DuckDB CLI user reads in duckdb_tables()
    and duckdb_columns()) in one statement per relation: the relation's comment and its
    documented columns' comments together, after one look at the columns the relation
    has. dbt's default runs a statement for the relation, looks up its columns twice (its
    own check and dbt-duckdb's) and runs a second statement for the columns: about 0.04 s
    of dbt's Python per model, every build (benchmarks/HISTORY.md).
    Documented columns the relation lacks are skipped, as dbt's default skips them.
-#}
{% macro duckdb__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- set statements = [] -%}
    {%- if for_relation and config.persist_relation_docs() and model.description -%}
        {%- do statements.append(duckdb__alter_relation_comment(relation, model.description)) -%}
    {%- endif -%}
    {%- if for_columns and config.persist_column_docs() and model.columns -%}
        {%- set existing = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
        {%- for name, column in model.columns.items() if name in existing -%}
            {%- set quoted = adapter.quote(name) if column.get('quote') else name -%}
            {%- do statements.append(
                'comment on column ' ~ relation ~ '.' ~ quoted ~ ' is '
                ~ duckdb_escape_comment(column.description) ~ ';'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if statements -%}
        {%- do run_query(statements | join('\n')) -%}
    {%- endif -%}
{%- endmacro %}
