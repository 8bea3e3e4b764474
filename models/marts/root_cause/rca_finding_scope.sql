{#
    The findings that no more specific one explains (rca_finding_explanations),
    joined to their calls: clients affected, the dominant error reason, and the
    first-half vs second-half comparison that tells a new problem from a
    chronic one (doc rca_findings).
#}
{%- set wide = ['api_name', 'api_version', 'region', 'document_type', 'client_type', 'client_id'] -%}

with

candidates as (
    select * from {{ ref('rca_finding_explanations') }}
),

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

kept as (
    select
        *,
        -- which calls the finding is about; latency findings: successful calls above baseline_value
        -- (the previous version's p95, or the p95 a peer-shaped API would have)
        case
            when finding_type = 'client_auth' then 'auth'
            when finding_type = 'slo_breach' then 'availability'
            when metric = 'p95_latency_ms' then 'slow'
            else 'any'
        end as affected_scope
    from candidates
    where not is_explained
),

halves as (
    -- the data window cut in two: "new" problems grew from the first half to the second
    select
        floor(
            ({{ api_trust.hour_number('min(called_at)') }} + {{ api_trust.hour_number('max(called_at)') }} + 1) / 2.0
        ) as middle_hour_no
    from calls
),

affected as (
    -- each finding's calls, flagged when they are what the finding is about
    select
        kept.segment,
        kept.finding_type,
        calls.client_id,
        calls.error_reason,
        {{ api_trust.hour_number('calls.called_at') }} >= halves.middle_hour_no as is_second_half,
        case kept.affected_scope
            when 'slow' then calls.latency_ms > kept.baseline_value
            when 'auth' then calls.failure_class = 'auth'
            when
                'availability'
                then calls.failure_class in {{ api_trust.sql_list(var('availability_failure_classes')) }}
            else not calls.is_success
        end as is_affected
    from kept
    cross join halves
    inner join calls
        on
            {%- for dim in wide %}
                (kept.{{ dim }} is null or kept.{{ dim }} = calls.{{ dim }})
                and
            {%- endfor %}
            (kept.finding_type <> 'incident' or kept.started_at <= calls.called_at)
            and (kept.finding_type <> 'incident' or kept.ended_at > calls.called_at)
            -- latency findings are about successful calls only
            and (kept.affected_scope <> 'slow' or calls.is_success)
),

touched as (
    select
        segment,
        finding_type,
        count(distinct case when is_affected then client_id end) as clients_affected,
        sum(case when not is_second_half then 1 else 0 end) as calls_first_half,
        sum(case when is_second_half then 1 else 0 end) as calls_second_half,
        sum(case when is_affected and not is_second_half then 1 else 0 end) as affected_first_half,
        sum(case when is_affected and is_second_half then 1 else 0 end) as affected_second_half
    from affected
    group by segment, finding_type
),

reasons as (
    select
        segment,
        finding_type,
        error_reason,
        row_number() over (partition by segment, finding_type order by count(*) desc, error_reason) as reason_rank
    from affected
    where is_affected and error_reason is not null
    group by segment, finding_type, error_reason
),

changes as (
    select
        *,
        case
            when calls_first_half >= {{ var('rca_min_calls') }} and calls_second_half >= {{ var('rca_min_calls') }}
                then {{ api_trust.two_proportion_z(
                'affected_second_half', 'calls_second_half', 'affected_first_half', 'calls_first_half'
            ) }}
        end as change_z_score
    from touched
),

final as (
    select
        kept.*,
        cast(coalesce(changes.clients_affected, 0) as bigint) as clients_affected,
        reasons.error_reason as dominant_error_reason,
        cast(changes.calls_first_half as bigint) as calls_first_half,
        cast(changes.calls_second_half as bigint) as calls_second_half,
        cast(changes.affected_first_half as bigint) as affected_first_half,
        cast(changes.affected_second_half as bigint) as affected_second_half,
        changes.change_z_score,
        {{ api_trust.upper_p('changes.change_z_score') }} as change_p_value
    from kept
    left join changes
        on
            kept.segment = changes.segment
            and kept.finding_type = changes.finding_type
    left join reasons
        on
            kept.segment = reasons.segment
            and kept.finding_type = reasons.finding_type
            and reasons.reason_rank = 1
)

select * from final
