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
    (records behind weighted calls), see wilson_sample. z x z is cast to double: over
    whole-number trials Spark would divide it as a decimal (six decimal places).
#}
{% macro wilson_lower(hits, trials, z=1.96, seen=none) -%}
    {%- set hits, trials = api_trust.wilson_sample(hits, trials, seen) -%}
    {#- clamped: at a rate of exactly 0 or 1, rounding can put the raw bound a hair outside -#}
    case when {{ trials }} > 0 then
        least(
            cast({{ hits }} as double) / {{ trials }},
            greatest(0.0, (
                cast({{ hits }} as double) / {{ trials }} + cast({{ z }} * {{ z }} as double) / (2.0 * {{ trials }})
                - {{ z }} * sqrt(
                    (cast({{ hits }} as double) / {{ trials }}) * (1 - cast({{ hits }} as double) / {{ trials }}) / {{ trials }}
                    + cast({{ z }} * {{ z }} as double) / (4.0 * {{ trials }} * {{ trials }})
                )
            ) / (1 + cast({{ z }} * {{ z }} as double) / {{ trials }}))
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
                cast({{ hits }} as double) / {{ trials }} + cast({{ z }} * {{ z }} as double) / (2.0 * {{ trials }})
                + {{ z }} * sqrt(
                    (cast({{ hits }} as double) / {{ trials }}) * (1 - cast({{ hits }} as double) / {{ trials }}) / {{ trials }}
                    + cast({{ z }} * {{ z }} as double) / (4.0 * {{ trials }} * {{ trials }})
                )
            ) / (1 + cast({{ z }} * {{ z }} as double) / {{ trials }}))
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

