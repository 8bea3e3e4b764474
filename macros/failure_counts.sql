{#
    Calls, failures and failures per failure class (seed error_reasons) as
    aggregate select items, over vars.failure_classes: the one list of classes.
#}
{% macro failure_counts_by_class() -%}
    count(*) as calls,
    count(case when not is_success then 1 end) as failures,
    {%- for failure_class in var('failure_classes') %}
    count(case when failure_class = '{{ failure_class }}' then 1 end) as {{ failure_class }}_failures{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{# A list of strings as a SQL tuple: ['a', 'b'] -> ('a', 'b'). #}
{% macro sql_list(values) -%}
    ({% for v in values %}'{{ v }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
