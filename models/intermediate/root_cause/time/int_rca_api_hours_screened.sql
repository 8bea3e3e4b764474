{#
    The first pass of the seasonal baseline (doc rca_time_baseline): which
    API-hours look abnormal when every hour still counts in the baseline.
    int_rca_api_hours_baselined leaves these hours out of every baseline sum
    of its second pass, so an outage does not raise its own expectation. A
    model of its own so that each pass is planned over a table: Spark copies a
    CTE into every place it is read, and the two passes chained in one query
    never finish planning there.
#}
{%- set flag_p = var('rca_incident_flag_p') -%}

with

{{ api_trust.seasonal_baseline_hours_ctes() }},

{{ api_trust.seasonal_baseline_ctes('failure', 'failure_hours', 'failures', 'calls', 'false', flag_p) }},

{{ api_trust.seasonal_baseline_ctes('traffic', 'traffic_hours', 'calls', '1', 'false', flag_p) }},

final as (
    select
        -- strings
        hours.api_name,

        -- numbers
        failure_scored.p_upper as failure_p_value,
        failure_scored.p_day_upper as failure_day_p_value,
        traffic_scored.p_lower as traffic_p_value,
        traffic_scored.p_day_lower as traffic_day_p_value,

        -- booleans
        failure_scored.p_upper <= {{ flag_p }} or failure_scored.p_day_upper <= {{ flag_p }} as is_failure_flagged,
        traffic_scored.p_lower <= {{ flag_p }} or traffic_scored.p_day_lower <= {{ flag_p }} as is_traffic_flagged,

        -- timestamps
        hours.hour_at
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
