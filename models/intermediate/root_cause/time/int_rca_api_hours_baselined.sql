{#
    Was this hour normal for this API? Each API-hour's failures against a
    seasonal baseline of its failure rate, and (for APIs busy enough) its
    calls against a seasonal baseline of its traffic, each with a one-sided
    p-value that allows for the API's day-to-day variation and the baseline's
    own uncertainty (doc rca_time_baseline). An hour is flagged on its own or
    when the rest of its day, as one count, is (a slow burn no single hour
    shows). The second of two passes: hours the first pass
    (int_rca_api_hours_screened) flags are left out of every baseline sum, so
    an outage does not raise its own expectation.
#}
{%- set flag_p = var('rca_incident_flag_p') -%}

with

{{ api_trust.seasonal_baseline_hours_ctes() }},

screened as (
    -- the first pass's flags
    select * from {{ ref('int_rca_api_hours_screened') }}
),

failure_hours_flagged as (
    select
        failure_hours.*,
        coalesce(screened.is_failure_flagged, false) as is_flagged_first
    from failure_hours
    left join screened
        on
            failure_hours.api_name = screened.api_name
            and failure_hours.hour_at = screened.hour_at
),

{{ api_trust.seasonal_baseline_ctes(
    'failure', 'failure_hours_flagged', 'failures', 'calls', 'is_flagged_first', flag_p
) }},

traffic_hours_flagged as (
    select
        traffic_hours.*,
        coalesce(screened.is_traffic_flagged, false) as is_flagged_first
    from traffic_hours
    left join screened
        on
            traffic_hours.api_name = screened.api_name
            and traffic_hours.hour_at = screened.hour_at
),

{{ api_trust.seasonal_baseline_ctes(
    'traffic', 'traffic_hours_flagged', 'calls', '1', 'is_flagged_first', flag_p
) }},

final as (
    select
        -- strings
        hours.api_name,

        -- numbers
        hours.hour_no,
        hours.hour_of_day,
        hours.seasonal_slot,
        hours.calls,
        hours.weighted_calls,
        hours.failures,
        hours.weighted_failures,
        hours.bad_calls,
        failure_scored.expected as expected_failures,
        failure_scored.expected_flat as expected_failures_flat,
        failure_scored.rate_rel_var as failure_rate_rel_var,
        failure_scored.baseline_rel_var as failure_baseline_rel_var,
        failure_scored.day_dispersion as failure_day_dispersion,
        failure_scored.hour_dispersion as failure_hour_dispersion,
        failure_scored.dispersion as failure_dispersion,
        failure_scored.p_upper as failure_p_value,
        failure_scored.p_day_upper as failure_day_p_value,
        traffic_scored.expected as expected_calls,
        traffic_scored.baseline_rel_var as traffic_baseline_rel_var,
        traffic_scored.day_dispersion as traffic_day_dispersion,
        traffic_scored.hour_dispersion as traffic_hour_dispersion,
        traffic_scored.dispersion as traffic_dispersion,
        traffic_scored.p_lower as traffic_p_value,
        traffic_scored.p_day_lower as traffic_day_p_value,

        -- booleans
        hours.is_traffic_tested,
        -- the hour on its own, or its day as a whole (a slow burn)
        coalesce(failure_scored.p_upper <= {{ flag_p }} or failure_scored.p_day_upper <= {{ flag_p }}, false)
            as is_failure_flagged,
        coalesce(traffic_scored.p_lower <= {{ flag_p }} or traffic_scored.p_day_lower <= {{ flag_p }}, false)
            as is_traffic_flagged,

        -- timestamps
        hours.hour_at,
        hours.day_at
    from hours
    left join failure_scored
        on
            hours.api_name = failure_scored.api_name
            and hours.hour_at = failure_scored.hour_at
    left join traffic_scored
        on
            hours.api_name = traffic_scored.api_name
            and hours.hour_at = traffic_scored.hour_at
)

select * from final
