{#
    Which segments fail more than they should? An API against the rest of the
    traffic; a single value against the same APIs' other calls (stratified by
    API); an API x value pair against what the API and the value predict
    together. Definitions and the test: doc rca_failure_lift.
#}
{%- set wide = ['api_name', 'api_version', 'region', 'document_type', 'client_type', 'client_id'] -%}

with

segments as (
    select * from {{ ref('rca_failure_segments') }}
),

apis as (
    select * from {{ ref('dim_apis') }}
),

tested as (
    select
        *,
        case when segment_level = 'api' then 'api' else 'segment' end as test_family,
        case when is_tested then {{ api_trust.proportion_z(
            'tested_failures', 'tested_calls', 'tested_expected / tested_calls', 'inflation'
        ) }} end as z_score
    from segments
),

with_p as (
    select
        *,
        -- one-sided: segments that fail less are not problems and must not loosen BH
        {{ api_trust.upper_p('z_score') }} as p_value
    from tested
),

adjusted as (
    {{ api_trust.bh_q_values('with_p', 'p_value', 'test_family') }}
),

completed as (
    -- untested strata of a single value count as expected = observed
    select
        *,
        tested_expected + failures - tested_failures as expected_failures
    from adjusted
),

final as (
    select
        -- strings
        completed.dimension_1 || '=' || completed.value_1
        || coalesce(', ' || completed.dimension_2 || '=' || completed.value_2, '') as segment,
        completed.segment_level,
        completed.test_family,
        completed.dimension_1,
        completed.value_1,
        completed.dimension_2,
        completed.value_2,
        {%- for dim in wide %}
            case
                when completed.dimension_1 = '{{ dim }}' then completed.value_1
                when completed.dimension_2 = '{{ dim }}' then completed.value_2
            end as {{ dim }},
        {%- endfor %}
        apis.owner_team,

        -- numbers
        cast(completed.calls as bigint) as calls,
        cast(completed.failures as bigint) as failures,
        {{ api_trust.safe_rate('completed.failures', 'completed.calls') }} as failure_rate,
        {{ api_trust.wilson_lower('completed.failures', 'completed.calls') }} as failure_rate_ci_lower,
        {{ api_trust.wilson_upper('completed.failures', 'completed.calls') }} as failure_rate_ci_upper,
        completed.rest_failure_rate,
        {{ api_trust.safe_rate('completed.expected_failures', 'completed.calls') }} as baseline_rate,
        {{ api_trust.safe_rate('completed.failures', 'completed.expected_failures') }} as lift,
        cast(completed.expected_failures as double) as expected_failures,
        cast(completed.tested_failures - completed.tested_expected as double) as excess_failures,
        completed.z_score,
        completed.p_value,
        completed.q_value,

        -- booleans
        completed.is_tested,
        coalesce(
            completed.is_tested
            and completed.q_value <= {{ var('rca_fdr_q') }}
            and completed.tested_failures > completed.tested_expected,
            false
        ) as is_significant
    from completed
    left join apis
        on
            completed.dimension_1 = 'api_name'
            and completed.value_1 = apis.api_name
)

select * from final
