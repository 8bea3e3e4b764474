{#
    Seeds on Spark: dbt-spark's seed loader binds each value as a quoted
    literal with a doubled quote, which Spark 3.5 reads as two literals (a
    playbook line with an apostrophe is a syntax error). The same loader with
    Spark's own escapes. Overrides dbt-spark's macro of the same name (the
    root project's macros come first in the `dbt` namespace).
#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set batch_size = get_batch_size() %}
    {%- set column_override = model['config'].get('column_types', {}) %}
    {%- set statements = [] %}
    {%- for chunk in agate_table.rows | batch(batch_size) %}
        {%- set sql %}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for col_name in agate_table.column_names -%}
                    {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                    cast({{ api_trust.spark_string_literal(row[loop.index0]) }} as {{ column_override.get(col_name, inferred_type) }})
                    {%- if not loop.last %},{% endif %}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {%- endfor %}
        {%- endset %}
        {%- do adapter.add_query(sql, abridge_sql_log=True) %}
        {%- if loop.index0 == 0 %}{% do statements.append(sql) %}{% endif %}
    {%- endfor %}
    {{ return(statements[0]) }}
{% endmacro %}

{# A value as a Spark SQL string literal, or null. #}
{% macro spark_string_literal(value) -%}
    {%- if value is none -%}null
    {%- else -%}'{{ api_trust.spark_literal_body(value | string) }}'
    {%- endif -%}
{%- endmacro %}
