{#
    Every segment of the cube once per metric it can be judged on: failures
    among calls (failure_rate) and slow calls among timed successful calls
    (slow_call_share), with the expectation from each API's own rates, the
    variance inflation and the scale that turns weighted counts into
    effective ones. The explain-away rounds test the segments marked tested
    and look up the rest (joint and conditioning segments) for overlaps.
#}
{%- set dims = api_trust.rca_dimensions() -%}

with

cells as (
    select * from {{ ref('int_rca_cells_counted') }}
),

-- one row per segment and metric; scale turns weighted counts into effective ones
final as (
    {%- for metric, trials, observed, expected in [
        ('failure_rate', 'calls', 'failures', 'expected_failures'),
        ('slow_call_share', 'timed_successes', 'slow_calls', 'expected_slow_calls'),
    ] %}
        select
            '{{ metric }}' as metric,
            segment,
            {%- for dim in dims %}
                {{ dim }},
            {%- endfor %}
            depth,
            records,
            {{ trials }} as trials,
            {{ observed }} as observed,
            {{ expected }} as expected,
            {{ 'inflation * retry_design_effect' if metric == 'failure_rate' else 'inflation' }} as inflation,
            records / calls as scale,
            is_tested,
            -- the Benjamini-Hochberg family, what every round counts and tests: said here once
            is_tested and {{ expected }} > 0 as is_in_test_family
        from cells
        where {{ trials }} > 0
        {%- if loop.first %}
            union all
        {%- endif %}
    {%- endfor %}
)

select * from final
