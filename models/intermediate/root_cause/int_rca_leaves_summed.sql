-- Layout rule LT02 is off here: the linter cannot indent the jinja loops over dimensions.
-- noqa: disable=LT02
{#
    The leaf cube summed over the whole window (int_rca_leaves_counted without
    its day and reason): one row per combination of the analysis dimensions,
    with what the API's own rates predict for it (failures and slow calls; a
    3/8 pseudo-count so 0 failures in 40 calls is not a certain 0%). Whole-
    history statistics read this, recomputed from the cube, never from facts.
#}
{%- set dims = api_trust.rca_dimensions() -%}

with

leaves as (
    select * from {{ ref('int_rca_leaves_counted') }}
),

api_totals as (
    select
        api_name,
        (sum(failures) + 0.375) / (sum(calls) + 0.75) as failure_rate,
        (sum(slow_calls) + 0.375) / (sum(timed_successes) + 0.75) as slow_rate,
        greatest(1.0, 2 * (sum(failures) + 1) / (sum(first_attempt_failures) + 1) - 1) as retry_design_effect
    from leaves
    group by api_name
),

summed as (
    select
        {%- for dim in dims %}
            {{ dim }},
        {%- endfor %}
        sum(records) as records,
        sum(calls) as calls,
        sum(failures) as failures,
        sum(timed_successes) as timed_successes,
        sum(slow_calls) as slow_calls
    from leaves
    group by
    {%- for dim in dims %}
            {{ dim }}{{ ',' if not loop.last }}
    
    
        {%- endfor %}
),

final as (
    select
        -- strings
        {%- for dim in dims %}
            summed.{{ dim }},
        {%- endfor %}

        -- numbers
        cast(summed.records as bigint) as records,
        summed.calls,
        summed.failures,
        summed.timed_successes,
        summed.slow_calls,
        summed.calls * api_totals.failure_rate as base_failures,
        summed.timed_successes * api_totals.slow_rate as base_slow_calls,
        api_totals.retry_design_effect
    from summed
    inner join api_totals
        on summed.api_name = api_totals.api_name
)

select * from final
