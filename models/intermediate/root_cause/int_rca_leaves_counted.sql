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
    successful one, so it is summed into its day leaf without an error reason.
#}
{%- set dims = api_trust.rca_dimensions() -%}

with

day_leaves as (
    select * from {{ ref('int_rca_day_leaves_counted') }}
),

slow_leaves as (
    select * from {{ ref('int_rca_slow_leaves_counted') }}
),

stacked as (
    -- a slow call is a successful one: its leaf is the day leaf without an error
    -- reason, so summing the two by every key joins them (a join on a dozen nullable
    -- keys took DuckDB minutes at 3M leaves; this takes about a second)
    select
        {%- for dim in dims %}
            {{ dim }},
        {%- endfor %}
        error_reason,
        failure_class,
        called_on,
        records,
        calls,
        failures,
        first_attempt_failures,
        timed_successes,
        cast(0 as double) as slow_calls,
        first_called_at,
        last_called_at
    from day_leaves
    union all
    select
        {%- for dim in dims %}
            {{ dim }},
        {%- endfor %}
        cast(null as string) as error_reason,
        cast(null as string) as failure_class,
        called_on,
        cast(0 as bigint) as records,
        cast(0 as double) as calls,
        cast(0 as double) as failures,
        cast(0 as double) as first_attempt_failures,
        cast(0 as double) as timed_successes,
        slow_calls,
        cast(null as timestamp) as first_called_at,
        cast(null as timestamp) as last_called_at
    from slow_leaves
),

final as (
    select
        -- strings
        {%- for dim in dims %}
            {{ dim }},
        {%- endfor %}
        error_reason,
        failure_class,

        -- numbers
        cast(sum(records) as bigint) as records,
        cast(sum(calls) as double) as calls,
        cast(sum(failures) as double) as failures,
        cast(sum(first_attempt_failures) as double) as first_attempt_failures,
        cast(sum(timed_successes) as double) as timed_successes,
        cast(sum(slow_calls) as double) as slow_calls,

        -- timestamps
        called_on,
        min(first_called_at) as first_called_at,
        max(last_called_at) as last_called_at
    from stacked
    group by
        {%- for dim in dims %}
            {{ dim }},
        {%- endfor %}
        error_reason,
        failure_class,
        called_on
)

select * from final
