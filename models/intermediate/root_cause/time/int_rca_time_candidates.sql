{#
    Every candidate finding of the time side in the shape all producers share
    (one Benjamini-Hochberg pass over all of them follows): incidents and
    traffic drops (int_rca_time_windows_tested), recurring seasonal bumps
    (int_rca_seasonal_bumps_tested) and chronic SLO breaches
    (int_slo_periods_measured). Each p-value is one-sided and already corrected
    for the scan that found it (doc rca_time_tests). Pruned before this point,
    none of which can be significant: hours whose own p is above
    vars.rca_incident_flag_p never start a window, and SLOs with fewer chronic
    bad calls than vars.slo_min_bad_calls are never breaches.
#}

with

windows as (
    select * from {{ ref('int_rca_time_windows_tested') }}
),

bumps as (
    select * from {{ ref('int_rca_seasonal_bumps_tested') }}
),

periods as (
    select * from {{ ref('int_slo_periods_measured') }}
),

windows_described as (
    select
        *,
        -- the end's time of day, with its date when the window crosses midnight
        case
            when cast(ended_at as date) = cast(started_at as date) then substr(cast(ended_at as string), 12, 5)
            else substr(cast(ended_at as string), 1, 16)
        end as end_text
    from windows
),

window_candidates as (
    select
        window_type as finding_type,
        api_name,
        'api_name=' || api_name as segment,
        started_at,
        ended_at,
        case when window_type = 'incident' then 'failure_rate' else 'calls' end as metric,
        weighted_calls as calls,
        case when window_type = 'incident' then weighted_failures else weighted_calls end as observed,
        expected * call_weight as expected,
        excess_failures,
        lift,
        lift_lower,
        p_value,
        error_reason,
        failure_class,
        case
            when window_type = 'incident'
                then
                    api_name || ' failed ' || cast(failures as string) || ' of ' || cast(calls as string)
                    || ' calls (' || {{ api_trust.fmt_pct('failures / calls') }} || ') from '
                    || substr(cast(started_at as string), 1, 16) || ' to ' || end_text
                    || ' UTC, against ' || cast(round(expected, 1) as string) || ' expected at those hours'
                    || coalesce('; the excess is mostly ' || error_reason, '')
            else
                api_name || ' received ' || cast(calls as string) || ' calls from '
                || substr(cast(started_at as string), 1, 16) || ' to ' || end_text
                || ' UTC, against ' || cast(round(expected, 1) as string) || ' expected at those hours'
                || case
                    when silent_hours > 0 then ' (' || cast(silent_hours as string) || ' h with no call at all)'
                    else ''
                end
        end as evidence
    from windows_described
),

bump_candidates as (
    select
        'seasonal_bump' as finding_type,
        api_name,
        'api_name=' || api_name as segment,
        -- the bump's first hour in the data: it recurs every day from there on
        first_seen_at as started_at,
        cast(null as timestamp) as ended_at,
        'failure_rate' as metric,
        weighted_calls as calls,
        weighted_failures as observed,
        expected * coalesce({{ api_trust.safe_rate('weighted_calls', 'calls') }}, 1.0) as expected,
        excess_failures,
        lift,
        lift_lower,
        p_value,
        error_reason,
        failure_class,
        'Every day from ' || lpad(cast(first_hour_of_day as string), 2, '0') || ':00 to '
        || lpad(cast(end_hour_of_day as string), 2, '0') || ':00 UTC ' || api_name || ' failed '
        || cast(failures as string) || ' of ' || cast(calls as string) || ' calls ('
        || {{ api_trust.fmt_pct('failures / calls') }} || '), against ' || cast(round(expected, 1) as string)
        || ' expected from its rate at other hours: a recurring bump, not an incident every night'
            as evidence
    from bumps
),

slo_candidates as (
    select
        'slo_breach' as finding_type,
        api_name,
        'api_name=' || api_name as segment,
        case when is_period_inside_data then period_started_at end as started_at,
        cast(null as timestamp) as ended_at,
        'bad_call_rate' as metric,
        cast(eligible_calls as double) as calls,
        chronic_bad_calls as observed,
        error_budget_calls as expected,
        greatest(chronic_bad_calls - error_budget_calls, 0) as excess_failures,
        {{ api_trust.safe_rate('chronic_bad_calls', 'error_budget_calls') }} as lift,
        {{ api_trust.safe_rate('chronic_bad_calls_lower', 'error_budget_calls') }} as lift_lower,
        chronic_p_value as p_value,
        error_reason,
        failure_class,
        api_name || ' failed ' || cast(bad_calls as string) || ' of ' || cast(eligible_calls as string)
        || ' eligible calls by the fault of the platform over its ' || cast(cast(slo_period_days as integer) as string)
        || '-day SLO period ('
        || cast(round(chronic_bad_calls, 1) as string)
        || ' beyond its incidents), against a budget of '
        || cast(round(error_budget_calls, 1) as string)
        || ' (target '
        || {{ api_trust.fmt_pct('availability_target', 2) }}
        || ')'
            as evidence
    from periods
    where chronic_bad_calls >= {{ var('slo_min_bad_calls') }}
),

unioned as (
    select * from window_candidates
    union all
    select * from bump_candidates
    union all
    select * from slo_candidates
),

final as (
    select
        cast(finding_type as string) as finding_type,
        cast(api_name as string) as api_name,
        cast(segment as string) as segment,
        cast(started_at as timestamp) as started_at,
        cast(ended_at as timestamp) as ended_at,
        cast(metric as string) as metric,
        cast(calls as double) as calls,
        cast(observed as double) as observed,
        cast(expected as double) as expected,
        cast(excess_failures as double) as excess_failures,
        cast(0.0 as double) as excess_slow_calls,
        cast(lift as double) as lift,
        cast(lift_lower as double) as lift_lower,
        cast(coalesce(p_value, 1.0) as double) as p_value,
        cast(error_reason as string) as error_reason,
        cast(failure_class as string) as failure_class,
        cast(evidence as string) as evidence
    from unioned
)

select * from final
