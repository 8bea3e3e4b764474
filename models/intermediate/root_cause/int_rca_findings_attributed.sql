-- Layout rule LT02 is off here: the linter cannot indent the jinja loops over dimensions.
-- noqa: disable=LT02
-- depends_on: {{ ref('int_rca_leaves_summed') }}
{#
    Which error reason carries each significant finding's excess, and how many
    clients it touched (doc rca_method). A reason's excess is its failures in
    the finding's calls minus what the API's usual reason mix predicts for
    those calls (each API's rate of that reason); the reason with the largest
    excess carries the finding, not the most frequent one (a region's
    blurry images are "mostly" a common reason anyway). Findings of the time
    side bring their own reason.
#}
{%- set dims = api_trust.rca_dimensions() -%}
{#- the leaf cube's value counts, read once for the speed choices below #}
{%- set counts = api_trust.rca_dimension_value_counts() -%}
{%- set heavy = api_trust.rca_heaviest_dimension(dims[1:], counts) -%}
{#- the cube's ENUM types, so that the joins to it compare ENUMs (macro rca_typed_dimension_columns) -#}
{%- set types = api_trust.rca_cube_value_types() -%}

with

candidates as (
    -- findings whose producer names no reason (the time side names its own)
    select * from {{ ref('int_rca_candidates_tested') }}
    where is_significant and error_reason is null
),

leaves as (
    select * from {{ ref('int_rca_leaves_counted') }}
),

summed_leaves as (
    -- the cube over the whole window, without days and reasons: a third of the leaves
    select * from {{ ref('int_rca_leaves_summed') }}
),

{%- if heavy is not none %}

light_summed as (
    {{ api_trust.rca_light_leaves('summed_leaves', heavy, ['calls']) }}
),
{%- endif %}

notable_leaves as (
    -- the leaves with a failure, a reason or a slow call: all that reason_observed and
    -- clients read (a quarter of the leaves)
    select * from leaves
    where error_reason is not null or failures > 0 or slow_calls > 0
),

api_calls as (
    select
        api_name,
        sum(calls) as calls
    from summed_leaves
    group by api_name
),

api_reasons as (
    -- each API's usual rate of each reason, per call
    select
        notable_leaves.api_name,
        notable_leaves.error_reason,
        min(notable_leaves.failure_class) as failure_class,
        sum(notable_leaves.failures) / min(api_calls.calls) as reason_rate
    from notable_leaves
    inner join api_calls
        on notable_leaves.api_name = api_calls.api_name
    where notable_leaves.error_reason is not null
    group by notable_leaves.api_name, notable_leaves.error_reason
),

api_rates as (
    -- each API's usual failures and slow calls, per call
    select
        notable_leaves.api_name,
        sum(notable_leaves.failures) / min(api_calls.calls) as failure_rate,
        sum(notable_leaves.slow_calls) / min(api_calls.calls) as slow_rate
    from notable_leaves
    inner join api_calls
        on notable_leaves.api_name = api_calls.api_name
    group by notable_leaves.api_name
),

findings as (
    select distinct
        finding_type,
        segment,
        metric,
        started_at,
        ended_at,
        {{ api_trust.rca_segment_columns('segment') }}
    from candidates
),

typed_findings as (
    -- the findings typed as the cube's columns for the joins to it below, which keep those
    -- whose values are all the cube's (macro rca_typed_dimension_columns)
    select
        findings.finding_type,
        findings.segment,
        findings.metric,
        findings.started_at,
        findings.ended_at,
        {{ api_trust.rca_typed_dimension_columns('findings', types) }}
    from findings
),

{#- Each finding's leaves: equi-joins on the API and the first other dimension it names
    (macro rca_leaf_join_keys). Each step reads only the leaves it needs: a cross-API finding
    naming a client type or a document type met a sixth of all leaves, 22M joined rows at
    10M calls when every step read one matching of every leaf. The calls per API of a
    finding without a window come from the cube summed over the window, rolled up over the
    dimension with the most values when the finding does not name it (light_summed); the
    failures, reasons and clients from the notable leaves. #}
{%- set timed = '(findings.started_at is not null or findings.ended_at is not null)' %}
{#- a time-bounded finding meets the day leaves of its window's days only #}
{%- set in_window -%}
    (findings.started_at is null or {source}.called_on >= cast(findings.started_at as date))
    and (findings.ended_at is null or {source}.called_on < cast(findings.ended_at as date))
{%- endset %}
{#- (source, condition, whether its segments name the heavy dimension: none when either) #}
{%- set calls_sources = [('leaves', timed ~ ' and ' ~ in_window | replace('{source}', 'leaves'), none)] %}
{%- if heavy is none %}
    {%- do calls_sources.append(('summed_leaves', 'not ' ~ timed, none)) %}
{%- else %}
    {%- do calls_sources.append(('summed_leaves', 'not ' ~ timed, true)) %}
    {%- do calls_sources.append(('light_summed', 'not ' ~ timed, false)) %}
{%- endif %}
{%- set matchings = [
    ('matched_calls', calls_sources, ['api_name', 'calls']),
    ('matched_notable', [('notable_leaves', in_window | replace('{source}', 'notable_leaves'), none)],
        ['api_name', 'error_reason', 'failures', 'slow_calls'] + (['client_id'] if 'client_id' in dims else [])),
] %}
{%- for name, sources, columns in matchings %}

{{ name }} as (
    {%- set branches = api_trust.rca_leaf_join_branches('findings', sources, heavy, counts) %}
    {%- for (source, condition, naming_heavy), keys in branches %}
        select
            findings.finding_type,
            findings.segment,
            findings.metric,
            findings.started_at as finding_started_at,
            {{ source }}.{{ columns | join(',\n            ' ~ source ~ '.') }}
        from typed_findings as findings
        inner join {{ source }}
            on
                {{ keys }}
                and {{ condition }}
                and findings.is_in_cube
                and {{ api_trust.rca_covers('findings', source) }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),
{%- endfor %}

finding_api_calls as (
    select
        finding_type,
        segment,
        metric,
        finding_started_at,
        api_name,
        sum(calls) as calls
    from matched_calls
    group by finding_type, segment, metric, finding_started_at, api_name
),

reason_excess as (
    -- observed minus expected failures of each reason the finding's APIs know
    select
        finding_api_calls.finding_type,
        finding_api_calls.segment,
        finding_api_calls.metric,
        finding_api_calls.finding_started_at,
        api_reasons.error_reason,
        min(api_reasons.failure_class) as failure_class,
        sum(finding_api_calls.calls * api_reasons.reason_rate) as expected_failures
    from finding_api_calls
    inner join api_reasons
        on finding_api_calls.api_name = api_reasons.api_name
    group by
        finding_api_calls.finding_type,
        finding_api_calls.segment,
        finding_api_calls.metric,
        finding_api_calls.finding_started_at,
        api_reasons.error_reason
),

reason_observed as (
    select
        finding_type,
        segment,
        metric,
        finding_started_at,
        error_reason,
        sum(failures) as failures
    from matched_notable
    where error_reason is not null
    group by finding_type, segment, metric, finding_started_at, error_reason
),

carried as (
    select
        reason_excess.*,
        coalesce(reason_observed.failures, 0) - reason_excess.expected_failures as excess_failures,
        sum(coalesce(reason_observed.failures, 0) - reason_excess.expected_failures) over (
            partition by
                reason_excess.finding_type,
                reason_excess.segment,
                reason_excess.metric,
                reason_excess.finding_started_at
        ) as finding_excess_failures,
        row_number() over (
            partition by
                reason_excess.finding_type,
                reason_excess.segment,
                reason_excess.metric,
                reason_excess.finding_started_at
            order by
                coalesce(reason_observed.failures, 0) - reason_excess.expected_failures desc, reason_excess.error_reason
        ) as reason_rank
    from reason_excess
    left join reason_observed
        on
            {{ api_trust.rca_same_finding('reason_excess', 'reason_observed', 'finding_started_at') }}
            and reason_excess.error_reason = reason_observed.error_reason
),

api_observed as (
    select
        finding_type,
        segment,
        metric,
        finding_started_at,
        api_name,
        sum(failures) as failures,
        sum(slow_calls) as slow_calls
    from matched_notable
    group by finding_type, segment, metric, finding_started_at, api_name
),

api_carried as (
    -- which API's calls carry the finding's excess: each API's failures (slow calls, for a
    -- slow-call finding) in the finding's calls minus its usual rate times those calls, as
    -- for reasons above; the share is of the excess of every API the finding meets
    select
        *,
        sum(excess) over (partition by finding_type, segment, metric, finding_started_at) as finding_excess,
        row_number() over (
            partition by finding_type, segment, metric, finding_started_at
            order by excess desc, api_name asc
        ) as api_rank
    from (
        select
            finding_api_calls.finding_type,
            finding_api_calls.segment,
            finding_api_calls.metric,
            finding_api_calls.finding_started_at,
            finding_api_calls.api_name,
            case
                when finding_api_calls.metric = 'slow_call_share'
                    then coalesce(api_observed.slow_calls, 0) - finding_api_calls.calls * api_rates.slow_rate
                else coalesce(api_observed.failures, 0) - finding_api_calls.calls * api_rates.failure_rate
            end as excess
        from finding_api_calls
        inner join api_rates
            on finding_api_calls.api_name = api_rates.api_name
        left join api_observed
            on
                {{ api_trust.rca_same_finding('finding_api_calls', 'api_observed', 'finding_started_at') }}
                and finding_api_calls.api_name = api_observed.api_name
    ) as api_excess
),

clients as (
    select
        finding_type,
        segment,
        metric,
        finding_started_at,
        {%- if 'client_id' in dims %}
            count(distinct case
                when (metric = 'slow_call_share' and slow_calls > 0) or (metric <> 'slow_call_share' and failures > 0)
                    then client_id
            end)
        {%- else %}
            cast(null as bigint)
        {%- endif %} as clients_affected
    from matched_notable
    group by finding_type, segment, metric, finding_started_at
),

final as (
    select
        -- strings
        findings.finding_type,
        findings.segment,
        findings.metric,
        case when findings.metric <> 'slow_call_share' and carried.excess_failures > 0 then carried.error_reason end
            as error_reason,
        case when findings.metric <> 'slow_call_share' and carried.excess_failures > 0 then carried.failure_class end
            as failure_class,
        -- as text: the cube's API names are an ENUM (macro rca_typed_dimension_columns)
        case
            when api_carried.excess > 0 and api_carried.finding_excess > 0 then cast(api_carried.api_name as string)
        end as carrying_api_name,

        -- numbers
        case when findings.metric <> 'slow_call_share' and carried.excess_failures > 0
                then {{ api_trust.safe_rate('carried.excess_failures', 'carried.finding_excess_failures') }}
        end as reason_share_of_excess,
        cast(coalesce(clients.clients_affected, 0) as bigint) as clients_affected,
        case when api_carried.excess > 0 and api_carried.finding_excess > 0
                then least(api_carried.excess / api_carried.finding_excess, 1)
        end as api_share_of_excess,

        -- timestamps
        findings.started_at
    from findings
    left join carried
        on
            {{ api_trust.rca_same_finding('findings', 'carried', 'started_at', 'finding_started_at') }}
            and carried.reason_rank = 1
    left join clients
        on
            {{ api_trust.rca_same_finding('findings', 'clients', 'started_at', 'finding_started_at') }}
    left join api_carried
        on
            {{ api_trust.rca_same_finding('findings', 'api_carried', 'started_at', 'finding_started_at') }}
            and api_carried.api_rank = 1
)

select * from final
