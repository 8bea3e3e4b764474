-- Layout rule LT02 is off here: the linter cannot indent the jinja loops over dimensions.
-- noqa: disable=LT02
{#
    The leaf cube's counts that a day decides alone (doc rca_method): one row
    per day, combination of every analysis dimension (api_name,
    vars.analysis_dimensions core and extra) and error reason, with weighted
    calls, failures, first-attempt failures and successful calls with a
    latency. Missing and `unknown` values are null here: they say what a log
    lacks, never where calls fail. Incremental by day (doc incremental_days):
    a run counts only the days whose facts changed. Slow calls depend on each
    API's p95 over the whole history, so they are counted apart
    (int_rca_slow_leaves_counted) and joined in int_rca_leaves_counted.
#}
{#- before_begin: a changed dimension list makes every day stale and sync_all_columns then
    alters the table after the pre-hook's delete (why: macro delete_stale_days) -#}
{{ config(
    materialized=api_trust.incremental_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    meta={'day_vars': ['analysis_dimensions']},
    pre_hook=before_begin("{{ api_trust.delete_stale_days('called_on') }}"),
    post_hook="{{ api_trust.record_days_built() }}",
) }}

-- depends_on: {{ ref('int_call_days_fingerprinted') }}, {{ ref('int_incremental_days_built') }}

{%- set dims = api_trust.rca_dimensions() -%}
{%- set keys = api_trust.rca_leaf_keys('calls') %}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where
        is_api_traffic is not false
        -- incremental by day: the days whose facts changed
        and {{ api_trust.in_stale_days('cast(called_at as date)') }}
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
        min(calls.called_at) as first_called_at,
        max(calls.called_at) as last_called_at
    from calls
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

        -- timestamps
        called_on,
        first_called_at,
        last_called_at
    from leaves
)

select * from final
