-- Layout rule LT02 is off here: the linter cannot indent the jinja loops over dimensions.
-- noqa: disable=LT02
{#
    Each version of an API compared with the one before it (doc rca_versions): each version
    of an API against the version first seen before it (versions already live
    when the data begins, first seen on its first day, fall back to label
    order), over the days both ran, stratified by day and every other
    dimension: expected = the previous version's rate in the same day and
    segment, shrunk towards its rate that day (and that towards its rate over
    the overlap) by rca_min_calls pseudo-calls, so sparse strata borrow
    strength. A canary sent to a slow region is compared with the old
    version's calls in that region, not with its average. A cutover (the two
    versions never ran on one day: a service's whole deployment moved at once)
    has no such day: its versions are compared before against after, as one
    period. Two metrics: failures, and the share of successful calls slower
    than the API's usual p95.
#}
{%- set dims = api_trust.rca_dimensions() -%}
{%- set other_dims = dims | reject('in', ['api_name', 'api_version']) | list -%}
{%- set k = var('rca_min_calls') -%}

with

leaves as (
    -- none for logs without versions (macro rca_rows_of_dimension)
    {{ api_trust.rca_rows_of_dimension(ref('int_rca_leaves_counted'), 'api_version', 'api_version is not null') }}
),

versions as (
    select
        api_name,
        api_version,
        min(first_called_at) as first_seen_at,
        sum(records) as records
    from leaves
    group by api_name, api_version
    having sum(records) >= {{ k }}
),

design_effects as (
    -- failures come in retry clusters: variance 2m - 1 times binomial, m = failures per first failure
    select
        api_name,
        greatest(1.0, 2 * (sum(failures) + 1) / (sum(first_attempt_failures) + 1) - 1) as retry_design_effect
    from leaves
    group by api_name
),

data_start as (
    select min(called_on) as first_day from leaves
),

ordered as (
    select
        versions.*,
        versions.first_seen_at >= {{ api_trust.add_hours('cast(data_start.first_day as timestamp)', 24) }}
            as is_released_in_window,
        lag(versions.api_version) over (
            partition by versions.api_name
            order by cast(versions.first_seen_at as date), {{ api_trust.version_sort_key('versions.api_version') }}
        ) as previous_version
    from versions
    cross join data_start
),

pairs as (
    select * from ordered
    where previous_version is not null
),

version_days as (
    select distinct
        api_name,
        api_version,
        called_on
    from leaves
),

concurrent_pairs as (
    -- the pairs whose two versions ran on at least one common day
    select distinct
        pairs.api_name,
        pairs.api_version
    from pairs
    inner join version_days as new_days
        on
            pairs.api_name = new_days.api_name
            and pairs.api_version = new_days.api_version
    inner join version_days as old_days
        on
            pairs.api_name = old_days.api_name
            and pairs.previous_version = old_days.api_version
            and new_days.called_on = old_days.called_on
),

compared_pairs as (
    -- a cutover is compared before against after: its one period is keyed by the release day
    select
        pairs.*,
        concurrent_pairs.api_name is null as is_cutover
    from pairs
    left join concurrent_pairs
        on
            pairs.api_name = concurrent_pairs.api_name
            and pairs.api_version = concurrent_pairs.api_version
),

strata as (
    -- per pair, day (a cutover's one period) and combination of the other dimensions: both
    -- versions' counts
    select
        pairs.api_name,
        pairs.api_version,
        case when pairs.is_cutover then cast(pairs.first_seen_at as date) else leaves.called_on end as called_on,
        {%- for dim in other_dims %}
            leaves.{{ dim }},
        {%- endfor %}
    {%- for side, version in [('new', 'pairs.api_version'), ('old', 'pairs.previous_version')] %}
        sum(case when leaves.api_version = {{ version }} then leaves.records else 0 end) as records_{{ side }},
        sum(case when leaves.api_version = {{ version }} then leaves.calls else 0 end) as calls_{{ side }},
        sum(case when leaves.api_version = {{ version }} then leaves.failures else 0 end) as failures_{{ side }},
        sum(case when leaves.api_version = {{ version }} then leaves.timed_successes else 0 end)
            as timed_{{ side }},
        sum(case when leaves.api_version = {{ version }} then leaves.slow_calls else 0 end) as slow_{{ side }}
        {{- ',' if loop.first }}
    {%- endfor %}
    from compared_pairs as pairs
    inner join leaves
        on
            pairs.api_name = leaves.api_name
            and leaves.api_version in (pairs.api_version, pairs.previous_version)
    group by
        pairs.api_name,
        pairs.api_version,
        case when pairs.is_cutover then cast(pairs.first_seen_at as date) else leaves.called_on end
        {%- for dim in other_dims %}
            ,
            leaves.{{ dim }}
    
        {%- endfor %}
),

days as (
    -- days both versions ran
    select
        *,
        sum(failures_old) over (partition by api_name, api_version) as overlap_failures_old,
        sum(calls_old) over (partition by api_name, api_version) as overlap_calls_old,
        sum(slow_old) over (partition by api_name, api_version) as overlap_slow_old,
        sum(timed_old) over (partition by api_name, api_version) as overlap_timed_old
    from (
        select
            api_name,
            api_version,
            called_on,
            sum(calls_new) as calls_new,
            sum(calls_old) as calls_old,
            sum(failures_old) as failures_old,
            sum(timed_old) as timed_old,
            sum(slow_old) as slow_old
        from strata
        group by api_name, api_version, called_on
        having sum(calls_new) > 0 and sum(calls_old) > 0
    ) as both_ran
),

day_rates as (
    select
        *,
        (failures_old + {{ k }} * (overlap_failures_old + 0.375) / (overlap_calls_old + 0.75)) / (calls_old + {{ k }})
            as failure_rate_old,
        (slow_old + {{ k }} * (overlap_slow_old + 0.375) / (overlap_timed_old + 0.75)) / (timed_old + {{ k }})
            as slow_rate_old
    from days
),

expected as (
    select
        strata.api_name,
        strata.api_version,
        sum(strata.records_new) as records,
        sum(strata.calls_new) as calls,
        sum(strata.failures_new) as failures,
        sum(strata.timed_new) as timed_successes,
        sum(strata.slow_new) as slow_calls,
        sum(strata.calls_old) as old_calls,
        sum(strata.failures_old) as old_failures,
        sum(strata.timed_old) as old_timed_successes,
        sum(strata.slow_old) as old_slow_calls,
        {%- for metric, n, o, rate in [
            ('failures', 'calls', 'failures', 'failure_rate_old'),
            ('slow', 'timed', 'slow', 'slow_rate_old'),
        ] %}
        sum(
            strata.{{ n }}_new * (strata.{{ o }}_old + {{ k }} * day_rates.{{ rate }}) / (strata.{{ n }}_old + {{ k }})
        ) as expected_{{ metric }},
        -- sampling variance of that expectation (binomial, per stratum)
        sum(
            strata.{{ n }}_new * strata.{{ n }}_new
            * ((strata.{{ o }}_old + {{ k }} * day_rates.{{ rate }}) / (strata.{{ n }}_old + {{ k }}))
            * (1 - (strata.{{ o }}_old + {{ k }} * day_rates.{{ rate }}) / (strata.{{ n }}_old + {{ k }}))
            / (strata.{{ n }}_old + {{ k }})
        ) as expected_{{ metric }}_variance{{ ',' if loop.first }}
    
    
    {%- endfor %}
    from strata
    inner join day_rates
        on
            strata.api_name = day_rates.api_name
            and strata.api_version = day_rates.api_version
            and strata.called_on = day_rates.called_on
    group by strata.api_name, strata.api_version
),

tests as (
    {%- for metric, n, o, e in [
        ('failure_rate', 'calls', 'failures', 'failures'),
        ('slow_call_share', 'timed_successes', 'slow_calls', 'slow'),
    ] %}
        select
            expected.api_name,
            expected.api_version,
            pair.previous_version,
            pair.first_seen_at,
            pair.is_released_in_window,
            pair.is_cutover,
            '{{ metric }}' as metric,
            expected.records,
            expected.records / expected.calls as scale,
            expected.{{ n }} as trials,
            expected.{{ o }} as observed,
            expected.expected_{{ e }} as expected,
            -- 1 + Var(expected) / Var(observed): the old version's own sampling error, at least
            -- that of its pooled rate (shrunk strata share it, so their variances do not just add);
            -- failures: times the retry design effect (both sides count clustered failures)
            (1 + greatest(
                expected.expected_{{ e }}_variance,
                expected.{{ n }} * expected.{{ n }} * (expected.old_{{ o }} + 0.375) / (expected.old_{{ n }} + 0.75)
                * (1 - (expected.old_{{ o }} + 0.375) / (expected.old_{{ n }} + 0.75)) / expected.old_{{ n }}
            ) / nullif(expected.expected_{{ e }} * (1 - expected.expected_{{ e }} / expected.{{ n }}), 0))
            {%- if metric == 'failure_rate' %} * design_effects.retry_design_effect{% endif %} as inflation
        from expected
        inner join compared_pairs as pair
            on
                expected.api_name = pair.api_name
                and expected.api_version = pair.api_version
        inner join design_effects
            on expected.api_name = design_effects.api_name
        where expected.{{ n }} > 0 and expected.expected_{{ e }} > 0
        {%- if loop.first %}
            union all
        {%- endif %}
    {%- endfor %}
),

scored as (
    select
        *,
        {{ api_trust.llr_z('observed * scale', 'trials * scale', 'expected * scale', 'coalesce(inflation, 1)') }}
            as z_score,
        {{ api_trust.lift_lower('observed * scale', 'trials * scale', 'expected * scale', 'coalesce(inflation, 1)') }}
            as lift_lower
    from tests
),

final as (
    select
        -- strings
        api_name,
        api_version,
        previous_version,
        metric,

        -- numbers
        cast(records as bigint) as records,
        cast(trials as double) as trials,
        cast(observed as double) as observed,
        cast(expected as double) as expected,
        cast(coalesce(inflation, 1) as double) as inflation,
        cast({{ api_trust.safe_rate('observed', 'expected') }} as double) as lift,
        cast(coalesce(lift_lower, 0) as double) as lift_lower,
        z_score,
        cast({{ api_trust.llr_p(
            'observed * scale', 'trials * scale', 'expected * scale', 'coalesce(inflation, 1)'
        ) }} as double) as p_value,

        -- booleans
        is_released_in_window,
        is_cutover,

        -- timestamps
        first_seen_at
    from scored
)

select * from final
