{#
    Calls, failures and failures per failure class (seed error_reasons) as
    aggregate select items: the one list of classes the time-series marts count.
#}
{% macro failure_counts_by_class() -%}
    count(*) as calls,
    count(case when not is_success then 1 end) as failures,
    {%- for failure_class in ['client_input', 'fraud_decision', 'auth', 'server', 'timeout'] %}
    count(case when failure_class = '{{ failure_class }}' then 1 end) as {{ failure_class }}_failures{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
