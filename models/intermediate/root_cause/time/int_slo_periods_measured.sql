{#
    Every API's SLO over its compliance period (the last slo_period_days before
    the end of the data): the SLIs, error budget, burn rates at the end, the
    alerts firing then, the breach rule (doc slo_alerting) and the chronic part
    of a breach (bad calls its incidents do not explain: only the failure
    classes that count against availability are subtracted). The SLO marts
    and the SLO breach candidates all read this one model.
#}
{%- set min_bad = var('slo_min_bad_calls') -%}
{%- set severities = var('slo_alert_rules') | map(attribute='severity') | unique | list -%}

with

buckets as (
    select * from {{ ref('int_rca_calls_bucketed') }}
),

slos as (
    select * from {{ ref('int_api_slos_resolved') }}
),

windows as (
    select * from {{ ref('int_rca_time_windows_tested') }}
),

replayed as (
    select * from {{ ref('int_slo_burn_rates_replayed') }}
),

data_end as (
    select
        -- the end of the last 5-minute bucket: where every SLO window ends
        {{ api_trust.add_minutes('max(bucket_at)', 5) }} as ended_at,
        max({{ api_trust.time_step_number('bucket_at', 5) }}) as last_step_no,
        min(bucket_at) as started_at
    from buckets
),

classified as (
    select
        buckets.*,
        slos.availability_target,
        slos.slo_period_days,
        coalesce(buckets.failure_class, '') <> 'auth' as is_eligible,
        coalesce(buckets.failure_class in {{ api_trust.sql_list(var('availability_failure_classes')) }}, false)
            as is_bad,
        buckets.bucket_at >= {{ api_trust.add_minutes('data_end.ended_at', -60) }} as is_last_1h,
        buckets.bucket_at >= {{ api_trust.add_minutes('data_end.ended_at', -360) }} as is_last_6h
    from buckets
    inner join slos
        on buckets.api_name = slos.api_name
    cross join data_end
    where buckets.bucket_at >= {{ api_trust.add_minutes('data_end.ended_at', '-1440 * slos.slo_period_days') }}
),

counted as (
    select
        api_name,
        sum(calls) as calls,
        sum(case when is_eligible then calls else 0 end) as eligible_calls,
        sum(case when is_bad then calls else 0 end) as bad_calls,
        sum(case when is_success then calls else 0 end) as successful_calls,
        sum(case when is_latency_good then calls else 0 end) as latency_good_calls,
        sum(case when is_eligible and is_last_1h then calls else 0 end) as eligible_calls_1h,
        sum(case when is_bad and is_last_1h then calls else 0 end) as bad_calls_1h,
        sum(case when is_eligible and is_last_6h then calls else 0 end) as eligible_calls_6h,
        sum(case when is_bad and is_last_6h then calls else 0 end) as bad_calls_6h
    from classified
    group by api_name
),

bad_reasons as (
    select
        api_name,
        error_reason,
        max(failure_class) as failure_class,
        row_number() over (partition by api_name order by sum(calls) desc, error_reason) as reason_rank
    from classified
    where is_bad
    group by api_name, error_reason
),

-- incidents beyond chance within the period: their excess of bad calls is theirs, not chronic
incident_excess as (
    select
        windows.api_name,
        sum(greatest(windows.excess_bad_calls, 0)) as excess_bad_calls
    from windows
    inner join slos
        on windows.api_name = slos.api_name
    cross join data_end
    where
        windows.window_type = 'incident'
        and windows.is_beyond_chance
        and windows.ended_at > {{ api_trust.add_minutes('data_end.ended_at', '-1440 * slos.slo_period_days') }}
    group by windows.api_name
),

alerts_at_end as (
    select replayed.*
    from replayed
    inner join data_end
        on replayed.step_no = data_end.last_step_no
),

