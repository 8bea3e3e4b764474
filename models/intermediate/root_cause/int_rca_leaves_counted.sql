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
    never where calls fail. Day grain, so that it can be kept by day.
#}
{%- set dims = api_trust.rca_dimensions() -%}
{%- set extras = api_trust.rca_extra_dimensions() -%}
{%- set keys = [] -%}
{%- for dim in dims -%}
    {%- set column = ("call_dimensions." if dim in extras else "calls.") ~ dim -%}
    {%- do keys.append("nullif(cast(" ~ column ~ " as varchar), 'unknown')") -%}
{%- endfor %}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

latency as (
    select * from {{ ref('agg_latency_by_api') }}
),

call_dimensions as (
    -- extra delivered fields, long form -> one column each
    select
        request_id
        {%- for dim in extras %}
            ,
            max(case when dimension = '{{ dim }}' then dimension_value end) as {{ dim }}
        {%- endfor %}
    from {{ ref('fct_call_dimensions') }}
    {%- if extras %}
        where dimension in {{ api_trust.sql_list(extras) }}
    {%- else %}
        where false
    {%- endif %}
    group by request_id
),

leaves as (
    select
        cast(calls.called_at as date) as called_on,
        {%- for dim in dims %}
            {{ keys[loop.index0] }} as {{ dim }},
        {%- endfor %}
        case when not calls.is_success then calls.error_reason end as error_reason,
        case when not calls.is_success then calls.failure_class end as failure_class,
        count(*) as records,
        sum(calls.sample_weight) as calls,
        sum(case when calls.is_success then 0 else calls.sample_weight end) as failures,
        sum(case when not calls.is_success and calls.attempt_no = 1 then calls.sample_weight else 0 end)
            as first_attempt_failures,
        sum(case when calls.is_success and calls.latency_ms is not null then calls.sample_weight else 0 end)
            as timed_successes,
        sum(
            case
                when
                    calls.is_success and calls.latency_ms > latency.p95_success_latency_ms
                    then calls.sample_weight
                else 0
            end
        ) as slow_calls,
        min(calls.called_at) as first_called_at,
        max(calls.called_at) as last_called_at
    from calls
    left join latency
        on calls.api_name = latency.api_name
    {%- if extras %}
        left join call_dimensions
            on calls.request_id = call_dimensions.request_id
    {%- endif %}
    group by
        cast(calls.called_at as date),
        {%- for key in keys %}
            {{ key }},
        {%- endfor %}
        case when not calls.is_success then calls.error_reason end,
        case when not calls.is_success then calls.failure_class end
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
    from leaves
)

select * from final
