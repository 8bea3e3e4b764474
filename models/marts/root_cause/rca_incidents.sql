{#
    When were we down? Every window in which an API failed (or slowed) far
    above what it normally does, or received far fewer calls than it should
    have, including none at all (`traffic_drop`), that the single
    Benjamini-Hochberg pass over every finding calls significant (doc
    rca_time_tests): the hourly detector's windows (`window_grain` hour) and
    the daily test's runs of days of one API (`day`, int_rca_window_candidates),
    so that every incident rca_findings names for an API is a row here. Start,
    end, peak hour, the reason carrying the excess, clients affected and what it
    cost, all from the API's hours (int_rca_api_hours_baselined); lift and
    q-value from the test that found the window. A run of days of a segment
    across APIs (no API) is a finding only.
#}

with

tested as (
    select * from {{ ref('int_rca_time_windows_tested') }}
),

decisions as (
    select * from {{ ref('int_rca_candidates_tested') }}
    where finding_type in ('incident', 'traffic_drop') and is_significant and api_name is not null
),

attributed as (
    select * from {{ ref('int_rca_findings_attributed') }}
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

window_decisions as (
    -- the decision that speaks for an hourly window: where two candidates start with it
    -- (narrowed to different segments), the one with the smaller q-value, so that a window
    -- is one row whatever the candidates
    select
        decisions.*,
        row_number() over (
            partition by decisions.finding_type, decisions.api_name, decisions.started_at
            order by decisions.q_value, decisions.segment
        ) as decision_rank
    from decisions
    where decisions.metric in ('failure_rate', 'calls')
),

hourly_windows as (
    -- the hourly detector's windows: an hourly candidate, or a run of days of its API
    -- that started with it and was the stronger of the two (int_rca_candidates_tested)
    select
        tested.window_id,
        tested.api_name,
        tested.window_type,
        window_decisions.segment,
        window_decisions.metric,
        'hour' as window_grain,
        tested.error_reason,
        tested.failure_class,
        tested.window_hours,
        tested.calls,
        tested.failures,
        tested.bad_calls,
        tested.expected_failures,
        tested.expected,
        tested.excess_failures,
        tested.excess_bad_calls,
        tested.weighted_failures,
        tested.call_weight,
        tested.lift,
        tested.lift_lower,
        tested.p_value,
        window_decisions.q_value,
        tested.started_at,
        tested.ended_at
    from tested
    inner join window_decisions
        on
            tested.window_type = window_decisions.finding_type
            and tested.api_name = window_decisions.api_name
            and tested.started_at = window_decisions.started_at
            and window_decisions.decision_rank = 1
),

runs as (
    -- the daily test's runs of days of one API that no hourly window stands for: one
    -- that overlaps an hourly window of the same API and metric is that incident seen
    -- by days, which the hourly window dates more closely. Incidents only: a traffic drop is
    -- the hourly detector's alone
    select decisions.*
    from decisions
    left join hourly_windows
        on
            decisions.finding_type = hourly_windows.window_type
            and decisions.api_name = hourly_windows.api_name
            and decisions.metric = hourly_windows.metric
            and decisions.started_at < hourly_windows.ended_at
            and decisions.ended_at > hourly_windows.started_at
    where decisions.finding_type = 'incident' and hourly_windows.window_id is null
),

run_totals as (
    -- a run's counts and seasonal expectation from its API's hours with calls, as the
    -- hourly detector counts its windows
    select
        runs.api_name,
        runs.metric,
        runs.started_at,
        min(hours.hour_no) as first_hour_no,
        cast(count(*) as integer) as window_hours,
        cast(sum(hours.calls) as bigint) as calls,
        sum(hours.weighted_calls) as weighted_calls,
        cast(sum(hours.failures) as bigint) as failures,
        sum(hours.weighted_failures) as weighted_failures,
        cast(sum(hours.bad_calls) as bigint) as bad_calls,
        sum(coalesce(hours.expected_failures, 0)) as expected_failures
    from runs
    inner join hours
        on
            runs.api_name = hours.api_name
            and runs.started_at <= hours.hour_at
            and runs.ended_at > hours.hour_at
            and hours.calls > 0
    group by runs.api_name, runs.metric, runs.started_at
),

day_windows as (
    select
        runs.api_name || '#day#' || case when runs.metric = 'slow_call_share' then 'slow#' else '' end
        || cast(run_totals.first_hour_no as string) as window_id,
        runs.api_name,
        runs.finding_type as window_type,
        runs.segment,
        runs.metric,
        'day' as window_grain,
        attributed.error_reason,
        attributed.failure_class,
        run_totals.window_hours,
        run_totals.calls,
        run_totals.failures,
        run_totals.bad_calls,
        run_totals.expected_failures,
        cast(null as double) as expected,
        -- the hourly test's own excess (a drop's: its missing calls); a window's excess
        -- failures are counted below, from these columns, for every window alike
        cast(null as double) as excess_failures,
        -- what rca_slo_breaches subtracts is the hourly detector's: none for a run of days
        cast(null as double) as excess_bad_calls,
        run_totals.weighted_failures,
        {{ api_trust.safe_rate('run_totals.weighted_calls', 'run_totals.calls') }} as call_weight,
        runs.lift,
        runs.lift_lower,
        runs.p_value,
        runs.q_value,
        runs.started_at,
        runs.ended_at
    from runs
    inner join run_totals
        on
            runs.api_name = run_totals.api_name
            and runs.metric = run_totals.metric
            and runs.started_at = run_totals.started_at
    left join attributed
        on
            runs.finding_type = attributed.finding_type
            and runs.segment = attributed.segment
            and runs.metric = attributed.metric
            and runs.started_at = attributed.started_at
),

windows as (
    select * from hourly_windows
    union all
    select * from day_windows
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
            -- an hour without calls has no p-value, and is never the peak (on either engine)
            row_number() over (partition by window_id order by p_value nulls last, hour_at) as p_rank
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
        windows.segment,
        windows.metric,
        cast(windows.window_grain as string) as window_grain,
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
        -- as the hourly test counts an incident's (int_rca_time_windows_tested)
        windows.weighted_failures - windows.expected_failures * windows.call_weight as excess_failures,
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
