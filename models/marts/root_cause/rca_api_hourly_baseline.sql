{#
    Each API's hourly failure rate against its own recent normal: the rolling
    median and MAD of its hourly rates over the previous hours, and a z-score
    given the hour's calls. The time series behind rca_incidents (doc
    rca_incident_detection).
#}
{%- set lookback = var('rca_incident_lookback_hours', 72) -%}
{%- set k_mad = var('rca_incident_mad_k', 3) -%}
{%- set z_min = var('rca_incident_z', 5) -%}
{%- set min_failures = var('rca_incident_min_failures', 5) -%}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

hourly as (
    select
        api_name,
        {{ api_trust.truncate_to('hour', 'called_at') }} as hour_at,
        {{ api_trust.hour_number(api_trust.truncate_to('hour', 'called_at')) }} as hour_no,
        count(*) as calls,
        sum(case when is_success then 0 else 1 end) as failures,
        {{ api_trust.safe_rate('sum(case when is_success then 0 else 1 end)', 'count(*)') }} as failure_rate
    from calls
    group by api_name, {{ api_trust.truncate_to('hour', 'called_at') }}
),

baseline_center as (
    select
        hourly.api_name,
        hourly.hour_no,
        count(*) as baseline_hours,
        {{ api_trust.median_of('previous.failure_rate') }} as median_failure_rate,
        {{ api_trust.safe_rate('sum(previous.failures)', 'sum(previous.calls)') }} as pooled_failure_rate
    from hourly
    inner join hourly as previous
        on
            hourly.api_name = previous.api_name
            and previous.hour_no between hourly.hour_no - {{ lookback }} and hourly.hour_no - 1
    group by hourly.api_name, hourly.hour_no
),

baseline_spread as (
    select
        baseline_center.api_name,
        baseline_center.hour_no,
        {{ api_trust.median_of('abs(previous.failure_rate - baseline_center.median_failure_rate)') }}
            as mad_failure_rate
    from baseline_center
    inner join hourly as previous
        on
            baseline_center.api_name = previous.api_name
            and previous.hour_no between baseline_center.hour_no - {{ lookback }} and baseline_center.hour_no - 1
    group by baseline_center.api_name, baseline_center.hour_no
),

scored as (
    select
        hourly.*,
        baseline_center.baseline_hours,
        baseline_center.median_failure_rate,
        baseline_spread.mad_failure_rate,
        -- a median of 0 (APIs with a few calls an hour) must not make every failure "unexpected"
        greatest(baseline_center.median_failure_rate, baseline_center.pooled_failure_rate) as baseline_failure_rate,
        case
            when baseline_center.baseline_hours is not null
                then {{ api_trust.proportion_z(
                    'hourly.failures', 'hourly.calls',
                    'greatest(baseline_center.median_failure_rate, baseline_center.pooled_failure_rate)'
                ) }}
        end as z_score
    from hourly
    -- the first hours of an API have no history: kept, never anomalous
    left join baseline_center
        on
            hourly.api_name = baseline_center.api_name
            and hourly.hour_no = baseline_center.hour_no
    left join baseline_spread
        on
            hourly.api_name = baseline_spread.api_name
            and hourly.hour_no = baseline_spread.hour_no
),

final as (
    select
        -- strings
        api_name,

        -- numbers
        cast(hour_no as bigint) as hour_no,
        cast(calls as bigint) as calls,
        cast(failures as bigint) as failures,
        failure_rate,
        cast(coalesce(baseline_hours, 0) as bigint) as baseline_hours,
        median_failure_rate,
        mad_failure_rate,
        baseline_failure_rate,
        z_score,

        -- booleans
        coalesce(
            baseline_hours >= 12
            and failures >= {{ min_failures }}
            and failure_rate > median_failure_rate + {{ k_mad }} * 1.4826 * mad_failure_rate
            and z_score >= {{ z_min }},
            false
        ) as is_anomalous,

        -- timestamps
        hour_at
    from scored
)

select * from final