{#
    Tests of "does this segment fail more than it should?" and multiple-testing
    control, shared by every producer of root-cause findings (doc rca_tests).
#}

{#
    z-score of `hits` out of `trials` against an expected rate, on the arcsine
    (variance-stabilising) scale with Anscombe's 3/8 correction: for large
    counts it equals the classical z of a proportion, and for small counts its
    tail stays honest where the plain normal approximation calls 3 failures
    out of 30 "significant". `inflation` (>= 1) widens the variance for the
    sampling error of the expected rate itself (1 + n/m when the expectation
    comes from m other calls), which makes it a two-proportion test.
    Callers evaluate it only when the expected rate is known: DuckDB's
    least/greatest skip nulls, so a null rate would be clamped to 0.
#}
{% macro proportion_z(hits, trials, expected_rate, inflation=1) -%}
    (
        2 * sqrt(cast({{ trials }} as double))
        * (
            asin(sqrt((cast({{ hits }} as double) + 0.375) / ({{ trials }} + 0.75)))
            - asin(sqrt(least(1.0, greatest(0.0, {{ expected_rate }}))))
        )
        / sqrt({{ inflation }})
    )
{%- endmacro %}

{# Two-proportion z (group 1 vs group 2) on the arcsine scale: Cohen's h over its standard error. #}
{% macro two_proportion_z(hits_1, trials_1, hits_2, trials_2) -%}
    (
        (
            asin(sqrt((cast({{ hits_1 }} as double) + 0.375) / ({{ trials_1 }} + 0.75)))
            - asin(sqrt((cast({{ hits_2 }} as double) + 0.375) / ({{ trials_2 }} + 0.75)))
        )
        / sqrt(cast(1 as double) / (4 * {{ trials_1 }}) + cast(1 as double) / (4 * {{ trials_2 }}))
    )
{%- endmacro %}

{#
    Binomial log-likelihood ratio G of `hits` in `trials` against `expected`
    hits (Kulldorff's scan statistic for one cell): how much better the cell's
    own rate explains it than the expected rate. G is subadditive, so adding
    unaffected calls to a cell never raises it: the cell that maximises G is
    the one that holds the effect, neither a wider nor a narrower one.
    `hits` is continuity-corrected towards the expectation by half a call.
#}
{% macro binomial_llr(hits, trials, expected) -%}
    {%- set n = 'cast(' ~ trials ~ ' as double)' -%}
    {%- set o = 'greatest(least(' ~ hits ~ ' - 0.5, ' ~ n ~ '), least(' ~ expected ~ ', ' ~ n ~ '))' -%}
    {%- set e = 'least(greatest(' ~ expected ~ ', 1e-9), ' ~ n ~ ' - 1e-9)' -%}
    (
        case when {{ o }} > 0 then {{ o }} * ln({{ o }} / {{ e }}) else 0 end
        + case when {{ n }} - {{ o }} > 0 then ({{ n }} - {{ o }}) * ln(({{ n }} - {{ o }}) / ({{ n }} - {{ e }})) else 0 end
    )
{%- endmacro %}

{#
    Signed root of 2 G (binomial_llr), over sqrt(inflation): a z-score whose
    upper tail is the one-sided p-value of "more hits than expected". At large
    counts it equals the classical z of a proportion; `inflation` (>= 1)
    widens it for the sampling error of the expectation or for overdispersion.
#}
{% macro llr_z(hits, trials, expected, inflation=1) -%}
    (
        sign(cast({{ hits }} as double) - ({{ expected }}))
        * sqrt(2 * greatest({{ api_trust.binomial_llr(hits, trials, expected) }}, 0) / ({{ inflation }}))
    )
{%- endmacro %}

{#
    One-sided p-value of "more hits than expected": the Chernoff bound
    exp(-G / inflation), which is never below the exact binomial tail at any
    count. The normal tail of the same G is up to sqrt(4 pi G) times smaller
    and, with 1 expected failure, calls 9 observed "one in a million": with
    tens of thousands of segments tested, that is a false finding.
#}
{% macro llr_p(hits, trials, expected, inflation=1) -%}
    case
        when cast({{ hits }} as double) > ({{ expected }})
            then least(1.0, exp(-greatest({{ api_trust.binomial_llr(hits, trials, expected) }}, 0) / ({{ inflation }})))
        else 1.0
    end
{%- endmacro %}

{#
    Lower bound of lift = hits / expected: the Wilson lower bound of the
    segment's rate over the expected rate, the z widened by sqrt(inflation) for
    the expectation's own uncertainty. The effect-size floor compares it with
    var('rca_min_lift'): a 2% lift on 100M calls is significant, never a finding.
#}
{% macro lift_lower(hits, trials, expected, inflation=1) -%}
    (
        {{ api_trust.wilson_lower(hits, trials, '(1.96 * sqrt(' ~ inflation ~ '))') }}
        * {{ trials }} / nullif({{ expected }}, 0)
    )
{%- endmacro %}

{# Two-sided p-value of a standard normal z (z = 1.96 gives 0.05). #}
{% macro two_sided_p(z) -%}
    case when {{ z }} is not null then least(1.0, greatest(0.0, 2 * (1 - {{ api_trust.normal_cdf('abs(' ~ z ~ ')') }}))) end
{%- endmacro %}

{# One-sided (upper tail) p-value of a standard normal z. #}
{% macro upper_p(z) -%}
    case when {{ z }} is not null then least(1.0, greatest(0.0, 1 - {{ api_trust.normal_cdf(z) }})) end
{%- endmacro %}

{#
    Benjamini-Hochberg q-values, as a select over `relation` (a CTE name):
    every column of it plus `q_value`. Rows whose p-value is null were not
    tested: they get a null q and do not count in m. Ties get the same q
    (the running minimum from the largest p down takes care of it).
    q_(k) = min over j >= k of p_(j) * m / j, capped at 1.
#}
{% macro bh_q_values(relation, p_column='p_value', partition_by=none, q_column='q_value') -%}
    {%- set part = 'partition by ' ~ partition_by if partition_by else '' -%}
    select
        ranked.*,
        case
            when ranked.{{ p_column }} is not null then least(1.0, min(
                ranked.{{ p_column }} * ranked.{{ q_column }}_tests / ranked.{{ q_column }}_rank
            ) over (
                {{ part }}
                order by ranked.{{ q_column }}_rank desc
                rows between unbounded preceding and current row
            ))
        end as {{ q_column }}
    from (
        select
            {{ relation }}.*,
            row_number() over (
                {{ part }} order by case when {{ p_column }} is null then 1 else 0 end, {{ p_column }}
            ) as {{ q_column }}_rank,
            count({{ p_column }}) over ({{ part }}) as {{ q_column }}_tests
        from {{ relation }}
    ) as ranked
{%- endmacro %}

{# Whole hours since 2000-01-01 (a fixed anchor): consecutive hours differ by one. #}
{% macro hour_number(expr) -%}
    cast(floor({{ api_trust.seconds_between("cast('2000-01-01 00:00:00' as timestamp)", expr) }} / 3600.0) as bigint)
{%- endmacro %}
