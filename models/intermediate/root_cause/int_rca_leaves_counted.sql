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
{%- set texts = dims + ['error_reason', 'failure_class'] -%}
{#- every text column as an ENUM of its values on DuckDB (speed only: macro rca_value_types) -#}
{%- set cube_values -%}
    select {{ texts | join(', ') }} from {{ ref('int_rca_day_leaves_counted') }}
    union all
    select {{ dims | join(', ') }}, null, null from {{ ref('int_rca_slow_leaves_counted') }}
{%- endset -%}
{#- none before its inputs exist (a linter's compile): the types are read from them -#}
{%- set built = execute and load_relation(ref('int_rca_day_leaves_counted')) is not none
    and load_relation(ref('int_rca_slow_leaves_counted')) is not none -%}
{%- set types = api_trust.rca_value_types(cube_values, texts) if built else {} -%}

with

day_leaves as (
    -- typed before the join, which then compares ENUMs
    select
        {%- for column in texts %}
            {{ api_trust.rca_as_value_type(column, types) }} as {{ column }},
        {%- endfor %}
        {{ api_trust.star_except('day_leaves_stored', texts) }}
    from {{ ref('int_rca_day_leaves_counted') }} as day_leaves_stored
),

slow_leaves as (
    select
        {%- for dim in dims %}
            {{ api_trust.rca_as_value_type(dim, types) }} as {{ dim }},
        {%- endfor %}
        {{ api_trust.star_except('slow_leaves_stored', dims) }}
    from {{ ref('int_rca_slow_leaves_counted') }} as slow_leaves_stored
),

successful_leaves as (
    -- a slow call is a successful one: its leaf is the day leaf without an error reason
    -- or class. Filtered here, apart from the join: a condition on one side's columns
    -- beside the keys makes DuckDB join every row with every row (README, `make profile`).
    -- Summing both by every key instead took 0.4-0.6 s more at 10M calls
    select * from day_leaves
    where error_reason is null and failure_class is null
),

joined as (
    -- a full join, so that a slow leaf without its day leaf (which cannot be) shows as a
    -- leaf without records, which the model's tests refuse
    select
        {%- for dim in dims %}
            coalesce(successful_leaves.{{ dim }}, slow_leaves.{{ dim }}) as {{ dim }},
        {%- endfor %}
        successful_leaves.error_reason,
        successful_leaves.failure_class,
        coalesce(successful_leaves.called_on, slow_leaves.called_on) as called_on,
        successful_leaves.records,
        successful_leaves.calls,
        successful_leaves.failures,
        successful_leaves.first_attempt_failures,
        successful_leaves.timed_successes,
        coalesce(slow_leaves.slow_calls, 0) as slow_calls,
        successful_leaves.first_called_at,
        successful_leaves.last_called_at
    from successful_leaves
    full outer join slow_leaves
        on
            successful_leaves.called_on = slow_leaves.called_on
            {%- for dim in dims %}
            and successful_leaves.{{ dim }} is not distinct from slow_leaves.{{ dim }}
            {%- endfor %}
    union all
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
        0 as slow_calls,
        first_called_at,
        last_called_at
    from day_leaves
    where error_reason is not null or failure_class is not null
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
        cast(records as bigint) as records,
        cast(calls as double) as calls,
        cast(failures as double) as failures,
        cast(first_attempt_failures as double) as first_attempt_failures,
        cast(timed_successes as double) as timed_successes,
        cast(slow_calls as double) as slow_calls,

        -- timestamps
        called_on,
        first_called_at,
        last_called_at
    from joined
)

select * from final
