{#
    Every API's hours: calls, failures and bad calls (the classes that count
    against availability) per hour with calls, and, for APIs busy enough that
    a silent day could be noticed, every covered hour of their active span
    with or without calls (doc rca_time_baseline). An hour is covered when the
    platform logged any API call in it: a gap in everyone's logs is missing
    data, not an outage, and a 2015 log beside 2026 data is not ten years of
    silence. The first and last hours of the data are partial and never judged
    for traffic.
#}
{%- set flag_p = var('rca_incident_flag_p') -%}

with

buckets as (
    select * from {{ ref('int_rca_calls_bucketed') }}
),

hourly as (
    select
        api_name,
        {{ api_trust.truncate_to('hour', 'bucket_at') }} as hour_at,
        sum(calls) as calls,
        sum(weighted_calls) as weighted_calls,
        sum(case when not is_success then calls else 0 end) as failures,
        sum(case when not is_success then weighted_calls else 0 end) as weighted_failures,
        sum(case
            when failure_class in {{ api_trust.sql_list(var('availability_failure_classes')) }} then calls else 0
        end) as bad_calls
    from buckets
    group by
        api_name,
        {{ api_trust.truncate_to('hour', 'bucket_at') }}
),

covered_hours as (
    select distinct hour_at from hourly
),

-- The first and last hours of an extract are partial (cut mid-hour, or holding only late
-- retries): no traffic is judged there.
data_edges as (
    select
        min(hour_at) as first_hour_at,
        max(hour_at) as last_hour_at
    from covered_hours
),

covered_full_hours as (
    select covered_hours.hour_at
    from covered_hours
    cross join data_edges
    where covered_hours.hour_at > data_edges.first_hour_at and covered_hours.hour_at < data_edges.last_hour_at
),

coverage as (
    select count(distinct {{ api_trust.truncate_to('day', 'hour_at') }}) as covered_days
    from covered_hours
),

spans as (
    select
        api_name,
        min(hour_at) as first_hour_at,
        max(hour_at) as last_hour_at,
        sum(calls) as calls
    from hourly
    group by api_name
),

span_hours as (
    select
        spans.api_name,
        spans.first_hour_at,
        spans.last_hour_at,
        spans.calls,
        count(*) as covered_span_hours
    from spans
    inner join covered_hours
        on covered_hours.hour_at between spans.first_hour_at and spans.last_hour_at
    group by
        spans.api_name,
        spans.first_hour_at,
        spans.last_hour_at,
        spans.calls
),

-- Tarone-style pruning: a drop can only be seen where a day without calls would be
-- improbable at the flag level (24 x mean calls per hour >= ln(1 / flag p)).
traffic_tested as (
    select *
    from span_hours
    where 24.0 * calls / covered_span_hours >= ln(1.0 / {{ flag_p }})
),

grid as (
    select
        traffic_tested.api_name,
        covered_full_hours.hour_at
    from traffic_tested
    inner join covered_full_hours
        on covered_full_hours.hour_at between traffic_tested.first_hour_at and traffic_tested.last_hour_at
),

combined as (
    select
        coalesce(hourly.api_name, grid.api_name) as api_name,
        coalesce(hourly.hour_at, grid.hour_at) as hour_at,
        coalesce(hourly.calls, 0) as calls,
        coalesce(hourly.weighted_calls, 0) as weighted_calls,
        coalesce(hourly.failures, 0) as failures,
        coalesce(hourly.weighted_failures, 0) as weighted_failures,
        coalesce(hourly.bad_calls, 0) as bad_calls,
        grid.api_name is not null as is_traffic_tested
    from hourly
    full outer join grid
        on
            hourly.api_name = grid.api_name
            and hourly.hour_at = grid.hour_at
),

final as (
    select
        -- strings
        combined.api_name,

        -- numbers
        {{ api_trust.time_step_number('combined.hour_at', 60) }} as hour_no,
        {{ api_trust.hour_of_day('combined.hour_at') }} as hour_of_day,
        -- the seasonal slot: hour of the week with enough weeks of data, else hour of day
        case
            when coverage.covered_days >= 7 * {{ var('rca_hour_of_week_min_weeks') }}
                then {{ api_trust.hour_of_week('combined.hour_at') }}
            else {{ api_trust.hour_of_day('combined.hour_at') }}
        end as seasonal_slot,
        cast(combined.calls as bigint) as calls,
        cast(combined.weighted_calls as double) as weighted_calls,
        cast(combined.failures as bigint) as failures,
        cast(combined.weighted_failures as double) as weighted_failures,
        cast(combined.bad_calls as bigint) as bad_calls,

        -- booleans
        combined.is_traffic_tested,

        -- timestamps
        cast(combined.hour_at as timestamp) as hour_at,
        cast({{ api_trust.truncate_to('day', 'combined.hour_at') }} as timestamp) as day_at
    from combined
    cross join coverage
)

select * from final
