{#
    Every significant problem from the root-cause marts in one shape, before
    de-duplication and ranking (rca_findings). One CTE per source mart; the
    wide dimension columns (null = any) say which calls a candidate covers.
#}
{%- set all_dimensions = ['api_name', 'api_version', 'region', 'document_type', 'client_type', 'client_id'] -%}

with

lift as (
    select * from {{ ref('rca_failure_lift') }}
),

client_auth as (
    select * from {{ ref('rca_client_auth_failures') }}
),

incidents as (
    select * from {{ ref('rca_incidents') }}
),

regressions as (
    select * from {{ ref('rca_version_regressions') }}
),

tails as (
    select * from {{ ref('rca_latency_tails') }}
),

breaches as (
    select * from {{ ref('rca_slo_breaches') }}
),

segment_candidates as (
    select
        'failure_segment' as finding_type,
        segment,
        {{ api_trust.segment_dimensions(all_dimensions) }},
        -- a segment across APIs (a region, a client) has no API owner: route it anyway
        coalesce(
            owner_team,
            case when client_id is not null then '{{ var("rca_client_owner_team", "client-success") }}' end,
            '{{ var("default_owner_team") }}'
        ) as owner_team,
        dimension_1,
        dimension_2,
        'failure_rate' as metric,
        calls,
        failure_rate as segment_value,
        baseline_rate as baseline_value,
        lift,
        excess_failures,
        0.0 as excess_slow_calls,
        p_value,
        q_value,
        cast(null as varchar) as reference,
        cast(null as timestamp) as started_at,
        cast(null as timestamp) as ended_at
    from lift
    where is_significant and segment_level in ('single', 'pair')
),

client_candidates as (
    select
        'client_auth' as finding_type,
        'client_type=' || client_type || ', client_id=' || client_id as segment,
        {{ api_trust.segment_dimensions(['client_type', 'client_id']) }},
        '{{ var("rca_client_owner_team", "client-success") }}' as owner_team,
        'client_id' as dimension_1,
        cast(null as varchar) as dimension_2,
        'auth_failure_rate' as metric,
        calls,
        auth_failure_rate as segment_value,
        baseline_rate as baseline_value,
        lift,
        excess_failures,
        0.0 as excess_slow_calls,
        p_value,
        q_value,
        dominant_error_reason as reference,
        first_auth_failure_at as started_at,
        last_auth_failure_at as ended_at
    from client_auth
    where is_significant
),

incident_candidates as (
    select
        'incident' as finding_type,
        'api_name=' || api_name as segment,
        {{ api_trust.segment_dimensions(['api_name']) }},
        owner_team,
        'api_name' as dimension_1,
        cast(null as varchar) as dimension_2,
        'hourly_failure_rate' as metric,
        calls,
        failure_rate as segment_value,
        baseline_failure_rate as baseline_value,
        {{ api_trust.safe_rate('failure_rate', 'baseline_failure_rate') }} as lift,
        excess_failures,
        0.0 as excess_slow_calls,
        cast(null as double) as p_value,
        cast(null as double) as q_value,
        dominant_error_reason as reference,
        started_at,
        ended_at
    from incidents
),

regression_candidates as (
    select
        'version_regression' as finding_type,
        'api_name=' || api_name || ', api_version=' || api_version as segment,
        {{ api_trust.segment_dimensions(['api_name', 'api_version']) }},
        owner_team,
        'api_name' as dimension_1,
        'api_version' as dimension_2,
        case when is_latency_regression then 'p95_latency_ms' else 'failure_rate' end as metric,
        calls,
        case when is_latency_regression then p95_latency_ms else failure_rate end as segment_value,
        case when is_latency_regression then previous_p95_latency_ms else previous_failure_rate end
            as baseline_value,
        case when is_latency_regression then p95_latency_ratio else failure_rate / previous_failure_rate end
            as lift,
        case when is_failure_regression then excess_failures else 0.0 end as excess_failures,
        case when is_latency_regression then excess_slow_calls else 0.0 end as excess_slow_calls,
        case when is_latency_regression then latency_p_value else failure_p_value end as p_value,
        case when is_latency_regression then latency_q_value else failure_q_value end as q_value,
        previous_version as reference,
        cast(null as timestamp) as started_at,
        cast(null as timestamp) as ended_at
    from regressions
    where is_regression
),

tail_candidates as (
    select
        'latency_tail' as finding_type,
        'api_name=' || api_name as segment,
        {{ api_trust.segment_dimensions(['api_name']) }},
        owner_team,
        'api_name' as dimension_1,
        cast(null as varchar) as dimension_2,
        'p95_latency_ms' as metric,
        successful_calls as calls,
        p95_latency_ms as segment_value,
        p50_latency_ms * peer_tail_ratio as baseline_value,
        tail_ratio / peer_tail_ratio as lift,
        0.0 as excess_failures,
        excess_slow_calls,
        p_value,
        q_value,
        api_family as reference,
        cast(null as timestamp) as started_at,
        cast(null as timestamp) as ended_at
    from tails
    where is_heavy_tail
),

slo_candidates as (
    select
        'slo_breach' as finding_type,
        'api_name=' || api_name as segment,
        {{ api_trust.segment_dimensions(['api_name']) }},
        owner_team,
        'api_name' as dimension_1,
        cast(null as varchar) as dimension_2,
        'availability' as metric,
        eligible_calls as calls,
        availability as segment_value,
        availability_target as baseline_value,
        budget_consumed as lift,
        chronic_excess_bad_calls as excess_failures,
        0.0 as excess_slow_calls,
        cast(null as double) as p_value,
        cast(null as double) as q_value,
        cast(bad_calls as varchar) as reference,
        cast(null as timestamp) as started_at,
        measured_at as ended_at
    from breaches
    where is_chronic_breach
),

final as (
    select * from segment_candidates
    union all
    select * from client_candidates
    union all
    select * from incident_candidates
    union all
    select * from regression_candidates
    union all
    select * from tail_candidates
    union all
    select * from slo_candidates
)

select * from final
