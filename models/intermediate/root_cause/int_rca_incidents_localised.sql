-- depends_on: {{ ref('int_rca_leaves_summed') }}
-- Layout rule LT02 is off here: the linter cannot indent the jinja loops over dimensions.
-- noqa: disable=LT02
{#
    What is different about each incident (doc rca_method): the calls inside an
    incident window (int_rca_incident_windows, and an API's failure run over days
    from int_rca_window_candidates) against the same API's calls
    outside it, segment by segment (1 to rca_max_depth - 1 more dimensions),
    each segment expected to fail at its own rate outside the window. The
    incident is narrowed to the segment with the largest surprise (G) whose
    lift clears rca_min_lift at p <= rca_change_p while the rest of the
    window's calls show no such effect; otherwise it stays API-wide.
#}
{%- set dims = api_trust.rca_dimensions() -%}
{%- set keys = api_trust.rca_leaf_keys('calls') -%}
{%- set local_dims = dims | reject('equalto', 'api_name') | list -%}
{%- set heavy = api_trust.rca_heaviest_dimension(local_dims) -%}
{%- set min_calls = var('rca_min_calls') -%}
{%- set local_sets = [[]] + api_trust.rca_combinations(local_dims, var('rca_max_depth', 3) - 1) %}

with

windows as (
    -- hourly incident windows, and API failure runs over days that may pass the one
    -- BH pass (raw p within its level; int_rca_window_candidates): one window per start
    select
        api_name,
        started_at,
        max(ended_at) as ended_at
    from (
        select
            api_name,
            started_at,
            ended_at
        from {{ ref('int_rca_incident_windows') }}
        union all
        select
            api_name,
            started_at,
            ended_at
        from {{ ref('int_rca_window_candidates') }}
        where api_name is not null and metric = 'failure_rate' and p_value <= {{ var('rca_fdr_q') }}
    ) as all_windows
    group by api_name, started_at
),

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

leaves as (
    select * from {{ ref('int_rca_leaves_counted') }}
    where api_name in (select windows.api_name from windows)
),

window_calls as (
    -- an equi-join on the API, then the window: never calls x findings
    select
        windows.api_name,
        windows.started_at,
        windows.ended_at,
        -- the caller as delivered, for clients_affected; the client_id dimension below
        -- (when it is one) has `unknown` null, as every leaf key
        calls.client_id as caller_id,
        calls.is_success,
        calls.sample_weight
        {%- for dim in local_dims %},
            {{ keys[dims.index(dim)] }} as {{ dim }}
        {%- endfor %}
    from windows
    inner join calls
        on
            windows.api_name = calls.api_name
            and windows.started_at <= calls.called_at
            and windows.ended_at > calls.called_at
),

window_leaves as (
    select
        window_calls.api_name,
        window_calls.started_at,
        {%- for dim in local_dims %}
            window_calls.{{ dim }},
        {%- endfor %}
        count(*) as records,
        sum(window_calls.sample_weight) as calls,
        sum(case when window_calls.is_success then 0 else window_calls.sample_weight end) as failures
    from window_calls
    group by
        window_calls.api_name,
        window_calls.started_at
        {%- for dim in local_dims %},
            window_calls.{{ dim }}
        {%- endfor %}
),

window_cells as (
    select
        api_name,
        started_at,
        {%- for dim in local_dims %}
            {{ dim }},
            grouping({{ dim }}) as is_any_{{ dim }},
        {%- endfor %}
        sum(records) as records,
        sum(calls) as calls,
        sum(failures) as failures
    from window_leaves
    group by grouping sets (  -- noqa: PRS
        {%- for combo in local_sets %}
            ({{ (['api_name', 'started_at'] + combo) | join(', ') }}){{ ',' if not loop.last }}
        {%- endfor %}
    )
),

{%- if heavy is not none %}

light_leaves as (
    -- the leaves without the dimension with the most values, for the sets without it
    {{ api_trust.rca_light_leaves('leaves', heavy, ['calls', 'failures']) }}
),
{%- endif %}

api_cells as (
    {{ api_trust.rca_sums_by_sets(local_sets, heavy, 'light_leaves', 'leaves', local_dims, ['api_name'],
        [('calls', 'calls', 'calls'), ('failures', 'failures', 'failures')]) }}
),

compared as (
    -- each window segment against the same segment of the API outside the window
    select
        window_cells.*,
        {{ api_trust.rca_segment('window_cells', local_dims) }} as local_segment,
        window_cells.records / window_cells.calls as scale,
        window_cells.calls
        * (api_cells.failures - window_cells.failures + 0.375) / (api_cells.calls - window_cells.calls + 0.75)
            as expected
    from window_cells
    inner join api_cells
        on
            window_cells.api_name = api_cells.api_name
            {%- for dim in local_dims %}
                and window_cells.is_any_{{ dim }} = api_cells.is_any_{{ dim }}
                and coalesce(window_cells.{{ dim }}, '') = coalesce(api_cells.{{ dim }}, '')
            {%- endfor %}
    where
        {%- for dim in local_dims %}
            (window_cells.is_any_{{ dim }} = 1 or window_cells.{{ dim }} is not null){{ ' and' if not loop.last }}
        {%- endfor %}
),

scored as (
    select
        segment_cells.*,
        whole.failures - segment_cells.failures as rest_failures,
        whole.calls - segment_cells.calls as rest_calls,
        whole.expected - segment_cells.expected as rest_expected,
        whole.failures - whole.expected as incident_excess,
        {{ api_trust.binomial_llr(
            'segment_cells.failures * segment_cells.scale', 'segment_cells.calls * segment_cells.scale',
            'segment_cells.expected * segment_cells.scale'
        ) }} as llr,
        {{ api_trust.llr_p(
            'segment_cells.failures * segment_cells.scale', 'segment_cells.calls * segment_cells.scale',
            'segment_cells.expected * segment_cells.scale'
        ) }} as p_value,
        {{ api_trust.lift_lower(
            'segment_cells.failures * segment_cells.scale', 'segment_cells.calls * segment_cells.scale',
            'segment_cells.expected * segment_cells.scale'
        ) }} as lift_lower,
        case when whole.calls - segment_cells.calls >= {{ min_calls }} then {{ api_trust.lift_lower(
            '(whole.failures - segment_cells.failures) * segment_cells.scale',
            '(whole.calls - segment_cells.calls) * segment_cells.scale',
            '(whole.expected - segment_cells.expected) * segment_cells.scale'
        ) }} end as rest_lift_lower
    from compared as segment_cells
    inner join compared as whole
        on
            segment_cells.api_name = whole.api_name
            and segment_cells.started_at = whole.started_at
            and whole.local_segment = ''
    where segment_cells.local_segment <> '' and segment_cells.records >= {{ min_calls }}
),

narrowed as (
    select
        *,
        row_number() over (
            partition by api_name, started_at order by llr desc, length(local_segment) asc, local_segment asc
        ) as narrowing_rank
    from scored
    where
        lift_lower >= {{ var('rca_min_lift') }}
        and p_value <= {{ var('rca_change_p') }}
        -- narrower than the API, with calls outside the segment that show no such effect
        and rest_calls >= {{ min_calls }}
        and rest_lift_lower < {{ var('rca_min_lift') }}
),

chosen as (
    select
        windows.api_name,
        windows.started_at,
        windows.ended_at,
        {%- for dim in local_dims %}
            narrowed.{{ dim }},
        {%- endfor %}
        narrowed.failures - narrowed.expected as segment_excess,
        narrowed.incident_excess
    from windows
    left join narrowed
        on
            windows.api_name = narrowed.api_name
            and windows.started_at = narrowed.started_at
            and narrowed.narrowing_rank = 1
),

affected as (
    select
        chosen.api_name,
        chosen.started_at,
        count(distinct case when not window_calls.is_success then window_calls.caller_id end) as clients_affected
    from chosen
    inner join window_calls
        on
            chosen.api_name = window_calls.api_name
            and chosen.started_at = window_calls.started_at
    where
        {%- for dim in local_dims %}
            (chosen.{{ dim }} is null
            or chosen.{{ dim }} = window_calls.{{ dim }})
            {{- ' and' if not loop.last }}
        {%- endfor %}
    group by chosen.api_name, chosen.started_at
),

final as (
    select
        -- strings
        chosen.api_name,
        {{ api_trust.rca_segment('chosen') }} as segment,

        -- numbers
        {{ api_trust.safe_rate('chosen.segment_excess', 'chosen.incident_excess') }} as share_of_incident_excess,
        cast(coalesce(affected.clients_affected, 0) as bigint) as clients_affected,

        -- booleans
        chosen.segment_excess is not null as is_narrowed,

        -- timestamps
        chosen.started_at,
        chosen.ended_at
    from chosen
    left join affected
        on
            chosen.api_name = affected.api_name
            and chosen.started_at = affected.started_at
)

select * from final
