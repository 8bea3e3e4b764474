{#
    One row per problem worth acting on, ranked, routed to its owner (doc
    rca_findings): new problems first (incidents, bad releases, segments and
    clients that got worse), then hotspots in a segment of traffic, then
    API-wide chronic health (SLO breaches, heavy tails); by impact within each.
    Hotspots of one API on one dimension with one cause are one finding.
#}
{%- set wide = ['api_name', 'api_version', 'region', 'document_type', 'client_type', 'client_id'] -%}
{%- set slow_weight = var('rca_slow_call_weight', 0.5) -%}

with

scoped as (
    select * from {{ ref('rca_finding_scope') }}
),

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

tiered as (
    select
        *,
        case
            when finding_type in ('incident', 'version_regression') then 'change'
            when
                finding_type in ('failure_segment', 'client_auth')
                and change_p_value < {{ var('rca_change_p', 0.001) }}
                and affected_second_half * calls_first_half >= 1.5 * affected_first_half * calls_second_half
                then 'change'
            when finding_type in ('failure_segment', 'client_auth') then 'hotspot'
            else 'api_health'
        end as finding_tier,
        excess_failures + {{ slow_weight }} * excess_slow_calls as impact
    from scoped
),

grouped as (
    select
        *,
        case
            when finding_tier = 'hotspot' and finding_type = 'failure_segment' and dimension_2 is not null
                then api_name || '|' || dimension_2 || '|' || coalesce(dominant_error_reason, '')
            else finding_type || '|' || segment
        end as group_key
    from tiered
),

members as (
    select
        *,
        row_number() over (partition by group_key order by impact desc, segment asc) as member_rank,
        count(*) over (partition by group_key) as group_size
    from grouped
),

group_totals as (
    select
        group_key,
        sum(calls) as calls,
        sum(segment_value * calls) as failures,
        sum(baseline_value * calls) as expected_failures,
        sum(excess_failures) as excess_failures,
        sum(impact) as impact,
        {{ api_trust.ordered_string_agg(
            "case when member_rank > 1 then segment end", '; ', 'member_rank'
        ) }} as related_segments
    from members
    where group_size > 1
    group by group_key
),

group_clients as (
    -- distinct clients over all members of a group (members are API x value pairs)
    select
        members.group_key,
        count(distinct calls.client_id) as clients_affected
    from members
    inner join calls
        on
            members.api_name = calls.api_name
            {%- for dim in wide[1:] %}
                and (members.{{ dim }} is null or members.{{ dim }} = calls.{{ dim }})
            {%- endfor %}
    where members.group_size > 1 and not calls.is_success
    group by members.group_key
),

scored as (
    select
        members.finding_type,
        members.finding_tier,
        members.segment,
        members.segment || coalesce(' (and ' || group_totals.related_segments || ')', '') as segment_label,
        {{ api_trust.segment_dimensions(wide, 'members') }},
        members.owner_team,
        members.metric,
        members.dominant_error_reason,
        members.reference,
        group_totals.related_segments,
        coalesce(group_totals.calls, members.calls) as calls,
        coalesce(group_totals.failures / group_totals.calls, members.segment_value) as segment_value,
        coalesce(group_totals.expected_failures / group_totals.calls, members.baseline_value) as baseline_value,
        coalesce(group_totals.failures / group_totals.expected_failures, members.lift) as lift,
        coalesce(group_totals.excess_failures, members.excess_failures) as excess_failures,
        members.excess_slow_calls,
        coalesce(group_totals.impact, members.impact) as impact,
        coalesce(group_clients.clients_affected, members.clients_affected) as clients_affected,
        {{ api_trust.safe_rate('members.affected_first_half', 'members.calls_first_half') }} as first_half_rate,
        {{ api_trust.safe_rate('members.affected_second_half', 'members.calls_second_half') }} as second_half_rate,
        members.p_value,
        members.q_value,
        members.started_at,
        members.ended_at
    from members
    left join group_totals
        on members.group_key = group_totals.group_key
    left join group_clients
        on members.group_key = group_clients.group_key
    where members.member_rank = 1
),

final as (
    select
        -- ids
        cast(row_number() over (
            order by
                case scored.finding_tier when 'change' then 1 when 'hotspot' then 2 else 3 end asc,
                scored.impact desc,
                scored.segment asc
        ) as integer) as finding_rank,

        -- strings
        scored.finding_type,
        scored.finding_tier,
        scored.segment,
        {%- for dim in wide %}
            scored.{{ dim }},
        {%- endfor %}
        scored.owner_team,
        scored.metric,
        scored.dominant_error_reason,
        scored.related_segments,
        {{ api_trust.finding_evidence('scored') }}
        || case
            when scored.finding_tier = 'change' and scored.finding_type in ('failure_segment', 'client_auth')
                then ' New: '
                    || {{ api_trust.fmt_pct('scored.first_half_rate') }}
                    || ' of calls in the first half of the window, '
                    || {{ api_trust.fmt_pct('scored.second_half_rate') }} || ' in the second.'
            else ''
        end as evidence,
        {{ api_trust.finding_recommendation('scored') }} as recommendation,

        -- numbers
        scored.segment_value,
        scored.baseline_value,
        scored.lift,
        cast(scored.calls as bigint) as calls,
        cast(scored.excess_failures as double) as excess_failures,
        cast(scored.excess_slow_calls as double) as excess_slow_calls,
        cast(scored.impact as double) as impact,
        cast(scored.clients_affected as bigint) as clients_affected,
        scored.p_value,
        scored.q_value,

        -- booleans
        coalesce(scored.q_value <= {{ var('rca_fdr_q') }}, true) as is_significant,

        -- timestamps
        scored.started_at,
        scored.ended_at
    from scored
)

select * from final
