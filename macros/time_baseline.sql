{# The API-hours each seasonal baseline reads, for both passes: `hours` (every counted
   API-hour), `failure_hours` (hours with calls) and `traffic_hours` (hours whose API is busy
   enough for a traffic test). #}
{% macro seasonal_baseline_hours_ctes() -%}
hours as (
    select * from {{ ref('int_rca_api_hours_counted') }}
),

failure_hours as (
    select * from hours
    where calls > 0
),

traffic_hours as (
    select * from hours
    where is_traffic_tested
)
{%- endmacro %}

{#
    One pass of the seasonal baseline (doc rca_time_baseline), as CTEs named
    `<prefix>_...` to paste into a model's `with`. `source` is a CTE with
    api_name, hour_at, day_at, hour_of_day, seasonal_slot, the count
    `observed`, its `exposure` (calls for a failure rate, 1 for traffic per
    hour) and `is_excluded` (hours left out of every baseline sum: the
    previous pass's flags). The last CTE, `<prefix>_scored`, has one row per
    source row with:
      expected           what the hour should have seen: exposure x the API's
                         rate (leave-this-day-out) x the platform's seasonal
                         factor (the other APIs, shrunk) x the API's own
                         hour-of-day factor (leave-this-hour-out, shrunk)
      expected_flat      the same without the API's hour-of-day factor
      rate_rel_var       relative variance of the API's rate estimate
      baseline_rel_var   relative variance of `expected` (rate and profile)
      day_dispersion     the API's day-to-day extra variance (leave-this-day-out,
                         shrunk to the pool): the relative variance of its days
      hour_dispersion    the same from its hours: the relative variance of an
                         hour, which bursts within a day raise and day sums
                         average away (bursty arrivals, retries)
      dispersion         phi = 1 + expected x (the larger of the two + baseline_rel_var):
                         variance / mean of the hour's count under no incident
      p_upper, p_lower   one-sided p of `observed` against `expected` (phi-scaled)
      p_day_upper, ...   the same for the hour's day as one count, over the hours
                         not flagged on their own at `flag_p` (a slow burn)
#}
{% macro seasonal_baseline_ctes(prefix, source, observed, exposure, is_excluded, flag_p) -%}
{{ prefix }}_own as (
    select
        api_name,
        hour_at,
        day_at,
        hour_of_day,
        seasonal_slot,
        cast({{ observed }} as double) as observed,
        cast({{ exposure }} as double) as exposure,
        {{ is_excluded }} as is_excluded,
        -- what the hour puts into the sums it is then left out of
        case when {{ is_excluded }} then 0.0 else cast({{ observed }} as double) end as own_observed,
        case when {{ is_excluded }} then 0.0 else cast({{ exposure }} as double) end as own_exposure
    from {{ source }}
),

{{ prefix }}_day_totals as (
    select
        api_name,
        day_at,
        sum(own_observed) as day_own_observed,
        sum(own_exposure) as day_own_exposure
    from {{ prefix }}_own
    group by api_name, day_at
),

{{ prefix }}_own_days as (
    select
        own.*,
        day_totals.day_own_observed,
        day_totals.day_own_exposure
    from {{ prefix }}_own as own
    inner join {{ prefix }}_day_totals as day_totals
        on
            own.api_name = day_totals.api_name
            and own.day_at = day_totals.day_at
),

{{ prefix }}_api as (
    select
        api_name,
        sum(own_observed) as api_observed,
        sum(own_exposure) as api_exposure
    from {{ prefix }}_own
    group by api_name
),

{{ prefix }}_rated as (
    select
        own.*,
        -- leave-this-day-out, so a day's own level never sets its own expectation;
        -- Jeffreys-style half counts: no API is certain never to fail
        own.exposure * (api.api_observed - own.day_own_observed + 0.5)
        / (api.api_exposure - own.day_own_exposure + 1) as expected_rate_only,
        case when own.is_excluded then 0.0 else
            own.exposure * (api.api_observed + 0.5) / (api.api_exposure + 1)
        end as own_expected_rate_only,
        1 / (api.api_observed - own.day_own_observed + 0.5) as rate_rel_var
    from {{ prefix }}_own_days as own
    inner join {{ prefix }}_api as api
        on own.api_name = api.api_name
),

{{ prefix }}_api_slots as (
    select
        api_name,
        seasonal_slot,
        sum(own_observed) as slot_observed,
        sum(own_expected_rate_only) as slot_expected
    from {{ prefix }}_rated
    group by api_name, seasonal_slot
),

{{ prefix }}_slots as (
    select
        seasonal_slot,
        sum(slot_observed) as slot_observed,
        sum(slot_expected) as slot_expected
    from {{ prefix }}_api_slots
    group by seasonal_slot
),

{{ prefix }}_slot_spread as (
    select {{ api_trust.extra_poisson_variance('slot_observed', 'slot_expected') }} as tau2
    from {{ prefix }}_slots
),

{{ prefix }}_profiled as (
    select
        rated.*,
        -- the platform's seasonal factor, from the other APIs: one API's own bump is its own
        rated.expected_rate_only * {{ api_trust.shrunk_ratio(
            'slots.slot_observed - api_slots.slot_observed',
            'slots.slot_expected - api_slots.slot_expected',
            'slot_spread.tau2'
        ) }} as expected_flat,
        rated.own_expected_rate_only * {{ api_trust.shrunk_ratio(
            'slots.slot_observed - api_slots.slot_observed',
            'slots.slot_expected - api_slots.slot_expected',
            'slot_spread.tau2'
        ) }} as own_expected_flat
    from {{ prefix }}_rated as rated
    inner join {{ prefix }}_api_slots as api_slots
        on
            rated.api_name = api_slots.api_name
            and rated.seasonal_slot = api_slots.seasonal_slot
    inner join {{ prefix }}_slots as slots
        on rated.seasonal_slot = slots.seasonal_slot
    cross join {{ prefix }}_slot_spread as slot_spread
),

{{ prefix }}_api_hours as (
    select
        api_name,
        hour_of_day,
        sum(own_observed) as hour_observed,
        sum(own_expected_flat) as hour_expected
    from {{ prefix }}_profiled
    group by api_name, hour_of_day
),

{{ prefix }}_hour_spread as (
    select {{ api_trust.extra_poisson_variance('hour_observed', 'hour_expected') }} as tau2
    from {{ prefix }}_api_hours
),

{{ prefix }}_expected as (
    select
        profiled.*,
        profiled.expected_flat * {{ api_trust.shrunk_ratio(
            'api_hours.hour_observed - profiled.own_observed',
            'api_hours.hour_expected - profiled.own_expected_flat',
            'hour_spread.tau2'
        ) }} as expected,
        profiled.rate_rel_var
        + hour_spread.tau2 / (hour_spread.tau2 * (api_hours.hour_observed - profiled.own_observed) + 1)
            as baseline_rel_var
    from {{ prefix }}_profiled as profiled
    inner join {{ prefix }}_api_hours as api_hours
        on
            profiled.api_name = api_hours.api_name
            and profiled.hour_of_day = api_hours.hour_of_day
    cross join {{ prefix }}_hour_spread as hour_spread
),

{{ prefix }}_days as (
    select
        api_name,
        day_at,
        sum(observed) as day_observed,
        sum(expected) as day_expected,
        {{ api_trust.safe_rate('sum(baseline_rel_var * expected)', 'sum(expected)') }} as day_rel_var,
        -- each hour's variation beyond chance and the baseline's own uncertainty
        sum(power(observed - expected, 2) - expected - baseline_rel_var * power(expected, 2))
            as hour_excess_square,
        sum(power(expected, 2)) as hour_expected_square
    from {{ prefix }}_expected
    where not is_excluded
    group by api_name, day_at
),

-- day-to-day variation beyond chance and beyond the baseline's own uncertainty, per API-day
{{ prefix }}_day_terms as (
    select
        api_name,
        day_at,
        power(day_observed - day_expected, 2) - day_expected
        - coalesce(day_rel_var, 0) * power(day_expected, 2) as excess_square,
        power(day_expected, 2) as expected_square,
        hour_excess_square,
        hour_expected_square
    from {{ prefix }}_days
),

{{ prefix }}_api_dispersion as (
    select
        api_name,
        sum(excess_square) as excess_square,
        sum(expected_square) as expected_square,
        sum(hour_excess_square) as hour_excess_square,
        sum(hour_expected_square) as hour_expected_square
    from {{ prefix }}_day_terms
    group by api_name
),

{{ prefix }}_pooled_dispersion as (
    select
        sum(excess_square) as excess_square,
        sum(expected_square) as expected_square,
        -- an average API's worth of evidence: a small API borrows the pool's dispersion
        sum(expected_square) / nullif(count(*), 0) as prior_weight,
        sum(hour_excess_square) as hour_excess_square,
        sum(hour_expected_square) as hour_expected_square,
        sum(hour_expected_square) / nullif(count(*), 0) as hour_prior_weight
    from {{ prefix }}_api_dispersion
),

-- leave-this-day-out: an outage day does not widen its own allowance
{{ prefix }}_dispersed as (
    select
        expected.*,
        {{ api_trust.shrunk_dispersion('excess_square', 'expected_square', 'prior_weight') }}
            as day_dispersion,
        {{ api_trust.shrunk_dispersion('hour_excess_square', 'hour_expected_square', 'hour_prior_weight') }}
            as hour_dispersion
    from {{ prefix }}_expected as expected
    left join {{ prefix }}_api_dispersion as api_dispersion
        on expected.api_name = api_dispersion.api_name
    left join {{ prefix }}_day_terms as day_terms
        on
            expected.api_name = day_terms.api_name
            and expected.day_at = day_terms.day_at
    cross join {{ prefix }}_pooled_dispersion as pooled
),

{{ prefix }}_phi as (
    select
        *,
        1 + expected * (greatest(day_dispersion, hour_dispersion) + baseline_rel_var) as dispersion
    from {{ prefix }}_dispersed
),

{{ prefix }}_effective as (
    select
        *,
        -- quasi-Poisson: counts in units of their own variance-to-mean ratio
        observed / dispersion as effective_observed,
        expected / dispersion as effective_expected
    from {{ prefix }}_phi
),

{{ prefix }}_deviates as (
    select
        *,
        case when effective_observed > 0 and effective_expected > 0 then
            {{ api_trust.poisson_upper_z('effective_observed', 'effective_expected') }}
        end as upper_z,
        case when effective_expected > 0 then
            {{ api_trust.poisson_lower_z('effective_observed', 'effective_expected') }}
        end as lower_z
    from {{ prefix }}_effective
),

{{ prefix }}_hours_scored as (
    select
        api_name,
        hour_at,
        day_at,
        observed,
        expected,
        expected_flat,
        rate_rel_var,
        baseline_rel_var,
        day_dispersion,
        hour_dispersion,
        dispersion,
        {{ api_trust.poisson_upper_p('effective_observed', 'effective_expected', 'upper_z') }} as p_upper,
        {{ api_trust.poisson_lower_p('effective_observed', 'effective_expected', 'lower_z') }} as p_lower
    from {{ prefix }}_deviates
),

-- a slow burn no single hour shows: the rest of the day (hours not flagged on their own) as one count
{{ prefix }}_days_tested as (
    select
        api_name,
        day_at,
        max(day_dispersion) as day_dispersion,
        sum(case when p_upper > {{ flag_p }} then observed else 0 end) as upper_observed,
        sum(case when p_upper > {{ flag_p }} then expected else 0 end) as upper_expected,
        sum(case when p_upper > {{ flag_p }} then baseline_rel_var * expected else 0 end) as upper_rel_var_expected,
        sum(case when p_lower > {{ flag_p }} then observed else 0 end) as lower_observed,
        sum(case when p_lower > {{ flag_p }} then expected else 0 end) as lower_expected,
        sum(case when p_lower > {{ flag_p }} then baseline_rel_var * expected else 0 end) as lower_rel_var_expected
    from {{ prefix }}_hours_scored
    group by api_name, day_at
),

{{ prefix }}_days_dispersed as (
    select
        *,
        1 + upper_expected * day_dispersion + upper_rel_var_expected as upper_dispersion,
        1 + lower_expected * day_dispersion + lower_rel_var_expected as lower_dispersion
    from {{ prefix }}_days_tested
),

{{ prefix }}_days_effective as (
    select
        *,
        upper_observed / upper_dispersion as upper_effective_observed,
        upper_expected / upper_dispersion as upper_effective_expected,
        lower_observed / lower_dispersion as lower_effective_observed,
        lower_expected / lower_dispersion as lower_effective_expected
    from {{ prefix }}_days_dispersed
),

{{ prefix }}_days_deviates as (
    select
        *,
        case when upper_effective_observed > 0 and upper_effective_expected > 0 then
            {{ api_trust.poisson_upper_z('upper_effective_observed', 'upper_effective_expected') }}
        end as upper_z,
        case when lower_effective_expected > 0 then
            {{ api_trust.poisson_lower_z('lower_effective_observed', 'lower_effective_expected') }}
        end as lower_z
    from {{ prefix }}_days_effective
),

{{ prefix }}_scored as (
    select
        hours.*,
        {{ api_trust.poisson_upper_p(
            'days.upper_effective_observed', 'days.upper_effective_expected', 'days.upper_z'
        ) }} as p_day_upper,
        {{ api_trust.poisson_lower_p(
            'days.lower_effective_observed', 'days.lower_effective_expected', 'days.lower_z'
        ) }} as p_day_lower
    from {{ prefix }}_hours_scored as hours
    inner join {{ prefix }}_days_deviates as days
        on
            hours.api_name = days.api_name
            and hours.day_at = days.day_at
)
{%- endmacro %}


{#
    An API's extra variance (relative to the expected count squared) from its terms
    `excess` (observed variance beyond chance and the baseline's) and `square` (expected
    squared), summed over its days but this one (leave-this-day-out: an outage day does not
    widen its own allowance), shrunk to the pool by `prior` (an average API's worth of
    evidence). Reads `api_dispersion`, `day_terms` and `pooled` as seasonal_baseline_ctes
    joins them; the same estimator for a day's count and for an hour's.
#}
{% macro shrunk_dispersion(excess, square, prior) -%}
greatest(0.0, coalesce(
    (
        api_dispersion.{{ excess }} - coalesce(day_terms.{{ excess }}, 0)
        + pooled.{{ prior }} * greatest(0.0, coalesce(
            (pooled.{{ excess }} - coalesce(day_terms.{{ excess }}, 0))
            / nullif(pooled.{{ square }} - coalesce(day_terms.{{ square }}, 0), 0),
            0.0
        ))
    )
    / nullif(api_dispersion.{{ square }} - coalesce(day_terms.{{ square }}, 0) + pooled.{{ prior }}, 0),
    0.0
))
{%- endmacro %}

{#
    Variance / mean of a window of an API's hours under no incident (int_rca_time_windows_tested):
    chance; the day-to-day level, shared by the hours of a day (so it grows with the window up
    to a day's expected count); bursts within a day, independent from hour to hour (the
    hours' burst_variance summed); and the baseline's own error. `totals` holds the window's
    expected, dispersion_expected, burst_variance and rel_var_expected sums; `sizes` its
    series' day_expected.
#}
{% macro window_dispersion(totals, sizes) -%}
1 + {{ api_trust.safe_rate(totals ~ '.dispersion_expected', totals ~ '.expected') }}
* least({{ totals }}.expected, {{ sizes }}.day_expected)
+ {{ api_trust.safe_rate(totals ~ '.burst_variance', totals ~ '.expected') }}
+ {{ totals }}.rel_var_expected
{%- endmacro %}