measured as (
    select
        counted.*,
        slos.owner_team,
        slos.slo_source,
        slos.availability_target,
        slos.latency_slo_ms,
        slos.slo_period_days,
        (1 - slos.availability_target) * counted.eligible_calls as error_budget_calls,
        {{ api_trust.poisson_lower_bound('counted.bad_calls') }} as bad_calls_lower,
        {{ api_trust.poisson_upper_bound('counted.bad_calls') }} as bad_calls_upper,
        coalesce(incident_excess.excess_bad_calls, 0) as incident_excess_bad_calls,
        greatest(counted.bad_calls - coalesce(incident_excess.excess_bad_calls, 0), 0) as chronic_bad_calls,
        bad_reasons.error_reason,
        bad_reasons.failure_class,
        {%- for severity in severities %}
            coalesce(alerts_at_end.is_{{ severity }}_alerting, false) as is_{{ severity }}_alerting,
        {%- endfor %}
        data_end.ended_at,
        -- the period starts inside the data, or the data is all there is
        greatest(
            {{ api_trust.add_minutes('data_end.ended_at', '-1440 * slos.slo_period_days') }},
            data_end.started_at
        ) as period_started_at,
        {{ api_trust.add_minutes('data_end.ended_at', '-1440 * slos.slo_period_days') }} > data_end.started_at
            as is_period_inside_data
    from counted
    inner join slos
        on counted.api_name = slos.api_name
    cross join data_end
    left join incident_excess
        on counted.api_name = incident_excess.api_name
    left join bad_reasons
        on
            counted.api_name = bad_reasons.api_name
            and bad_reasons.reason_rank = 1
    left join alerts_at_end
        on counted.api_name = alerts_at_end.api_name
),

deviates as (
    select
        *,
        case
            when chronic_bad_calls > 0 and error_budget_calls > 0
                then {{ api_trust.poisson_upper_z('chronic_bad_calls', 'error_budget_calls') }}
        end as chronic_z
    from measured
),

judged as (
    select
        *,
        -- beyond doubt: enough bad calls, and the rate's 95% lower bound above the budget
        bad_calls >= {{ min_bad }} and bad_calls_lower > (1 - availability_target) * eligible_calls as is_breached,
        bad_calls > 0 and bad_calls >= error_budget_calls as is_over_budget,
        chronic_bad_calls >= {{ min_bad }}
        and {{ api_trust.poisson_lower_bound('chronic_bad_calls') }} > (1 - availability_target) * eligible_calls
            as is_chronic_beyond_doubt,
        {{ api_trust.poisson_upper_p('chronic_bad_calls', 'error_budget_calls', 'chronic_z') }} as chronic_p_value,
        {{ api_trust.poisson_lower_bound('chronic_bad_calls') }} as chronic_bad_calls_lower
    from deviates
),

final as (
    select
        -- strings
        api_name,
        owner_team,
        slo_source,
        error_reason,
        failure_class,
        case
            when is_breached then 'breached'
            when
                {%- for severity in severities %}
                    is_{{ severity }}_alerting or
                {%- endfor %}
                (bad_calls > 0 and bad_calls >= 0.75 * error_budget_calls)
                then 'at_risk'
            else 'ok'
        end as status,
        case
            {%- for severity in severities %}
                when is_{{ severity }}_alerting then '{{ severity }}'
            {%- endfor %}
        end as alert_severity,

        -- numbers
        cast(calls as bigint) as calls,
        cast(eligible_calls as bigint) as eligible_calls,
        cast(bad_calls as bigint) as bad_calls,
        cast(successful_calls as bigint) as successful_calls,
        cast(latency_good_calls as bigint) as latency_good_calls,
        availability_target,
        latency_slo_ms,
        slo_period_days,
        error_budget_calls,
        bad_calls_lower,
        bad_calls_upper,
        cast(eligible_calls_1h as bigint) as eligible_calls_1h,
        cast(bad_calls_1h as bigint) as bad_calls_1h,
        cast(eligible_calls_6h as bigint) as eligible_calls_6h,
        cast(bad_calls_6h as bigint) as bad_calls_6h,
        cast(incident_excess_bad_calls as double) as incident_excess_bad_calls,
        cast(chronic_bad_calls as double) as chronic_bad_calls,
        chronic_bad_calls_lower,
        chronic_p_value,

        -- booleans
        is_breached,
        is_over_budget,
        is_breached and is_chronic_beyond_doubt as is_chronic_breach,
        is_period_inside_data,

        -- timestamps
        period_started_at,
        ended_at
    from judged
)

select * from final
