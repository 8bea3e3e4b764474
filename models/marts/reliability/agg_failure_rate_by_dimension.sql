{#
    Which values of any analysis dimension fail most? Every dimension of
    vars.analysis_dimensions (fact columns and extra delivered fields), each
    value with its calls, failures and a Wilson interval. Summed from the leaf
    cube (int_rca_leaves_counted: API traffic, day by every dimension), not
    from the facts: one pass over the calls serves this mart and the root-cause
    search. Missing and `unknown` values are null in the cube and left out:
    they say what a log lacks, not where calls fail.
#}
{#- every dimension but api_name, the list checked once (macro rca_dimensions) #}
{%- set dims = api_trust.rca_dimensions()[1:] %}

with

leaves as (
    select * from {{ ref('int_rca_leaves_counted') }}
),

long_form as (
    {%- for dim in dims %}
        select
            '{{ dim }}' as dimension,
            {{ dim }} as dimension_value,
            records,
            calls,
            failures
        from leaves
        where {{ dim }} is not null
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

counted as (
    select
        dimension,
        dimension_value,
        cast(sum(records) as bigint) as sampled_calls,
        sum(calls) as calls,
        sum(failures) as failures
    from long_form
    group by dimension, dimension_value
),

final as (
    select
        -- strings
        dimension,
        -- text: the cube's values are ENUMs, which a union of two dimensions makes text
        -- and a single dimension would leave as they are
        cast(dimension_value as string) as dimension_value,

        -- numbers
        cast(calls as bigint) as calls,
        sampled_calls,
        cast(failures as bigint) as failures,
        {{ api_trust.safe_rate('failures', 'calls') }} as failure_rate,
        {{ api_trust.wilson_lower('failures', 'calls', seen='sampled_calls') }} as failure_rate_ci_lower,
        {{ api_trust.wilson_upper('failures', 'calls', seen='sampled_calls') }} as failure_rate_ci_upper
    from counted
)

select * from final
