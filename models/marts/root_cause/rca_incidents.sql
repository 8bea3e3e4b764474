{#
    When were we down? Windows in which an API failed far above its seasonal
    baseline (`incident`) or received far fewer calls than it should have,
    including none at all (`traffic_drop`), that the single Benjamini-Hochberg
    pass over every finding calls significant (doc rca_time_tests): start,
    end, peak, the reason carrying the excess, clients affected and what it
    cost.
#}

with

tested as (
    select * from {{ ref('int_rca_time_windows_tested') }}
),

decisions as (
    select * from {{ ref('int_rca_candidates_tested') }}
    where finding_type in ('incident', 'traffic_drop') and is_significant
),

windows as (
    select
        tested.*,
        decisions.q_value
    from tested
    inner join decisions
        on
            tested.window_type = decisions.finding_type
            and tested.api_name = decisions.api_name
            and tested.started_at = decisions.started_at
),

hours as (
    select * from {{ ref('int_rca_api_hours_baselined') }}
),

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

slos as (
    select * from {{ ref('int_api_slos_resolved') }}
),

window_hours as (
    select
        windows.window_id,
        hours.api_name,
        hours.hour_at,
        hours.calls,
        hours.failures,
        case
            when windows.window_type = 'incident' then hours.failure_p_value else hours.traffic_p_value
        end as p_value
    from windows
    inner join hours
        on
            windows.api_name = hours.api_name
            and windows.started_at <= hours.hour_at
            and windows.ended_at > hours.hour_at
),

peaks as (
    select
        window_id,
        max({{ api_trust.safe_rate('failures', 'calls') }}) as peak_failure_rate,
        min(hour_at) filter (where p_rank = 1) as peak_hour_at
    from (
        select
            *,
            row_number() over (partition by window_id order by p_value, hour_at) as p_rank
        from window_hours
    ) as ranked
    group by window_id
),

-- an equi-join on the window's hours, not a range join of calls and windows
affected as (
    select
        window_hours.window_id,
        count(distinct case when not calls.is_success then calls.client_id end) as clients_affected
    from window_hours
    inner join calls
        on
            window_hours.api_name = calls.api_name
            and window_hours.hour_at = {{ api_trust.truncate_to('hour', 'calls.called_at') }}
    group by window_hours.window_id
),

final as (
    select
        -- ids
        windows.window_id as incident_id,

        -- strings
        windows.api_name,
        windows.window_type as finding_type,
        slos.owner_team,
        windows.error_reason as dominant_error_reason,
        windows.failure_class,

        -- numbers
        windows.window_hours as anomalous_hours,
        windows.calls,
        windows.failures,
        {{ api_trust.safe_rate('windows.failures', 'windows.calls') }} as failure_rate,
        {{ api_trust.safe_rate('windows.expected_failures', 'windows.calls') }} as baseline_failure_rate,
        peaks.peak_failure_rate,
        windows.expected_failures,
        case
            when windows.window_type = 'incident' then windows.excess_failures
            else windows.weighted_failures - windows.expected_failures * windows.call_weight
        end as excess_failures,
        case when windows.window_type = 'traffic_drop' then windows.expected end as expected_calls,
        case when windows.window_type = 'traffic_drop' then windows.excess_failures end as missing_calls,
        windows.bad_calls,
        windows.excess_bad_calls,
        cast(coalesce(affected.clients_affected, 0) as bigint) as clients_affected,
        windows.lift,
        windows.lift_lower,
        windows.p_value,
        windows.q_value,

        -- timestamps
        windows.started_at,
        windows.ended_at,
        peaks.peak_hour_at
    from windows
    inner join peaks
        on windows.window_id = peaks.window_id
    left join affected
        on windows.window_id = affected.window_id
    left join slos
        on windows.api_name = slos.api_name
)

select * from final
