{#
    Exact percentiles by linear interpolation (numpy's default, DuckDB's
    quantile_cont, Spark's percentile), computed from rows: never averaged.

    percentile_list(column, fractions) is one aggregate returning the list of
    percentiles (one sort instead of four, see TRAPS.md); percentile_at picks
    element i (1-based) of that list.
#}
{% macro percentile_list(column, fractions) -%}
    {{ return(adapter.dispatch('percentile_list', 'api_trust')(column, fractions)) }}
{%- endmacro %}

{% macro default__percentile_list(column, fractions) -%}
    quantile_cont({{ column }}, [{{ fractions | join(', ') }}])
{%- endmacro %}

{% macro spark__percentile_list(column, fractions) -%}
    percentile({{ column }}, array({{ fractions | join(', ') }}))
{%- endmacro %}

{# Element `position` (1-based) of a percentile_list result. #}
{% macro percentile_at(list_expr, position) -%}
    {{ return(adapter.dispatch('percentile_at', 'api_trust')(list_expr, position)) }}
{%- endmacro %}

{% macro default__percentile_at(list_expr, position) -%}
    {{ list_expr }}[{{ position }}]
{%- endmacro %}

{% macro spark__percentile_at(list_expr, position) -%}
    {{ list_expr }}[{{ position - 1 }}]
{%- endmacro %}

{# A single percentile, for places that need only one. #}
{% macro percentile(column, fraction) -%}
    {{ return(adapter.dispatch('percentile', 'api_trust')(column, fraction)) }}
{%- endmacro %}

{% macro default__percentile(column, fraction) -%}
    quantile_cont({{ column }}, {{ fraction }})
{%- endmacro %}

{% macro spark__percentile(column, fraction) -%}
    percentile({{ column }}, {{ fraction }})
{%- endmacro %}

{# The median (p50) of a column, by the same definition. #}
{% macro median_of(column) -%}
    {{ api_trust.percentile(column, 0.5) }}
{%- endmacro %}
