{#
    Use a folder's custom schema name as it is (`staging`, `intermediate`,
    `reference`) instead of dbt's default `<target>_<custom>`, and keep marts in
    the target schema (`main`) so the DuckDB CLI finds them unqualified.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
