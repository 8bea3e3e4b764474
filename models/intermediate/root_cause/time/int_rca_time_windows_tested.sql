{#
    Candidate incident and traffic-drop windows (doc rca_time_tests): every
    API's hourly series scanned with windows of 1, 2, 4, ... 1024 hours whose
    starts lie on a grid of a quarter of their length (every start up to 4
    hours), each tested against its seasonal baseline. A window flagged at
    vars.rca_incident_flag_p is kept when no overlapping flagged window of the
    same API is more extreme (non-maximum suppression), and its p-value is
    corrected for every window of the API's grid (Bonferroni over about 4 x
    its hours, whatever the length). One row per kept window with a corrected
    p below 1: the single Benjamini-Hochberg pass decides which are findings.
#}
{%- set flag_p = var('rca_incident_flag_p') -%}
{%- set scales = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] -%}

with

hours as (
    select * from {{ ref('int_rca_api_hours_baselined') }}
),

buckets as (
    select * from {{ ref('int_rca_calls_bucketed') }}
),

-- the two series: failures over the hours with calls, calls over every tested hour
series as (
    select
        api_name,
        'incident' as window_type,
        row_number() over (partition by api_name order by hour_at) as series_rank,
        hour_at,
        day_at,
        cast(failures as double) as observed,
        expected_failures as expected,
        failure_baseline_rel_var * expected_failures as rel_var_expected,
        failure_day_dispersion * expected_failures as dispersion_expected,
        -- bursts within a day: the hour's extra variance beyond the day's level
        greatest(coalesce(failure_hour_dispersion, 0) - coalesce(failure_day_dispersion, 0), 0)
        * power(expected_failures, 2) as burst_variance,
        coalesce(failure_p_value <= {{ flag_p }}, false) as is_hour_flagged
    from hours
    where calls > 0
    union all
    select
        api_name,
        'traffic_drop' as window_type,
        row_number() over (partition by api_name order by hour_at) as series_rank,
        hour_at,
        day_at,
        cast(calls as double) as observed,
        expected_calls as expected,
        traffic_baseline_rel_var * expected_calls as rel_var_expected,
        traffic_day_dispersion * expected_calls as dispersion_expected,
        greatest(coalesce(traffic_hour_dispersion, 0) - coalesce(traffic_day_dispersion, 0), 0)
        * power(expected_calls, 2) as burst_variance,
        coalesce(traffic_p_value <= {{ flag_p }}, false) as is_hour_flagged
    from hours
    where is_traffic_tested
),

series_sizes as (
    select
        api_name,
        window_type,
        count(*) as hours_tested,
        -- a typical day's expected count: hours of one day share its random level
        sum(expected) / count(distinct day_at) as day_expected
    from series
    group by api_name, window_type
),

-- running totals once; a window's sum is the difference of two of them (the ranks have no gaps)
running as (
    select
        *,
        sum(observed) over series_order as running_observed,
        sum(expected) over series_order as running_expected,
        sum(rel_var_expected) over series_order as running_rel_var_expected,
        sum(dispersion_expected) over series_order as running_dispersion_expected,
        sum(burst_variance) over series_order as running_burst_variance
    from series
    window series_order as (partition by api_name, window_type order by series_rank rows unbounded preceding)
),

