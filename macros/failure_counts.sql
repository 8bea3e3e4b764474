{#
    Calls (weighted, and the records seen), failures and failures per failure class
    (seed error_reasons) as aggregate select items, over vars.failure_classes: the one
    list of classes.
#}
{% macro failure_counts_by_class() -%}
    count(*) as sampled_calls,
    {{ api_trust.weighted_count() }} as calls,
    {{ api_trust.weighted_count('not is_success') }} as failures,
    {%- for failure_class in var('failure_classes') %}
    {{ api_trust.weighted_count("failure_class = '" ~ failure_class ~ "'") }} as {{ failure_class }}_failures{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#
    Calls a sampled log stands for. A record sampled at 1 in N (fct_api_calls.sample_weight
    = N, 1 when the log is not sampled) counts N times in calls, failures and rates.
    Intervals use the records actually seen (count(*), `sampled_calls`): weighting does
    not make a sample more certain. weighted_count(condition) counts the calls where the
    condition holds; without one, all calls.
#}
{% macro weighted_count(condition=none) -%}
    {%- if condition is none -%}
    sum(sample_weight)
    {%- else -%}
    sum(case when {{ condition }} then sample_weight else 0 end)
    {%- endif -%}
{%- endmacro %}

{# A string as a SQL literal, its quotes doubled: o'brien -> 'o''brien'. #}
{% macro sql_string(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}

{# A list of strings as a SQL tuple: ['a', 'b'] -> ('a', 'b'); an empty list matches nothing. #}
{% macro sql_list(values) -%}
    {%- if values | length == 0 -%}
        (select null where false)
    {%- else -%}
        ({% for v in values %}{{ api_trust.sql_string(v) }}{{ ', ' if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}
