-- depends_on: {{ ref('int_rca_leaves_summed') }}
-- Layout rule LT02 is off here: the linter cannot indent the jinja loops over dimensions.
-- noqa: disable=LT02
{#
    Every segment worth testing, counted once (doc rca_method): the leaf cube
    summed over the window, then all combinations of 1 to rca_max_depth
    dimensions with GROUPING SETS, pruned by minimum support (rca_min_calls
    calls) and by redundancy (a segment with exactly the calls of a shorter one,
    such as a client and its client type, is that shorter one). Each segment
    carries what its API's own rates predict, failures and slow calls alike:
    within one API the rest of that API (so a segment is never compared with
    itself), across APIs each API's rate over its calls. Whether an API as a
    whole fails more is no segment question: APIs answer to their SLOs.
#}
{%- set dims = api_trust.rca_dimensions() -%}
{%- set min_calls = var('rca_min_calls') -%}
{%- set sets = api_trust.rca_grouping_sets() -%}
{#- Speed only (same result): the combinations without the dimension with the most values
    are summed from the leaves without it, which are far fewer. -#}
{%- set heavy = api_trust.rca_heaviest_dimension() -%}

with

leaves as (
    select * from {{ ref('int_rca_leaves_summed') }}
),

api_totals as (
    select
        api_name,
        sum(records) as api_records,
        sum(calls) as api_calls,
        sum(failures) as api_failures,
        sum(timed_successes) as api_timed_successes,
        sum(slow_calls) as api_slow_calls
    from leaves
    group by api_name
),

{%- if heavy is not none %}

light_leaves as (
    -- the leaves without the dimension with the most values
    {{ api_trust.rca_light_leaves('leaves', heavy, [
        'records', 'calls', 'failures', 'timed_successes', 'slow_calls', 'base_failures', 'base_slow_calls',
        ('base_failures * retry_design_effect', 'base_failures_clustered'),
    ]) }}
),
{%- endif %}

grouped as (
    {%- set measures = [] %}
    {%- set summed = ['records', 'calls', 'failures', 'timed_successes', 'slow_calls', 'base_failures',
        'base_slow_calls'] %}
    {%- for name in summed %}
        {%- do measures.append((name, name, name)) %}
    {%- endfor %}
    {%- do measures.append(
        ('base_failures_clustered', 'base_failures_clustered', 'base_failures * retry_design_effect')) %}
    {{ api_trust.rca_sums_by_sets(sets, heavy, 'light_leaves', 'leaves', dims, [], measures,
        having='sum(records) >= ' ~ min_calls) }}
),

supported as (
    -- a grouped dimension whose value is missing is no segment
    select
        grouped.*,
        {{ api_trust.rca_segment('grouped') }} as segment,
        {{ api_trust.rca_depth('grouped') }} as depth  -- noqa: RF04
    from grouped
    where
        {%- for dim in dims %}
            (is_any_{{ dim }} = 1 or {{ dim }} is not null){{ ' and' if not loop.last }}
        {%- endfor %}
),

parents as (
    -- each segment with one dimension dropped: the segments it sits in
    {%- for dim in dims %}
        select
            supported.segment,
            supported.records,
            {{ api_trust.rca_segment('supported', dims | reject('equalto', dim) | list) }} as parent_segment
        from supported
        where supported.{{ dim }} is not null and supported.depth > 1
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

redundant as (
    select distinct parents.segment
    from parents
    inner join supported
        on
            parents.parent_segment = supported.segment
            and parents.records = supported.records
),

final as (
    select
        -- strings
        supported.segment,
        {%- for dim in dims %}
            supported.{{ dim }},
        {%- endfor %}

        -- numbers
        cast(supported.depth as integer) as depth,  -- noqa: RF04
        cast(supported.records as bigint) as records,
        cast(supported.calls as double) as calls,
        cast(supported.failures as double) as failures,
        cast(supported.timed_successes as double) as timed_successes,
        cast(supported.slow_calls as double) as slow_calls,
        -- within an API: its other calls' rate (the segment's own calls never set its expectation)
        cast(case
            when supported.api_name is null then supported.base_failures
            else supported.calls * (api_totals.api_failures - supported.failures + 0.375)
                / (api_totals.api_calls - supported.calls + 0.75)
        end as double) as expected_failures,
        cast(case
            when supported.api_name is null then supported.base_slow_calls
            else supported.timed_successes * (api_totals.api_slow_calls - supported.slow_calls + 0.375)
                / (api_totals.api_timed_successes - supported.timed_successes + 0.75)
        end as double) as expected_slow_calls,
        -- variance widening for the comparison's own sampling error (1 + n/m)
        cast(case
            when supported.api_name is null then 1.0
            else 1 + {{ api_trust.safe_rate('supported.records', 'api_totals.api_records - supported.records') }}
        end as double) as inflation,
        -- failures come in clusters (a user retries): their variance is this many times binomial
        cast(greatest(1.0, {{ api_trust.safe_rate('supported.base_failures_clustered', 'supported.base_failures') }})
            as double) as retry_design_effect,
        cast(api_totals.api_records as bigint) as api_records,

        -- booleans
        redundant.segment is not null as is_redundant,
        -- a segment of one API needs enough of that API's other calls to compare with; a
        -- redundant one is tested under its shorter name
        redundant.segment is null
        and (supported.api_name is null or api_totals.api_records - supported.records >= {{ min_calls }})
            as is_tested
    from supported
    left join api_totals
        on supported.api_name = api_totals.api_name
    left join redundant
        on supported.segment = redundant.segment
)

select * from final
