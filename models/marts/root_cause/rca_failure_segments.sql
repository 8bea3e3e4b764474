{#
    The expectation step of the failure lift: for every API, single value and
    API x value pair, its calls and failures, the failures it would have
    without an effect of its own (tested_expected, over the part that has a
    comparison) and the variance inflation for the comparison's own sampling
    error. Definitions: doc rca_failure_lift.
#}
{%- set min_calls = var('rca_min_calls') -%}

with

strata as (
    select * from {{ ref('rca_failure_strata') }}
),

api_totals as (
    select distinct
        api_name,
        api_calls as calls,
        api_failures as failures
    from strata
),

api_rest as (
    select
        *,
        sum(calls) over () - calls as rest_calls,
        sum(failures) over () - failures as rest_failures
    from api_totals
),

api_segments as (
    select
        'api' as segment_level,
        'api_name' as dimension_1,
        api_name as value_1,
        cast(null as varchar) as dimension_2,
        cast(null as varchar) as value_2,
        calls,
        failures,
        calls as tested_calls,
        failures as tested_failures,
        {{ api_trust.safe_rate('rest_failures', 'rest_calls') }} as rest_failure_rate,
        calls * {{ api_trust.safe_rate('rest_failures', 'rest_calls') }} as tested_expected,
        1 + {{ api_trust.safe_rate('calls', 'rest_calls') }} as inflation,
        calls >= {{ min_calls }} and rest_calls >= {{ min_calls }} as is_tested
    from api_rest
),

cells as (
    select
        *,
        api_calls - calls as other_calls,
        api_failures - failures as other_failures,
        -- Anscombe's 3/8 pseudo-count: 0 failures in 40 other calls is not a certain 0%
        (api_failures - failures + 0.375) / (api_calls - calls + 0.75) as other_rate,
        -- a cell is informative when the API also has enough calls with another value
        api_calls - calls >= {{ min_calls }} as is_informative
    from strata
),

value_totals as (
    select
        dimension,
        dimension_value,
        sum(calls) as calls,
        sum(failures) as failures,
        sum(case when is_informative then calls else 0 end) as tested_calls,
        sum(case when is_informative then failures else 0 end) as tested_failures,
        sum(case when is_informative then calls * other_rate else 0 end) as tested_expected,
        sum(case when is_informative then other_calls else 0 end) as other_calls,
        sum(case when is_informative then other_failures else 0 end) as other_failures,
        sum(case when is_informative then cast(calls as double) * calls / other_calls else 0 end) as inflation_sum
    from cells
    group by dimension, dimension_value
),

single_segments as (
    select
        'single' as segment_level,
        dimension as dimension_1,
        dimension_value as value_1,
        cast(null as varchar) as dimension_2,
        cast(null as varchar) as value_2,
        calls,
        failures,
        tested_calls,
        tested_failures,
        {{ api_trust.safe_rate('other_failures', 'other_calls') }} as rest_failure_rate,
        tested_expected,
        1 + {{ api_trust.safe_rate('inflation_sum', 'tested_calls') }} as inflation,
        tested_calls >= {{ min_calls }} as is_tested
    from value_totals
),

value_effects as (
    -- the value's typical effect: median over APIs of (rate with the value / rate without),
    -- one vote per API with >= 5 expected failures, so that one or two APIs with a strong
    -- interaction of their own (the pairs we look for) cannot set the effect for everyone
    select
        dimension,
        dimension_value,
        count(*) as effect_strata,
        {{ api_trust.median_of('failures / (calls * other_rate)') }} as value_effect
    from cells
    where is_informative and calls * other_rate >= 5
    group by dimension, dimension_value
),

pair_segments as (
    select
        'pair' as segment_level,
        'api_name' as dimension_1,
        cells.api_name as value_1,
        cells.dimension as dimension_2,
        cells.dimension_value as value_2,
        cells.calls,
        cells.failures,
        cells.calls as tested_calls,
        cells.failures as tested_failures,
        cells.other_rate as rest_failure_rate,
        -- no interaction: the API's rate elsewhere times the value's typical effect; a value
        -- that protects on average (effect < 1) is not credited: the pair must beat both
        cells.calls * cells.other_rate * case
            when value_effects.effect_strata >= 3 then greatest(1.0, value_effects.value_effect)
            else 1.0
        end as tested_expected,
        1 + {{ api_trust.safe_rate('cells.calls', 'cells.other_calls') }} as inflation,
        cells.is_informative and cells.calls >= {{ min_calls }} as is_tested
    from cells
    left join value_effects
        on
            cells.dimension = value_effects.dimension
            and cells.dimension_value = value_effects.dimension_value
    -- pairs: API x region, document type, version, client type (a client is already a single segment)
    where cells.dimension <> 'client_id'
),

unioned as (
    select * from api_segments
    union all
    select * from single_segments
    union all
    select * from pair_segments
),

final as (
    select
        -- strings
        segment_level,
        dimension_1,
        value_1,
        dimension_2,
        value_2,

        -- numbers
        cast(calls as bigint) as calls,
        cast(failures as bigint) as failures,
        cast(tested_calls as bigint) as tested_calls,
        cast(tested_failures as bigint) as tested_failures,
        rest_failure_rate,
        tested_expected,
        inflation,

        -- booleans
        is_tested
    from unioned
)

select * from final