scales as (
    -- the window lengths in hours, with the grid step of their starts
    {%- for length in scales %}
        select
            {{ length }} as window_hours,
            {{ [1, length // 4] | max }} as start_step
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

grid as (
    -- every window ending at a series hour, its start on the grid: totals as the difference of
    -- the running totals at its end and just before its start (zero before the first hour)
    select
        window_end.api_name,
        window_end.window_type,
        scales.window_hours,
        window_end.series_rank - scales.window_hours + 1 as start_rank,
        window_end.series_rank as end_rank,
        window_end.running_observed - coalesce(before_start.running_observed, 0) as observed,
        window_end.running_expected - coalesce(before_start.running_expected, 0) as expected,
        window_end.running_rel_var_expected - coalesce(before_start.running_rel_var_expected, 0)
            as rel_var_expected,
        window_end.running_dispersion_expected - coalesce(before_start.running_dispersion_expected, 0)
            as dispersion_expected,
        window_end.running_burst_variance - coalesce(before_start.running_burst_variance, 0)
            as burst_variance
    from running as window_end
    inner join scales
        on
            window_end.series_rank >= scales.window_hours
            and mod(window_end.series_rank - scales.window_hours, scales.start_step) = 0
    left join running as before_start
        on
            window_end.api_name = before_start.api_name
            and window_end.window_type = before_start.window_type
            and window_end.series_rank - scales.window_hours = before_start.series_rank
),

grid_sizes as (
    select
        api_name,
        window_type,
        count(*) as grid_windows
    from grid
    group by api_name, window_type
),

grid_effective as (
    select
        grid.*,
        {{ api_trust.window_dispersion('grid', 'series_sizes') }} as dispersion
    from grid
    inner join series_sizes
        on
            grid.api_name = series_sizes.api_name
            and grid.window_type = series_sizes.window_type
    where grid.expected > 0
),

grid_scored as (
    select
        *,
        case
            when window_type = 'incident' and observed > 0
                then {{ api_trust.poisson_upper_z('observed / dispersion', 'expected / dispersion') }}
            when window_type = 'traffic_drop'
                then {{ api_trust.poisson_lower_z('observed / dispersion', 'expected / dispersion') }}
        end as z
    from grid_effective
),

flagged as (
    select
        *,
        {{ api_trust.normal_cdf('z') }} as raw_p_value
    from grid_scored
    where z is not null
),

flagged_only as (
    select * from flagged
    where raw_p_value <= {{ flag_p }}
),

-- non-maximum suppression: an overlapping flagged window that is more extreme wins
suppressed as (
    select distinct
        candidate.api_name,
        candidate.window_type,
        candidate.start_rank,
        candidate.end_rank
    from flagged_only as candidate
    inner join flagged_only as rival
        on
            candidate.api_name = rival.api_name
            and candidate.window_type = rival.window_type
            and candidate.end_rank >= rival.start_rank
            and candidate.start_rank <= rival.end_rank
            and (
                candidate.z > rival.z
                or (candidate.z = rival.z and candidate.window_hours > rival.window_hours)
                or (
                    candidate.z = rival.z
                    and candidate.window_hours = rival.window_hours
                    and candidate.start_rank > rival.start_rank
                )
            )
),

kept as (
    select
        flagged_only.*,
        grid_sizes.grid_windows,
        least(1.0, flagged_only.raw_p_value * grid_sizes.grid_windows) as p_value
    from flagged_only
    inner join grid_sizes
        on
            flagged_only.api_name = grid_sizes.api_name
            and flagged_only.window_type = grid_sizes.window_type
    left join suppressed
        on
            flagged_only.api_name = suppressed.api_name
            and flagged_only.window_type = suppressed.window_type
            and flagged_only.start_rank = suppressed.start_rank
            and flagged_only.end_rank = suppressed.end_rank
    where
        suppressed.api_name is null
        -- a corrected p of 1 can never be significant: not a candidate
        and flagged_only.raw_p_value * grid_sizes.grid_windows < 1
),

-- The incident is the best window extended over the hours next to it that are flagged on
-- their own (with day-to-day variation the best window can be the worst hour alone).
flagged_hour_runs as (
    select
        api_name,
        window_type,
        min(series_rank) as run_start_rank,
        max(series_rank) as run_end_rank
    from (
        select
            api_name,
            window_type,
            series_rank,
            series_rank - row_number() over (partition by api_name, window_type order by series_rank) as run
        from series
        where is_hour_flagged
    ) as flagged_hours
    group by api_name, window_type, run
),

extents as (
    select
        kept.api_name,
        kept.window_type,
        kept.start_rank,
        least(kept.start_rank, coalesce(min(flagged_hour_runs.run_start_rank), kept.start_rank)) as first_rank,
        greatest(kept.end_rank, coalesce(max(flagged_hour_runs.run_end_rank), kept.end_rank)) as last_rank
    from kept
    left join flagged_hour_runs
        on
            kept.api_name = flagged_hour_runs.api_name
            and kept.window_type = flagged_hour_runs.window_type
            and kept.start_rank - 1 <= flagged_hour_runs.run_end_rank
            and kept.end_rank + 1 >= flagged_hour_runs.run_start_rank
    group by kept.api_name, kept.window_type, kept.start_rank, kept.end_rank
),

-- two extended incidents that now overlap are one: the more extreme keeps it
extents_suppressed as (
    select distinct
        candidate.api_name,
        candidate.window_type,
        candidate.start_rank
    from extents as candidate
    inner join kept as candidate_window
        on
            candidate.api_name = candidate_window.api_name
            and candidate.window_type = candidate_window.window_type
            and candidate.start_rank = candidate_window.start_rank
    inner join extents as rival
        on
            candidate.api_name = rival.api_name
            and candidate.window_type = rival.window_type
            and candidate.last_rank >= rival.first_rank
            and candidate.first_rank <= rival.last_rank
            and candidate.start_rank <> rival.start_rank
    inner join kept as rival_window
        on
            rival.api_name = rival_window.api_name
            and rival.window_type = rival_window.window_type
            and rival.start_rank = rival_window.start_rank
    where
        candidate_window.z > rival_window.z
        or (candidate_window.z = rival_window.z and candidate.start_rank > rival.start_rank)
),

incidents as (
    select
        kept.*,
        extents.first_rank,
        extents.last_rank
    from kept
    inner join extents
        on
            kept.api_name = extents.api_name
            and kept.window_type = extents.window_type
            and kept.start_rank = extents.start_rank
    left join extents_suppressed
        on
            kept.api_name = extents_suppressed.api_name
            and kept.window_type = extents_suppressed.window_type
            and kept.start_rank = extents_suppressed.start_rank
    where extents_suppressed.api_name is null
),

-- the incident's hours, for its counts and its reason
kept_hours as (
    select
        incidents.api_name,
        incidents.window_type,
        incidents.start_rank,
        series.hour_at,
        series.observed,
        series.expected,
        series.rel_var_expected,
        series.dispersion_expected,
        series.burst_variance,
        hours.calls,
        hours.weighted_calls,
        hours.failures,
        hours.weighted_failures,
        hours.bad_calls,
        hours.expected_failures,
        hours.hour_no
    from incidents
    inner join series
        on
            incidents.api_name = series.api_name
            and incidents.window_type = series.window_type
            and series.series_rank between incidents.first_rank and incidents.last_rank
    inner join hours
        on
            series.api_name = hours.api_name
            and series.hour_at = hours.hour_at
),

kept_totals as (
    select
        api_name,
        window_type,
        start_rank,
        min(hour_at) as started_at,
        {{ api_trust.add_hours('max(hour_at)', 1) }} as ended_at,
        min(hour_no) as first_hour_no,
        count(*) as window_hours,
        sum(observed) as observed,
        sum(expected) as expected,
        sum(rel_var_expected) as rel_var_expected,
        sum(dispersion_expected) as dispersion_expected,
        sum(burst_variance) as burst_variance,
        sum(case when calls = 0 then 1 else 0 end) as silent_hours,
        sum(calls) as calls,
        sum(weighted_calls) as weighted_calls,
        sum(failures) as failures,
        sum(weighted_failures) as weighted_failures,
        sum(bad_calls) as bad_calls,
        sum(expected_failures) as expected_failures
    from kept_hours
    group by api_name, window_type, start_rank
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
        kept_hours.api_name,
        kept_hours.start_rank,
        hour_reasons.error_reason,
        max(hour_reasons.failure_class) as failure_class,
        sum(hour_reasons.failures) as failures
    from kept_hours
    inner join hour_reasons
        on
            kept_hours.api_name = hour_reasons.api_name
            and kept_hours.hour_at = hour_reasons.hour_at
    where kept_hours.window_type = 'incident'
    group by kept_hours.api_name, kept_hours.start_rank, hour_reasons.error_reason
),

top_reasons as (
    select
        window_reasons.api_name,
        window_reasons.start_rank,
        window_reasons.error_reason,
        window_reasons.failure_class,
        row_number() over (
            partition by window_reasons.api_name, window_reasons.start_rank
            order by
                window_reasons.failures - kept_totals.expected_failures * coalesce(
                    {{ api_trust.safe_rate('usual_reasons.failures', 'usual_failures.failures') }}, 0
                ) desc,
                window_reasons.error_reason
        ) as reason_rank
    from window_reasons
    inner join kept_totals
        on
            window_reasons.api_name = kept_totals.api_name
            and window_reasons.start_rank = kept_totals.start_rank
            and kept_totals.window_type = 'incident'
    left join usual_reasons
        on
            window_reasons.api_name = usual_reasons.api_name
            and window_reasons.error_reason = usual_reasons.error_reason
    left join usual_failures
        on window_reasons.api_name = usual_failures.api_name
),

incident_totals as (
    select
        incidents.api_name,
        incidents.window_type,
        incidents.start_rank,
        incidents.grid_windows,
        incidents.raw_p_value,
        incidents.p_value,
        kept_totals.started_at,
        kept_totals.ended_at,
        kept_totals.first_hour_no,
        kept_totals.window_hours,
        kept_totals.silent_hours,
        kept_totals.calls,
        kept_totals.weighted_calls,
        kept_totals.failures,
        kept_totals.weighted_failures,
        kept_totals.bad_calls,
        kept_totals.expected_failures,
        kept_totals.observed,
        kept_totals.expected,
        series_sizes.hours_tested,
        -- the incident's variance / mean, as for a grid window
        {{ api_trust.window_dispersion('kept_totals', 'series_sizes') }} as dispersion
    from incidents
    inner join kept_totals
        on
            incidents.api_name = kept_totals.api_name
            and incidents.window_type = kept_totals.window_type
            and incidents.start_rank = kept_totals.start_rank
    inner join series_sizes
        on
            incidents.api_name = series_sizes.api_name
            and incidents.window_type = series_sizes.window_type
),

tested as (
    select
        incident_totals.*,
        -- weighted calls per logged call (1 unless the log was sampled)
        coalesce(
            {{ api_trust.safe_rate('incident_totals.weighted_calls', 'incident_totals.calls') }},
            {{ api_trust.safe_rate('usual_failures.weighted_calls', 'usual_failures.calls') }},
            1.0
        ) as call_weight,
        coalesce({{ api_trust.safe_rate('usual_failures.bad_calls', 'usual_failures.failures') }}, 0)
            as usual_bad_share,
        top_reasons.error_reason,
        top_reasons.failure_class,
        {{ api_trust.poisson_lower_bound('incident_totals.observed / incident_totals.dispersion') }}
        * incident_totals.dispersion as observed_lower,
        {{ api_trust.poisson_upper_bound('incident_totals.observed / incident_totals.dispersion') }}
        * incident_totals.dispersion as observed_upper
    from incident_totals
    left join usual_failures
        on incident_totals.api_name = usual_failures.api_name
    left join top_reasons
        on
            incident_totals.api_name = top_reasons.api_name
            and incident_totals.start_rank = top_reasons.start_rank
            and incident_totals.window_type = 'incident'
            and top_reasons.reason_rank = 1
),

series_counts as (
    select
        count(case when window_type = 'incident' then 1 end) as incident_series,
        count(case when window_type = 'traffic_drop' then 1 end) as traffic_series
    from series_sizes
),

final as (
    select
        -- ids
        tested.api_name || '#' || case when tested.window_type = 'traffic_drop' then 'drop#' else '' end
        || cast(tested.first_hour_no as string) as window_id,

        -- strings
        tested.api_name,
        tested.window_type,
        tested.error_reason,
        tested.failure_class,

        -- numbers
        cast(tested.window_hours as integer) as window_hours,
        cast(tested.silent_hours as integer) as silent_hours,
        cast(tested.hours_tested as bigint) as hours_tested,
        cast(tested.grid_windows as bigint) as grid_windows,
        cast(tested.calls as bigint) as calls,
        cast(tested.weighted_calls as double) as weighted_calls,
        cast(tested.failures as bigint) as failures,
        cast(tested.weighted_failures as double) as weighted_failures,
        cast(tested.bad_calls as bigint) as bad_calls,
        tested.observed,
        tested.expected,
        cast(tested.expected_failures as double) as expected_failures,
        tested.call_weight,
        tested.dispersion,
        case
            when tested.window_type = 'incident' then {{ api_trust.safe_rate('tested.observed', 'tested.expected') }}
            else tested.expected / greatest(tested.observed, 0.5)
        end as lift,
        case
            when
                tested.window_type = 'incident'
                then {{ api_trust.safe_rate('tested.observed_lower', 'tested.expected') }}
            else {{ api_trust.safe_rate('tested.expected', 'tested.observed_upper') }}
        end as lift_lower,
        -- in weighted calls: failed calls above the baseline, or calls that never arrived
        case
            when tested.window_type = 'incident'
                then tested.weighted_failures - tested.expected_failures * tested.call_weight
            else (tested.expected - tested.observed) * tested.call_weight
        end as excess_failures,
        case
            when tested.window_type = 'incident'
                then tested.bad_calls - tested.expected_failures * tested.usual_bad_share
            else 0.0
        end as excess_bad_calls,
        tested.raw_p_value,
        tested.p_value,

        -- booleans
        tested.p_value
        * case
            when tested.window_type = 'incident' then series_counts.incident_series
            else series_counts.traffic_series
        end
        <= {{ var('rca_fdr_q') }} as is_beyond_chance,

        -- timestamps
        cast(tested.started_at as timestamp) as started_at,
        cast(tested.ended_at as timestamp) as ended_at
    from tested
    cross join series_counts
)

select * from final
