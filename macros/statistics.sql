{#
    Rates and their uncertainty in plain SQL arithmetic (portable as written).
    safe_rate: a ratio as double, null (not inf) when the denominator is 0.
#}
{% macro safe_rate(numerator, denominator) -%}
    cast({{ numerator }} as double) / nullif({{ denominator }}, 0)
{%- endmacro %}

{#
    A sampled log's rate with the records behind it: `hits` of `trials` weighted calls,
    `seen` records observed. The interval is as wide as `seen` allows (the dashboard's
    Stats.wilson takes the same third argument). Without `seen`, hits and trials as given.
#}
{% macro wilson_sample(hits, trials, seen=none) -%}
    {%- if seen is none -%}
        {{ return([hits, trials]) }}
    {%- endif -%}
    {{ return(['(' ~ hits ~ ') / nullif(' ~ trials ~ ', 0) * ' ~ seen, seen]) }}
{%- endmacro %}

{#
    Lower bound of the Wilson score interval (95% at z = 1.96): honest for small
    counts and for rates at 0 or 1, where the normal interval collapses. With `seen`
    (records behind weighted calls), see wilson_sample.
#}
{% macro wilson_lower(hits, trials, z=1.96, seen=none) -%}
    {%- set hits, trials = api_trust.wilson_sample(hits, trials, seen) -%}
    {#- clamped: at a rate of exactly 0 or 1, rounding can put the raw bound a hair outside -#}
    case when {{ trials }} > 0 then
        least(
            cast({{ hits }} as double) / {{ trials }},
            greatest(0.0, (
                cast({{ hits }} as double) / {{ trials }} + {{ z }} * {{ z }} / (2.0 * {{ trials }})
                - {{ z }} * sqrt(
                    (cast({{ hits }} as double) / {{ trials }}) * (1 - cast({{ hits }} as double) / {{ trials }}) / {{ trials }}
                    + {{ z }} * {{ z }} / (4.0 * {{ trials }} * {{ trials }})
                )
            ) / (1 + {{ z }} * {{ z }} / {{ trials }}))
        )
    end
{%- endmacro %}

{# Upper bound of the Wilson score interval (see wilson_lower). #}
{% macro wilson_upper(hits, trials, z=1.96, seen=none) -%}
    {%- set hits, trials = api_trust.wilson_sample(hits, trials, seen) -%}
    case when {{ trials }} > 0 then
        greatest(
            cast({{ hits }} as double) / {{ trials }},
            least(1.0, (
                cast({{ hits }} as double) / {{ trials }} + {{ z }} * {{ z }} / (2.0 * {{ trials }})
                + {{ z }} * sqrt(
                    (cast({{ hits }} as double) / {{ trials }}) * (1 - cast({{ hits }} as double) / {{ trials }}) / {{ trials }}
                    + {{ z }} * {{ z }} / (4.0 * {{ trials }} * {{ trials }})
                )
            ) / (1 + {{ z }} * {{ z }} / {{ trials }}))
        )
    end
{%- endmacro %}

{#
    Standard normal CDF. DuckDB has no erf: Abramowitz & Stegun 7.1.26
    (|error| < 1.5e-7) on |z|/sqrt(2). Dispatched so an engine with a native
    function can use it.
#}
{% macro normal_cdf(z) -%}
    {{ return(adapter.dispatch('normal_cdf', 'api_trust')(z)) }}
{%- endmacro %}

{% macro default__normal_cdf(z) -%}
    (0.5 * (1 + sign({{ z }}) * (1 - (
        (((((1.061405429 * (1 / (1 + 0.3275911 * abs({{ z }}) / sqrt(2.0)))
        - 1.453152027) * (1 / (1 + 0.3275911 * abs({{ z }}) / sqrt(2.0)))
        + 1.421413741) * (1 / (1 + 0.3275911 * abs({{ z }}) / sqrt(2.0)))
        - 0.284496736) * (1 / (1 + 0.3275911 * abs({{ z }}) / sqrt(2.0)))
        + 0.254829592) * (1 / (1 + 0.3275911 * abs({{ z }}) / sqrt(2.0))))
        * exp(-({{ z }}) * ({{ z }}) / 2.0)
    ))))
{%- endmacro %}
