-- Layout rule LT02 is off here: the linter cannot indent the jinja loops over dimensions.
-- noqa: disable=LT02
{#
    The leaf cube: the one pass over the API calls that every root-cause
    statistic is summed from (doc rca_method). One row per day, combination of
    every analysis dimension (api_name, vars.analysis_dimensions core and
    extra) and error reason, with weighted calls, failures, successful calls
    with a latency, and slow calls: successful calls slower than the API's
    usual p95 (the exact p95 of its successful calls, agg_latency_by_api).
    Missing and `unknown` values are null here: they say what a log lacks,
    never where calls fail. The day's own counts come from the day-incremental
    int_rca_day_leaves_counted; the slow calls, which depend on the whole
    history's p95, from int_rca_slow_leaves_counted: a slow call is a
    successful one, so it joins its day leaf without an error reason.
#}
{%- set dims = api_trust.rca_dimensions() -%}

with

day_leaves as (
    select * from {{ ref('int_rca_day_leaves_counted') }}
),

slow_leaves as (
    select * from {{ ref('int_rca_slow_leaves_counted') }}
),

final as (
    select
        -- strings
        {%- for dim in dims %}
            day_leaves.{{ dim }},
        {%- endfor %}
        day_leaves.error_reason,
        day_leaves.failure_class,

        -- numbers
        day_leaves.records,
        day_leaves.calls,
        day_leaves.failures,
        day_leaves.first_attempt_failures,
        day_leaves.timed_successes,
        cast(coalesce(slow_leaves.slow_calls, 0) as double) as slow_calls,

        -- timestamps
        day_leaves.called_on,
        day_leaves.first_called_at,
        day_leaves.last_called_at
    from day_leaves
    left join slow_leaves
        on
            day_leaves.error_reason is null
            and day_leaves.failure_class is null
            and day_leaves.called_on = slow_leaves.called_on
            {%- for dim in dims %}
                and day_leaves.{{ dim }} is not distinct from slow_leaves.{{ dim }}
            {%- endfor %}
)

select * from final
