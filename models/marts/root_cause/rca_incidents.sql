{#
    Outage-like incidents: contiguous anomalous hours of an API
    (rca_api_hourly_baseline: far above its own rolling median and MAD, and
    significant given the hour's calls) form one incident, with start, end,
    peak, dominant reason, clients affected and excess failures (doc
    rca_incident_detection).
#}

with

hours as (
    select * from {{ ref('rca_api_hourly_baseline') }}
),

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

apis as (
    select * from {{ ref('dim_apis') }}
),

anomalous as (
    select
        *,
        hour_no - row_number() over (partition by api_name order by hour_no) as island
    from hours
    where is_anomalous
),

islands as (
    select
        api_name,
        island,
        min(hour_at) as started_at,
        {{ api_trust.add_hours('max(hour_at)', 1) }} as ended_at,
        min(hour_no) as first_hour_no,
        cast(count(*) as integer) as anomalous_hours,
        max(failure_rate) as peak_failure_rate,
        sum(calls * baseline_failure_rate) as expected_failures,
        max(z_score) as peak_z_score
    from anomalous
    group by api_name, island
),

peaks as (
    select
        anomalous.api_name,
        anomalous.island,
        min(anomalous.hour_at) as peak_hour_at
    from anomalous
    inner join islands
        on
            anomalous.api_name = islands.api_name
            and anomalous.island = islands.island
            and anomalous.failure_rate = islands.peak_failure_rate
    group by anomalous.api_name, anomalous.island
),

incident_calls as (
    select
        islands.api_name,
        islands.island,
        calls.client_id,
        calls.error_reason,
        calls.is_success
    from islands
    inner join calls
        on
            islands.api_name = calls.api_name
            and islands.started_at <= calls.called_at
            and islands.ended_at > calls.called_at
),

reasons as (
    select
        api_name,
        island,
        error_reason,
        row_number() over (partition by api_name, island order by count(*) desc, error_reason) as reason_rank
    from incident_calls
    where not is_success
    group by api_name, island, error_reason
),

impact as (
    select
        api_name,
        island,
        count(*) as calls,
        sum(case when is_success then 0 else 1 end) as failures,
        count(distinct case when not is_success then client_id end) as clients_affected
    from incident_calls
    group by api_name, island
),

final as (
    select
        -- ids
        islands.api_name || '#' || cast(islands.first_hour_no as varchar) as incident_id,

        -- strings
        islands.api_name,
        apis.owner_team,
        reasons.error_reason as dominant_error_reason,

        -- numbers
        islands.anomalous_hours,
        cast(impact.calls as bigint) as calls,
        cast(impact.failures as bigint) as failures,
        {{ api_trust.safe_rate('impact.failures', 'impact.calls') }} as failure_rate,
        {{ api_trust.safe_rate('islands.expected_failures', 'impact.calls') }} as baseline_failure_rate,
        islands.peak_failure_rate,
        islands.expected_failures,
        impact.failures - islands.expected_failures as excess_failures,
        cast(impact.clients_affected as bigint) as clients_affected,
        islands.peak_z_score,

        -- timestamps
        islands.started_at,
        islands.ended_at,
        peaks.peak_hour_at
    from islands
    inner join impact
        on
            islands.api_name = impact.api_name
            and islands.island = impact.island
    inner join peaks
        on
            islands.api_name = peaks.api_name
            and islands.island = peaks.island
    left join reasons
        on
            islands.api_name = reasons.api_name
            and islands.island = reasons.island
            and reasons.reason_rank = 1
    left join apis
        on islands.api_name = apis.api_name
)

select * from final
