-- depends_on: {{ ref('int_rca_leaves_summed') }}
-- Layout rule LT02 is off here: the linter cannot indent the jinja loops over dimensions.
-- noqa: disable=LT02
{#
    Incidents of a segment across APIs (doc rca_method): a carrier failing
    Telecom users in Rural areas on every API for a few days is too thin on any
    one API for the hourly detector and too short to move the whole window.
    Every segment of 1 to rca_max_depth - 1 dimensions other than the API
    (and than dimensions with more than 50 values, or one), and the API or a
    many-valued dimension alone, gets its daily
    failures and slow calls against what a main-effects model predicts for
    its calls that day (each API's rate times one factor per dimension value,
    so a segment whose mix drifts towards values that always fail more is not
    an incident); the contiguous run of days (at most
    half its days) whose lift most exceeds the segment's own lift on the other
    days (with a 3/8 pseudo-count, so that a run holding all of the segment's
    bad calls still has a baseline) is tested: likelihood ratio, overdispersion estimated from the days
    themselves, Bonferroni over the runs tried. Structure that never changes
    (a region that always fails more) cancels: each segment is its own baseline.
    A run must still stand out (rca_min_lift) when each API's expectation is its
    rate that very day: a segment that mostly calls an API having a bad day
    everywhere is that API's bad day.
#}
{%- set dims = api_trust.rca_dimensions() -%}
{%- set scoped = var('rca_api_scoped_dimensions', []) -%}
{%- set ns = namespace(heavy=[], singles=[]) -%}
{%- if execute and model.resource_type == 'model' -%}
    {%- set summed = load_relation(ref('int_rca_leaves_summed')) -%}
    {%- if summed is not none -%}
        {%- set distinct_counts = [] -%}
        {%- for dim in dims -%}{%- do distinct_counts.append('count(distinct ' ~ dim ~ ')') -%}{%- endfor -%}
        {%- set row = run_query('select ' ~ distinct_counts | join(', ') ~ ' from ' ~ summed).rows[0] -%}
        {%- for dim in dims -%}
            {#- too many values to scan every day, or one value only (nothing to compare) -#}
            {%- if row[loop.index0] > 50 or row[loop.index0] < 2 -%}{%- do ns.heavy.append(dim) -%}{%- endif -%}
            {%- if row[loop.index0] > 50 and dim not in scoped -%}{%- do ns.singles.append(dim) -%}{%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endif -%}
{%- set scan_dims = dims | reject('in', ['api_name'] + scoped + ns.heavy) | list -%}
{#-
    The API alone, and each many-valued dimension alone (a client), are scanned too:
    a bad deploy on a small API for a few days, or one client's broken key for a week,
    is too thin per hour for the hourly detector. Never in combinations (too many).
-#}
{%- set single_dims = dims | select('in', ['api_name'] + ns.singles) | list -%}
{%- set all_dims = dims | select('in', scan_dims + single_dims) | list -%}
{%- set sets = api_trust.rca_combinations(scan_dims, var('rca_max_depth', 3) - 1) -%}
{%- for dim in single_dims -%}{%- do sets.append([dim]) -%}{%- endfor -%}

with

leaves as (
    select * from {{ ref('int_rca_leaves_counted') }}
),

api_rates as (
    select
        api_name,
        (sum(failures) + 0.375) / (sum(calls) + 0.75) as failure_rate,
        (sum(slow_calls) + 0.375) / (sum(timed_successes) + 0.75) as slow_rate
    from leaves
    group by api_name
),

api_day_rates as (
    -- each API's own rate that day (the check in `final`)
    select
        api_name,
        called_on,
        (sum(failures) + 0.375) / (sum(calls) + 0.75) as failure_rate,
        (sum(slow_calls) + 0.375) / (sum(timed_successes) + 0.75) as slow_rate
    from leaves
    group by api_name, called_on
),

summed as (
    select * from {{ ref('int_rca_leaves_summed') }}
),
{%- for dim in scan_dims %}

factors_{{ loop.index }} as (
    -- the main effect of each {{ dim }} over the window (one proportional-fitting sweep): a
    -- segment whose mix drifts towards values that always fail more is not an incident
    select
        {{ dim }} as dimension_value,
        (sum(failures) + 0.375) / (sum(base_failures) + 0.375) as failure_factor,
        (sum(slow_calls) + 0.375) / (sum(base_slow_calls) + 0.375) as slow_factor
    from summed
    where {{ dim }} is not null
    group by {{ dim }}
),
{%- endfor %}

day_leaves as (
    select
        leaves.called_on,
        {%- for dim in all_dims %}
            leaves.{{ dim }},
        {%- endfor %}
        sum(leaves.records) as records,
        sum(leaves.calls) as calls,
        sum(leaves.failures) as failures,
        sum(
            leaves.calls * api_rates.failure_rate
            {%- for dim in scan_dims %}
                * coalesce(factors_{{ loop.index }}.failure_factor, 1)
            {%- endfor %}
        ) as expected_failures,
        sum(
            leaves.calls * api_day_rates.failure_rate
            {%- for dim in scan_dims %}
                * coalesce(factors_{{ loop.index }}.failure_factor, 1)
            {%- endfor %}
        ) as expected_failures_that_day,
        sum(leaves.timed_successes) as timed_successes,
        sum(leaves.slow_calls) as slow_calls,
        sum(
            leaves.timed_successes * api_rates.slow_rate
            {%- for dim in scan_dims %}
                * coalesce(factors_{{ loop.index }}.slow_factor, 1)
            {%- endfor %}
        ) as expected_slow_calls,
        sum(
            leaves.timed_successes * api_day_rates.slow_rate
            {%- for dim in scan_dims %}
                * coalesce(factors_{{ loop.index }}.slow_factor, 1)
            {%- endfor %}
        ) as expected_slow_calls_that_day
    from leaves
    inner join api_rates
        on leaves.api_name = api_rates.api_name
    inner join api_day_rates
        on
            leaves.api_name = api_day_rates.api_name
            and leaves.called_on = api_day_rates.called_on
    {%- for dim in scan_dims %}
        left join factors_{{ loop.index }}
            on leaves.{{ dim }} = factors_{{ loop.index }}.dimension_value
    {%- endfor %}
    -- one set of the dimensions scanned together and one per dimension scanned alone, not
    -- every dimension at once: each segment below is the sum of one set's rows (a segment
    -- names no dimension of another set, whose rows have it null), and the sets hold far
    -- fewer rows than the day's leaves (2.2M groups of 3.3M leaves at 10M calls)
    group by grouping sets (  -- noqa: PRS, RF02
        {%- set leaf_sets = ([scan_dims] if scan_dims else []) %}
        {%- for dim in single_dims %}{%- do leaf_sets.append([dim]) %}{%- endfor %}
        {%- for combo in leaf_sets or [[]] %}
            (leaves.called_on{% for dim in combo %}, leaves.{{ dim }}{% endfor %}){{ ',' if not loop.last }}
        {%- endfor %}
    )
),

daily as (
    select
        called_on,
        {%- for dim in all_dims %}
            {{ dim }},
            grouping({{ dim }}) as is_any_{{ dim }},
        {%- endfor %}
        sum(records) as records,
        sum(calls) as calls,
        sum(failures) as failures,
        sum(expected_failures) as expected_failures,
        sum(timed_successes) as timed_successes,
        sum(slow_calls) as slow_calls,
        sum(expected_slow_calls) as expected_slow_calls,
        sum(expected_failures_that_day) as expected_failures_that_day,
        sum(expected_slow_calls_that_day) as expected_slow_calls_that_day
    from day_leaves
    group by grouping sets (  -- noqa: PRS
        {%- for combo in sets %}
            ({{ (['called_on'] + combo) | join(', ') }}){{ ',' if not loop.last }}
        {%- endfor %}
        {%- if not sets %}
            (called_on)
        {%- endif %}
    )
),

series as (
    {%- for metric, trials, observed, expected in [
        ('failure_rate', 'calls', 'failures', 'expected_failures'),
        ('slow_call_share', 'timed_successes', 'slow_calls', 'expected_slow_calls'),
    ] %}
        select
            '{{ metric }}' as metric,
            {{ api_trust.rca_segment('daily', all_dims) }} as segment,
            {{ 'daily.api_name' if 'api_name' in all_dims else 'cast(null as string)' }} as api_name,
            daily.called_on,
            daily.records,
            daily.{{ trials }} as calls,  -- noqa: AL09
            daily.{{ observed }} as observed,
            daily.{{ expected }} as expected,
            daily.{{ expected }}_that_day as expected_that_day,
            daily.is_any_api_name = 0 as is_api_alone
        from daily
        where
            {#- no dimension worth scanning (one value each, or too many): no segment to test #}
            {{ 'false and' if not all_dims }}
            {%- for dim in all_dims %}
                (daily.is_any_{{ dim }} = 1 or daily.{{ dim }} is not null) and
            {%- endfor %}
            daily.{{ expected }} > 0
        {%- if loop.first %}
            union all
        {%- endif %}
    {%- endfor %}
),

numbered as (
    select
        *,
        row_number() over (partition by metric, segment order by called_on) as day_no,
        count(*) over (partition by metric, segment) as days,  -- noqa: RF04
        sum(observed) over (partition by metric, segment) as total_observed,
        sum(expected) over (partition by metric, segment) as total_expected,
        sum(expected_that_day) over (partition by metric, segment) as total_expected_that_day,
        sum(records) over (partition by metric, segment) as total_records,
        sum(observed) over running as observed_to,
        sum(expected) over running as expected_to,
        sum(expected_that_day) over running as expected_that_day_to,
        sum(records) over running as records_to,
        sum(calls) over running as calls_to
    from series
    window running as (partition by metric, segment order by called_on rows between unbounded preceding and current row)
),

runs as (
    -- every run of consecutive days with calls, at most half the segment's days
    select
        first_day.metric,
        first_day.segment,
        first_day.api_name,
        first_day.called_on as first_called_on,
        last_day.called_on as last_called_on,
        first_day.days,
        last_day.day_no - first_day.day_no + 1 as run_days,
        last_day.observed_to - first_day.observed_to + first_day.observed as observed_in,
        last_day.expected_to - first_day.expected_to + first_day.expected as expected_in,
        last_day.expected_that_day_to - first_day.expected_that_day_to + first_day.expected_that_day
            as expected_that_day_in,
        first_day.total_expected_that_day,
        first_day.is_api_alone,
        last_day.records_to - first_day.records_to + first_day.records as records_in,
        last_day.calls_to - first_day.calls_to + first_day.calls as calls_in,
        first_day.total_observed,
        first_day.total_expected,
        first_day.total_records
    from numbered as first_day
    inner join numbered as last_day
        on
            first_day.metric = last_day.metric
            and first_day.segment = last_day.segment
            and first_day.day_no <= last_day.day_no
            and 2 * (last_day.day_no - first_day.day_no + 1) <= first_day.days
    where first_day.total_records >= {{ var('rca_min_calls') }} and first_day.days >= 4
),

scored as (
    select
        *,
        observed_in / expected_in as lift_in,
        (total_observed - observed_in) / (total_expected - expected_in) as lift_out,
        case when observed_in * (total_expected - expected_in) > (total_observed - observed_in) * expected_in
            then
                observed_in * ln(observed_in * total_expected / (expected_in * total_observed))
                + case when total_observed > observed_in
                    then (total_observed - observed_in)
                    * ln((total_observed - observed_in) * total_expected
                        / ((total_expected - expected_in) * total_observed))
                    else 0 end
            else 0
        end as llr,
        count(*) over (partition by metric, segment) as runs_tried
    from runs
    where total_observed > 0
),

best as (
    select *
    from (
        select
            *,
            row_number() over (
                partition by metric, segment order by llr desc, first_called_on asc, last_called_on asc
            ) as run_rank
        from scored
    ) as ranked
    where run_rank = 1
),

dispersion as (
    -- Pearson chi-square of the days around "lift_in inside the run, lift_out outside", per degree of freedom
    select
        best.metric,
        best.segment,
        greatest(1.0, sum(
            power(numbered.observed - numbered.expected * case
                when numbered.called_on between best.first_called_on and best.last_called_on then best.lift_in
                else best.lift_out
            end, 2)
            / greatest(numbered.expected * case
                when numbered.called_on between best.first_called_on and best.last_called_on then best.lift_in
                else best.lift_out
            end, 0.5)
        ) / greatest(min(best.days) - 2, 1)) as dispersion
    from best
    inner join numbered
        on
            best.metric = numbered.metric
            and best.segment = numbered.segment
    group by best.metric, best.segment
),

tested as (
    select
        best.*,
        dispersion.dispersion,
        -- the segment's own lift on the other days, with the 3/8 pseudo-count used for every
        -- rate here: a run that holds all of its bad calls (a release slower from its first
        -- day, a failure never seen before) had a lift of 0 outside, so no expectation, no
        -- lift and no lower bound, and failed the effect floor however clear it was
        (best.total_observed - best.observed_in + 0.375) / (best.total_expected - best.expected_in + 0.375)
            as usual_lift,
        -- the run's own expectation carries the outside days' error too
        dispersion.dispersion * (1 + best.expected_in / nullif(best.total_expected - best.expected_in, 0))
            as inflation,
        least(1.0, best.runs_tried * {{ api_trust.two_sided_p(
            'sqrt(2 * greatest(best.llr, 0) / dispersion.dispersion)'
        ) }}) as p_value
    from best
    inner join dispersion
        on
            best.metric = dispersion.metric
            and best.segment = dispersion.segment
),

rated as (
    select
        *,
        expected_in * usual_lift as expected_run
    from tested
),

final as (
    select
        'incident' as finding_type,
        api_name,
        segment,
        cast(first_called_on as timestamp) as started_at,
        {{ api_trust.add_hours('cast(last_called_on as timestamp)', 24) }} as ended_at,
        metric,
        cast(calls_in as double) as calls,
        cast(observed_in as double) as observed,
        cast(expected_run as double) as expected,
        cast(case when metric = 'failure_rate' then observed_in - expected_run else 0 end as double)
            as excess_failures,
        cast(case when metric = 'slow_call_share' then observed_in - expected_run else 0 end as double)
            as excess_slow_calls,
        cast({{ api_trust.safe_rate('lift_in', 'usual_lift') }} as double) as lift,
        cast(coalesce({{ api_trust.lift_lower(
            'observed_in * records_in / calls_in', 'records_in', 'expected_run * records_in / calls_in', 'inflation'
        ) }}, 0) as double) as lift_lower,
        cast(p_value as double) as p_value,
        cast(null as string) as error_reason,
        cast(null as string) as failure_class,
        case when p_value <= {{ var('rca_fdr_q') }} then
            case metric
                when 'failure_rate' then 'Calls with ' || segment || ' failed '
                else 'Successful calls with ' || segment || ' were slower than the usual p95 of their API '
            end
            || {{ api_trust.fmt_pct('observed_in / calls_in') }}
            || ' of ' || {{ api_trust.fmt_int('calls_in') }} || ' from ' || cast(first_called_on as string)
            || ' to ' || cast(last_called_on as string) || ', ' || {{ api_trust.fmt_x('lift_in / usual_lift') }}
            || ' their usual rate on the other days'
            -- a segment of dimensions other than the API is measured on every API; an API alone is not
            || case when api_name is null then ' across every API' else '' end || ': '
            || {{ api_trust.fmt_int('observed_in - expected_run') }}
            || case metric when 'failure_rate' then ' excess failures.' else ' excess slow calls.' end
        end as evidence
    from rated
    -- a run that no longer stands out once each API's own day is accounted for (the APIs the
    -- segment mostly calls had a bad day everywhere) is theirs, not the segment's: an API
    -- alone has its own candidate
    where
        is_api_alone
        or observed_in * (total_expected_that_day - expected_that_day_in)
        >= {{ var('rca_min_lift') }} * (total_observed - observed_in) * expected_that_day_in
)

select * from final
