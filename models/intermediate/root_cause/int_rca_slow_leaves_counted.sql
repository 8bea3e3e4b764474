-- Layout rule LT02 is off here: the linter cannot indent the jinja loops over dimensions.
-- noqa: disable=LT02
{#
    Slow calls by leaf (doc rca_method): successful API calls slower than
    their API's usual p95 (the exact p95 of its successful calls over the whole
    history, agg_latency_by_api), by day and every analysis dimension. That p95
    moves with every new day, so this is a full table; it only groups the few
    calls past it (about one in twenty).
#}
{%- set dims = api_trust.rca_dimensions() -%}
{%- set keys = api_trust.rca_leaf_keys('slow') %}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false and is_success
),

latency as (
    select * from {{ ref('agg_latency_by_api') }}
),

slow as (
    select calls.*
    from calls
    inner join latency
        on calls.api_name = latency.api_name
    where calls.latency_ms > latency.p95_success_latency_ms
),

leaves as (
    select
        cast(slow.called_at as date) as called_on,
        {%- for dim in dims %}
            {{ keys[loop.index0] }} as {{ dim }},
        {%- endfor %}
        sum(slow.sample_weight) as slow_calls
    from slow
    group by
        {%- for key in keys %}
            {{ key }},
        {%- endfor %}
        cast(slow.called_at as date)
),

final as (
    select
        -- strings
        {%- for dim in dims %}
            {{ dim }},
        {%- endfor %}

        -- numbers
        cast(slow_calls as double) as slow_calls,

        -- dates
        called_on
    from leaves
)

select * from final
