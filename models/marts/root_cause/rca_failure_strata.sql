{#
    The counting step of the failure lift: for each dimension value and each
    API, calls and failures in that cell and in the whole API. Every lift
    statistic is recomputed from these counts (never from rates).
#}
{%- set dimensions = ['region', 'document_type', 'client_type', 'api_version', 'client_id'] -%}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

api_totals as (
    select
        api_name,
        count(*) as api_calls,
        sum(case when is_success then 0 else 1 end) as api_failures
    from calls
    group by api_name
),

cells as (
    {%- for dim in dimensions %}
        select
            '{{ dim }}' as dimension,
            {{ dim }} as dimension_value,
            api_name,
            count(*) as calls,
            sum(case when is_success then 0 else 1 end) as failures
        from calls
        -- a missing or unknown value is no segment: it says what the log lacks
        where {{ dim }} is not null and {{ dim }} != 'unknown'
        group by {{ dim }}, api_name
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select
        cells.dimension,
        cells.dimension_value,
        cells.api_name,
        cast(cells.calls as bigint) as calls,
        cast(cells.failures as bigint) as failures,
        cast(api_totals.api_calls as bigint) as api_calls,
        cast(api_totals.api_failures as bigint) as api_failures
    from cells
    inner join api_totals
        on cells.api_name = api_totals.api_name
)

select * from final
