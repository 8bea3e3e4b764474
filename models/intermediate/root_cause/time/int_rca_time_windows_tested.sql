{#
    Candidate incident and traffic-drop windows: consecutive flagged hours of
    one API (int_rca_api_hours_baselined), each tested as a whole against its
    baseline and scan-corrected for every window the API could have shown
    (doc rca_time_tests). One row per window, significant or not: the single
    Benjamini-Hochberg pass over all findings decides (int_rca_time_candidates).
#}
{%- set flag_p = var('rca_incident_flag_p') -%}

with

hours as (
    select * from {{ ref('int_rca_api_hours_baselined') }}
),

buckets as (
    select * from {{ ref('int_rca_calls_bucketed') }}
),

-- failures: runs of flagged hours among the hours with calls
failure_hours as (
    select
        *,
        row_number() over (partition by api_name order by hour_at) as call_hour_rank
    from hours
    where calls > 0
),

failure_series as (
    select
        api_name,
        count(*) as hours_tested
    from failure_hours
    group by api_name
),

failure_flagged as (
    select
        *,
        'incident' as window_type,
        call_hour_rank - row_number() over (partition by api_name order by hour_at) as island,
        failures as observed,
        expected_failures as expected,
        failure_baseline_rel_var as baseline_rel_var,
        failure_day_dispersion as day_dispersion,
        failure_dispersion as dispersion
    from failure_hours
    where is_failure_flagged
),

-- traffic: runs of flagged hours that follow each other in time (a coverage gap ends a run)
traffic_series as (
    select
        api_name,
        count(*) as hours_tested
    from hours
    where is_traffic_tested
    group by api_name
),

traffic_flagged as (
    select
        *,
        'traffic_drop' as window_type,
        hour_no - row_number() over (partition by api_name order by hour_at) as island,
        calls as observed,
        expected_calls as expected,
        traffic_baseline_rel_var as baseline_rel_var,
        traffic_day_dispersion as day_dispersion,
        traffic_dispersion as dispersion
    from hours
    where is_traffic_flagged
),

flagged as (
    select
        api_name, window_type, island, hour_no, hour_at, day_at, calls, weighted_calls, failures,
        weighted_failures, bad_calls, expected_failures, observed, expected, baseline_rel_var,
        day_dispersion, dispersion
    from failure_flagged
    union all
    select
        api_name, window_type, island, hour_no, hour_at, day_at, calls, weighted_calls, failures,
        weighted_failures, bad_calls, expected_failures, observed, expected, baseline_rel_var,
        day_dispersion, dispersion
    from traffic_flagged
),

-- hours of one window on one day share that day's random level
window_days as (
    select
        api_name,
        window_type,
        island,
        sum(expected) as day_expected
    from flagged
    group by api_name, window_type, island, day_at
),

window_day_variance as (
    select
        api_name,
        window_type,
        island,
        sum(power(day_expected, 2)) as expected_square_by_day
    from window_days
    group by api_name, window_type, island
),

windows as (
    select
        api_name,
        window_type,
        island,
        min(hour_at) as started_at,
        {{ api_trust.add_hours('max(hour_at)', 1) }} as ended_at,
        min(hour_no) as first_hour_no,
        count(*) as window_hours,
        sum(case when calls = 0 then 1 else 0 end) as silent_hours,
        sum(calls) as calls,
        sum(weighted_calls) as weighted_calls,
        sum(failures) as failures,
        sum(weighted_failures) as weighted_failures,
        sum(bad_calls) as bad_calls,
        sum(expected_failures) as expected_failures,
        sum(observed) as observed,
        sum(expected) as expected,
        -- the baseline's error is shared by the window's hours: counted as fully correlated
        {{ api_trust.safe_rate('sum(baseline_rel_var * expected)', 'sum(expected)') }} as baseline_rel_var,
        max(day_dispersion) as day_dispersion,
        max(case when expected > 0 then observed / expected end) as peak_ratio
    from flagged
    group by api_name, window_type, island
),

-- the API's usual mix of reasons and its usual share of bad calls among failures
usual_hours as (
    select * from hours
    where calls > 0 and not is_failure_flagged
),

usual_failures as (
    select
        api_name,
        sum(failures) as failures,
        sum(bad_calls) as bad_calls,
        sum(calls) as calls,
        sum(weighted_calls) as weighted_calls
    from usual_hours
    group by api_name
),

hour_reasons as (
    select
        api_name,
        {{ api_trust.truncate_to('hour', 'bucket_at') }} as hour_at,
        error_reason,
        max(failure_class) as failure_class,
        sum(calls) as failures
    from buckets
    where not is_success
    group by api_name, {{ api_trust.truncate_to('hour', 'bucket_at') }}, error_reason
),

usual_reasons as (
    select
        hour_reasons.api_name,
        hour_reasons.error_reason,
        sum(hour_reasons.failures) as failures
    from hour_reasons
    inner join usual_hours
        on
            hour_reasons.api_name = usual_hours.api_name
            and hour_reasons.hour_at = usual_hours.hour_at
    group by hour_reasons.api_name, hour_reasons.error_reason
),

window_reasons as (
    select
        failure_flagged.api_name,
        failure_flagged.island,
        hour_reasons.error_reason,
        max(hour_reasons.failure_class) as failure_class,
        sum(hour_reasons.failures) as failures
    from failure_flagged
    inner join hour_reasons
        on
            failure_flagged.api_name = hour_reasons.api_name
            and failure_flagged.hour_at = hour_reasons.hour_at
    group by failure_flagged.api_name, failure_flagged.island, hour_reasons.error_reason
),

reason_excess as (
    select
        window_reasons.api_name,
        window_reasons.island,
        window_reasons.error_reason,
        window_reasons.failure_class,
        window_reasons.failures - windows.expected * coalesce(
            {{ api_trust.safe_rate('usual_reasons.failures', 'usual_failures.failures') }}, 0
        ) as excess_failures
    from window_reasons
    inner join windows
        on
            window_reasons.api_name = windows.api_name
            and window_reasons.island = windows.island
            and windows.window_type = 'incident'
    left join usual_reasons
        on
            window_reasons.api_name = usual_reasons.api_name
            and window_reasons.error_reason = usual_reasons.error_reason
    left join usual_failures
        on window_reasons.api_name = usual_failures.api_name
),

top_reasons as (
    select
        api_name,
        island,
        error_reason,
        failure_class,
        row_number() over (
            partition by api_name, island order by excess_failures desc, error_reason
        ) as reason_rank
    from reason_excess
),

tested as (
    select
        windows.*,
        window_day_variance.expected_square_by_day,
        case windows.window_type
            when 'incident' then failure_series.hours_tested
            else traffic_series.hours_tested
        end as hours_tested,
        -- variance / mean of the window's count: chance, day-to-day variation, baseline error
        1 + {{ api_trust.safe_rate(
            'windows.day_dispersion * window_day_variance.expected_square_by_day'
            ~ ' + windows.baseline_rel_var * power(windows.expected, 2)',
            'windows.expected'
        ) }} as dispersion,
        -- weighted calls per logged call (1 unless the log was sampled)
        coalesce(
            {{ api_trust.safe_rate('windows.weighted_calls', 'windows.calls') }},
            {{ api_trust.safe_rate('usual_failures.weighted_calls', 'usual_failures.calls') }},
            1.0
        ) as call_weight,
        coalesce({{ api_trust.safe_rate('usual_failures.bad_calls', 'usual_failures.failures') }}, 0)
            as usual_bad_share,
        top_reasons.error_reason,
        top_reasons.failure_class
    from windows
    inner join window_day_variance
        on
            windows.api_name = window_day_variance.api_name
            and windows.window_type = window_day_variance.window_type
            and windows.island = window_day_variance.island
    left join failure_series
        on windows.api_name = failure_series.api_name
    left join traffic_series
        on windows.api_name = traffic_series.api_name
    left join usual_failures
        on windows.api_name = usual_failures.api_name
    left join top_reasons
        on
            windows.api_name = top_reasons.api_name
            and windows.island = top_reasons.island
            and windows.window_type = 'incident'
            and top_reasons.reason_rank = 1
),

scored as (
    select
        *,
        case
            when window_type = 'incident'
                then {{ api_trust.poisson_upper_p('observed / dispersion', 'expected / dispersion') }}
            else {{ api_trust.poisson_lower_p('observed / dispersion', 'expected / dispersion') }}
        end as raw_p_value,
        {{ api_trust.poisson_lower_bound('observed / dispersion') }} * dispersion as observed_lower,
        {{ api_trust.poisson_upper_bound('observed / dispersion') }} * dispersion as observed_upper
    from tested
),

series_counts as (
    select
        (select count(*) from failure_series) as incident_series,
        (select count(*) from traffic_series) as traffic_series
),

final as (
    select
        -- ids
        scored.api_name || '#' || case when scored.window_type = 'traffic_drop' then 'drop#' else '' end
        || cast(scored.first_hour_no as varchar) as window_id,

        -- strings
        scored.api_name,
        scored.window_type,
        scored.error_reason,
        scored.failure_class,

        -- numbers
        cast(scored.window_hours as integer) as window_hours,
        cast(scored.silent_hours as integer) as silent_hours,
        cast(scored.hours_tested as bigint) as hours_tested,
        cast(scored.calls as bigint) as calls,
        cast(scored.weighted_calls as double) as weighted_calls,
        cast(scored.failures as bigint) as failures,
        cast(scored.weighted_failures as double) as weighted_failures,
        cast(scored.bad_calls as bigint) as bad_calls,
        cast(scored.observed as double) as observed,
        cast(scored.expected as double) as expected,
        cast(scored.expected_failures as double) as expected_failures,
        scored.call_weight,
        scored.dispersion,
        scored.peak_ratio,
        case
            when scored.window_type = 'incident' then {{ api_trust.safe_rate('scored.observed', 'scored.expected') }}
            else scored.expected / greatest(scored.observed, 0.5)
        end as lift,
        case
            when scored.window_type = 'incident' then {{ api_trust.safe_rate('scored.observed_lower', 'scored.expected') }}
            else {{ api_trust.safe_rate('scored.expected', 'scored.observed_upper') }}
        end as lift_lower,
        -- in weighted calls: failed calls above the baseline, or calls that never arrived
        case
            when scored.window_type = 'incident'
                then scored.weighted_failures - scored.expected_failures * scored.call_weight
            else (scored.expected - scored.observed) * scored.call_weight
        end as excess_failures,
        case
            when scored.window_type = 'incident'
                then scored.bad_calls - scored.expected_failures * scored.usual_bad_share
            else 0.0
        end as excess_bad_calls,
        scored.raw_p_value,
        {{ api_trust.scan_corrected_p('scored.raw_p_value', 'scored.hours_tested', 'scored.window_hours') }} as p_value,

        -- booleans
        {{ api_trust.scan_corrected_p('scored.raw_p_value', 'scored.hours_tested', 'scored.window_hours') }}
        * case when scored.window_type = 'incident' then series_counts.incident_series else series_counts.traffic_series end
        <= {{ var('rca_fdr_q') }} as is_beyond_chance,

        -- timestamps
        cast(scored.started_at as timestamp) as started_at,
        cast(scored.ended_at as timestamp) as ended_at
    from scored
    cross join series_counts
)

select * from final
