{#
    Which values of any analysis dimension fail most? Every dimension of
    vars.analysis_dimensions (fact columns and extra delivered fields in long
    form), each value with its calls, failures and a Wilson interval. Missing
    and `unknown` values are left out: they say what a log lacks, not where
    calls fail.
#}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

call_dimensions as (
    select * from {{ ref('fct_call_dimensions') }}
),

long_form as (
    {%- for dim in var('analysis_dimensions')['core'] %}
        select
            '{{ dim }}' as dimension,
            cast({{ dim }} as varchar) as dimension_value,
            is_success,
            sample_weight
        from calls
        union all
    {%- endfor %}
    select
        call_dimensions.dimension,
        call_dimensions.dimension_value,
        calls.is_success,
        calls.sample_weight
    from call_dimensions
    inner join calls
        on call_dimensions.request_id = calls.request_id
),

counted as (
    select
        dimension,
        dimension_value,
        count(*) as sampled_calls,
        {{ api_trust.weighted_count() }} as calls,
        {{ api_trust.weighted_count('not is_success') }} as failures
    from long_form
    where dimension_value is not null and dimension_value != 'unknown'
    group by dimension, dimension_value
),

final as (
    select
        -- strings
        dimension,
        dimension_value,

        -- numbers
        cast(calls as bigint) as calls,
        cast(sampled_calls as bigint) as sampled_calls,
        cast(failures as bigint) as failures,
        {{ api_trust.safe_rate('failures', 'calls') }} as failure_rate,
        {{ api_trust.wilson_lower('failures', 'calls', seen='sampled_calls') }} as failure_rate_ci_lower,
        {{ api_trust.wilson_upper('failures', 'calls', seen='sampled_calls') }} as failure_rate_ci_upper
    from counted
)

select * from final
