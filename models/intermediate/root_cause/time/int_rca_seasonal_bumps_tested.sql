{#
    Recurring seasonal bumps: runs of hours of the day in which an API fails
    more than its own rate and the platform's profile predict, pooled over
    every day of the history (a nightly maintenance window). The baseline
    learns such a bump (it is never an incident per night); this model makes
    it at most one chronic finding per run, scan-corrected over the 24 hours
    (doc rca_time_tests).
#}
{%- set flag_p = var('rca_incident_flag_p') -%}

with

hours as (
    select * from {{ ref('int_rca_api_hours_baselined') }}
    where calls > 0 and not is_failure_flagged
),

buckets as (
    select * from {{ ref('int_rca_calls_bucketed') }}
),

hours_of_day as (
    select
        api_name,
        hour_of_day,
        min(hour_at) as first_seen_at,
        sum(calls) as calls,
        sum(weighted_calls) as weighted_calls,
        sum(failures) as failures,
        sum(weighted_failures) as weighted_failures,
        sum(expected_failures_flat) as expected,
        -- each hour of the day falls on a different day: day-to-day variation adds per hour
        sum(failure_day_dispersion * power(expected_failures_flat, 2)) as day_variance,
        {{ api_trust.safe_rate('sum(failure_rate_rel_var * expected_failures_flat)', 'sum(expected_failures_flat)') }}
            as rate_rel_var
    from hours
    group by api_name, hour_of_day
),

hours_of_day_scored as (
    select
        *,
        1 + {{ api_trust.safe_rate('day_variance + coalesce(rate_rel_var, 0) * power(expected, 2)', 'expected') }}
            as dispersion
    from hours_of_day
),

hours_of_day_deviates as (
    select
        *,
        case
            when failures > 0 and expected > 0
                then {{ api_trust.poisson_upper_z('failures / dispersion', 'expected / dispersion') }}
        end as z
    from hours_of_day_scored
),

hours_of_day_flagged as (
    select
        *,
        coalesce({{ api_trust.poisson_upper_p('failures', 'expected', 'z') }} <= {{ flag_p }}, false) as is_flagged
    from hours_of_day_deviates
),

-- a run may wrap around midnight: count hours from the API's first unflagged hour
api_origins as (
    select
        api_name,
        count(*) as hours_tested,
        min(case when not is_flagged then hour_of_day end) as origin_hour
    from hours_of_day_flagged
    group by api_name
),

rotated as (
    select
        flagged.*,
        api_origins.hours_tested,
        mod(flagged.hour_of_day - api_origins.origin_hour + 24, 24) as rotated_hour
    from hours_of_day_flagged as flagged
    inner join api_origins
        on flagged.api_name = api_origins.api_name
    -- every hour of the day above the rest is a level, not a bump
    where api_origins.origin_hour is not null
),

runs_flagged as (
    select
        *,
        rotated_hour - row_number() over (partition by api_name order by rotated_hour) as run
    from rotated
    where is_flagged
),

runs as (
    select
        api_name,
        run,
        max(hours_tested) as hours_tested,
        count(*) as run_hours,
        min(rotated_hour) as first_rotated_hour,
        sum(calls) as calls,
        sum(weighted_calls) as weighted_calls,
        sum(failures) as failures,
        sum(weighted_failures) as weighted_failures,
        sum(expected) as expected,
        1 + {{ api_trust.safe_rate(
            'sum(day_variance) + ' ~ api_trust.safe_rate('sum(rate_rel_var * expected)', 'sum(expected)')
            ~ ' * power(sum(expected), 2)',
            'sum(expected)'
        ) }} as dispersion
    from runs_flagged
    group by api_name, run
),

run_hours as (
    select
        runs_flagged.api_name,
        runs_flagged.run,
        runs_flagged.hour_of_day,
        runs_flagged.first_seen_at,
        runs_flagged.rotated_hour = runs.first_rotated_hour as is_first
    from runs_flagged
    inner join runs
        on
            runs_flagged.api_name = runs.api_name
            and runs_flagged.run = runs.run
),

-- the reason carrying the bump: its failures in the run's hours against the API's mix elsewhere
hour_reasons as (
    select
        hours.api_name,
        hours.hour_of_day,
        buckets.error_reason,
        max(buckets.failure_class) as failure_class,
        sum(buckets.calls) as failures
    from buckets
    inner join hours
        on
            buckets.api_name = hours.api_name
            and {{ api_trust.truncate_to('hour', 'buckets.bucket_at') }} = hours.hour_at
    where not buckets.is_success
    group by hours.api_name, hours.hour_of_day, buckets.error_reason
),

run_reasons as (
    select
        run_hours.api_name,
        run_hours.run,
        hour_reasons.error_reason,
        max(hour_reasons.failure_class) as failure_class,
        sum(hour_reasons.failures) as failures
    from run_hours
    inner join hour_reasons
        on
            run_hours.api_name = hour_reasons.api_name
            and run_hours.hour_of_day = hour_reasons.hour_of_day
    group by run_hours.api_name, run_hours.run, hour_reasons.error_reason
),

api_reasons as (
    select
        api_name,
        error_reason,
        sum(failures) as failures,
        sum(sum(failures)) over (partition by api_name) as api_failures
    from hour_reasons
    group by api_name, error_reason
),

top_reasons as (
    select
        run_reasons.api_name,
        run_reasons.run,
        run_reasons.error_reason,
        run_reasons.failure_class,
        row_number() over (
            partition by run_reasons.api_name, run_reasons.run
            order by
                run_reasons.failures - runs.expected * coalesce(
                    {{ api_trust.safe_rate(
                        'api_reasons.failures - run_reasons.failures', 'api_reasons.api_failures - runs.failures'
                    ) }},
                    0
                ) desc,
                run_reasons.error_reason
        ) as reason_rank
    from run_reasons
    inner join runs
        on
            run_reasons.api_name = runs.api_name
            and run_reasons.run = runs.run
    left join api_reasons
        on
            run_reasons.api_name = api_reasons.api_name
            and run_reasons.error_reason = api_reasons.error_reason
),

runs_deviates as (
    select
        *,
        case
            when failures > 0 and expected > 0
                then {{ api_trust.poisson_upper_z('failures / dispersion', 'expected / dispersion') }}
        end as z
    from runs
),

scored as (
    select
        runs.*,
        first_hours.hour_of_day as first_hour_of_day,
        first_hours.first_seen_at,
        mod(first_hours.hour_of_day + runs.run_hours, 24) as end_hour_of_day,
        top_reasons.error_reason,
        top_reasons.failure_class,
        {{ api_trust.poisson_upper_p('runs.failures', 'runs.expected', 'runs.z') }} as raw_p_value,
        {{ api_trust.poisson_lower_bound('runs.failures / runs.dispersion') }} * runs.dispersion as failures_lower
    from runs_deviates as runs
    inner join run_hours as first_hours
        on
            runs.api_name = first_hours.api_name
            and runs.run = first_hours.run
            and first_hours.is_first
    left join top_reasons
        on
            runs.api_name = top_reasons.api_name
            and runs.run = top_reasons.run
            and top_reasons.reason_rank = 1
),

final as (
    select
        -- strings
        api_name,
        error_reason,
        failure_class,

        -- numbers
        cast(first_hour_of_day as integer) as first_hour_of_day,
        cast(end_hour_of_day as integer) as end_hour_of_day,
        cast(run_hours as integer) as run_hours,
        cast(hours_tested as integer) as hours_tested,
        cast(calls as bigint) as calls,
        cast(weighted_calls as double) as weighted_calls,
        cast(failures as bigint) as failures,
        cast(weighted_failures as double) as weighted_failures,
        expected,
        dispersion,
        {{ api_trust.safe_rate('failures', 'expected') }} as lift,
        {{ api_trust.safe_rate('failures_lower', 'expected') }} as lift_lower,
        weighted_failures - expected * coalesce({{ api_trust.safe_rate('weighted_calls', 'calls') }}, 1.0)
            as excess_failures,
        raw_p_value,
        {{ api_trust.scan_corrected_p('raw_p_value', 'hours_tested', 'run_hours') }} as p_value,

        -- timestamps
        cast(first_seen_at as timestamp) as first_seen_at
    from scored
)

select * from final
