{#
    Statistics and time arithmetic of the time-side root cause (incidents,
    traffic drops, seasonal bumps, SLO alerts). Definitions: doc blocks
    rca_time_baseline, rca_time_tests and slo_alerting
    (models/intermediate/root_cause/time/_docs_time.md).
#}

{#
    Whole steps of `minutes` since 2000-01-01 (a fixed anchor): consecutive
    5-minute buckets or hours differ by one.
#}
{% macro time_step_number(expr, minutes) -%}
    cast(floor({{ api_trust.seconds_between("cast('2000-01-01 00:00:00' as timestamp)", expr) }} / {{ 60 * minutes }}.0) as bigint)
{%- endmacro %}

{# A timestamp plus a whole number of minutes. #}
{% macro add_minutes(expr, minutes) -%}
    {{ return(adapter.dispatch('add_minutes', 'api_trust')(expr, minutes)) }}
{%- endmacro %}

{% macro default__add_minutes(expr, minutes) -%}
    ({{ expr }} + to_minutes(cast({{ minutes }} as bigint)))
{%- endmacro %}

{% macro spark__add_minutes(expr, minutes) -%}
    ({{ expr }} + make_interval(0, 0, 0, 0, 0, {{ minutes }}))
{%- endmacro %}

{# Hour of the week (0-167 from Sunday 00:00, on every engine) and hour of the day. #}
{% macro hour_of_week(expr) -%}
    {{ return(adapter.dispatch('hour_of_week', 'api_trust')(expr)) }}
{%- endmacro %}

{% macro default__hour_of_week(expr) -%}
    cast(dayofweek({{ expr }}) * 24 + hour({{ expr }}) as integer)
{%- endmacro %}

{# Spark numbers the days 1 (Sunday) to 7, DuckDB 0 to 6. #}
{% macro spark__hour_of_week(expr) -%}
    cast((dayofweek({{ expr }}) - 1) * 24 + hour({{ expr }}) as integer)
{%- endmacro %}

{% macro hour_of_day(expr) -%}
    cast(hour({{ expr }}) as integer)
{%- endmacro %}

{#
    One-sided Poisson tail probabilities by the Peizer-Pratt normal
    approximation (Peizer & Pratt 1968): within a few percent of the exact
    tail from p = 0.5 down to 1e-12, where the plain normal or the cube-root
    approximation are off by orders of magnitude (3 failures where 0.01 were
    expected). Continuous in the count, so overdispersed counts enter as
    effective counts (k / phi, mu / phi); below one effective count the
    Wilson-Hilferty cube root (conservative there) is used.
    `upper`: P(X >= observed), 1 when nothing was observed.
    `lower`: P(X <= observed), a shortfall (traffic drop).
    The *_z macros give the normal deviate alone: on many rows, compute it once
    as a column and pass it as `z` (normal_cdf repeats its argument). Tails are
    read through normal_cdf without 1 - x, so small p-values keep their digits.
#}
{% macro peizer_pratt_g(y) -%}
    case
        when abs(({{ y }}) - 1) < 1e-6 then 0.0
        else (1 - power({{ y }}, 2) + 2 * ({{ y }}) * ln({{ y }})) / power(1 - ({{ y }}), 2)
    end
{%- endmacro %}

{% macro poisson_upper_z(observed, expected) -%}
    case
        when {{ observed }} >= 1 then
            -(
                ({{ observed }} - 1 - ({{ expected }}) + cast(2 as double) / 3 + 0.02 / ({{ observed }}))
                * sqrt((1 + {{ api_trust.peizer_pratt_g('(' ~ observed ~ ' - 0.5) / (' ~ expected ~ ')') }}) / ({{ expected }}))
            )
        else
            (power(cast({{ expected }} as double) / ({{ observed }}), cast(1 as double) / 3) - 1 + 1 / (9.0 * ({{ observed }})))
            * 3 * sqrt(cast({{ observed }} as double))
    end
{%- endmacro %}

{% macro poisson_lower_z(observed, expected) -%}
    (
        ({{ observed }} - ({{ expected }}) + cast(2 as double) / 3 + 0.02 / ({{ observed }} + 1))
        * sqrt((1 + {{ api_trust.peizer_pratt_g('(' ~ observed ~ ' + 0.5) / (' ~ expected ~ ')') }}) / ({{ expected }}))
    )
{%- endmacro %}

{% macro poisson_upper_p(observed, expected, z=none) -%}
    case
        when {{ observed }} <= 0 or {{ observed }} is null then 1.0
        when {{ expected }} <= 0 then 0.0
        else least(1.0, greatest(0.0, {{ api_trust.normal_cdf(z or api_trust.poisson_upper_z(observed, expected)) }}))
    end
{%- endmacro %}

{% macro poisson_lower_p(observed, expected, z=none) -%}
    case
        when {{ expected }} <= 0 or {{ expected }} is null then 1.0
        else least(1.0, greatest(0.0, {{ api_trust.normal_cdf(z or api_trust.poisson_lower_z(observed, expected)) }}))
    end
{%- endmacro %}

{#
    Confidence bounds of a Poisson mean from an observed count k (Garwood's
    exact interval through the Wilson-Hilferty cube root, which inverts in
    closed form; z = 1.96 gives the two-sided 95% interval the project uses
    everywhere). Accurate from k = 3 on and conservative (wider) below. The
    lower bound is 0 for k = 0.
#}
{% macro poisson_lower_bound(observed, z=1.96) -%}
    case
        when {{ observed }} > 0 then
            cast({{ observed }} as double)
            * power(greatest(0.0, 1 - 1 / (9.0 * ({{ observed }})) - {{ z }} / (3 * sqrt(cast({{ observed }} as double)))), 3)
        else 0.0
    end
{%- endmacro %}

{% macro poisson_upper_bound(observed, z=1.96) -%}
    (cast({{ observed }} as double) + 1)
    * power(1 - 1 / (9.0 * ({{ observed }} + 1)) + {{ z }} / (3 * sqrt(cast({{ observed }} as double) + 1)), 3)
{%- endmacro %}

{#
    Empirical-Bayes ratio observed / expected shrunk toward 1: the posterior
    mean of a gamma(1/tau2, 1/tau2) factor after a Poisson count, written so
    tau2 = 0 (no spread between cells beyond chance) gives exactly 1.
#}
{% macro shrunk_ratio(observed, expected, tau2) -%}
    (({{ observed }}) * ({{ tau2 }}) + 1) / (({{ expected }}) * ({{ tau2 }}) + 1)
{%- endmacro %}

{#
    Method-of-moments variance of a multiplicative factor between cells
    (aggregate expression): the spread of observed around expected counts
    beyond what Poisson chance gives, per unit of expected count squared,
    floored at 0. The same estimator sets how far seasonal profiles are
    shrunk and how much day-to-day variation an API has.
#}
{% macro extra_poisson_variance(observed, expected) -%}
    greatest(0.0, coalesce(
        sum(power(({{ observed }}) - ({{ expected }}), 2) - ({{ expected }}))
        / nullif(sum(power({{ expected }}, 2)), 0),
        0.0
    ))
{%- endmacro %}

{#
    Scan correction: a window of `length` units picked from a series of
    `tests` units is one of at most tests x tests windows. Weighting a window
    of length l by 1 / (tests x l x H(tests)) (H the harmonic number) spends
    the whole error budget once over all of them, so p x tests x l x H(tests)
    is a valid family-wise p-value for the series (short windows are cheaper
    than long ones, which carry more evidence anyway).
#}
{% macro scan_corrected_p(p_value, tests, length) -%}
    least(1.0, ({{ p_value }}) * ({{ tests }}) * ({{ length }})
        * greatest(1.0, ln(cast({{ tests }} as double)) + 0.5772156649 + 1 / (2.0 * ({{ tests }}))))
{%- endmacro %}

{#
    A team's own SLO catalogue, read from a CSV at `path` as text: api_name
    plus whichever of owner_team, availability_target, latency_slo_ms and
    slo_period_days it has (a missing column reads as null, extra columns are
    ignored). Empty path: no rows.
#}
{% macro team_slo_catalogue(path) -%}
    {{ return(adapter.dispatch('team_slo_catalogue', 'api_trust')(path)) }}
{%- endmacro %}

{% macro default__team_slo_catalogue(path) -%}
    {%- set columns = ['api_name', 'owner_team', 'availability_target', 'latency_slo_ms', 'slo_period_days'] -%}
    select {{ columns | join(', ') }}
    from (
        select
            {%- for column in columns %}
            cast(null as string) as {{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        where false
        {%- if path %}
        union all by name
        select * from read_csv({{ api_trust.sql_string(path) }}, header = true, all_varchar = true)
        {%- endif %}
    ) as delivered
{%- endmacro %}

{# One row per integer from `first` to `last` (a select-list expression that multiplies rows). #}
{% macro integer_range(first, last) -%}
    {{ return(adapter.dispatch('integer_range', 'api_trust')(first, last)) }}
{%- endmacro %}

{% macro default__integer_range(first, last) -%}
    unnest(range({{ first }}, {{ last }} + 1))
{%- endmacro %}

{% macro spark__integer_range(first, last) -%}
    explode(sequence({{ first }}, {{ last }}))
{%- endmacro %}
