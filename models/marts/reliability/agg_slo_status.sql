{#
    Per API: availability and latency against the API's SLO over its SLO
    period (the last slo_period_days of the data), error budget, burn rates
    over the last 1 and 6 hours, the alert firing at the end of the data, and
    a status that calls an SLO breached only beyond doubt. Definitions: doc
    blocks slo_availability, slo_latency, error_budget, burn_rate, slo_status,
    slo_alerting, slo_sources.
#}
{%- set latency_target = var('latency_slo_target', 0.95) -%}

with

periods as (
    select * from {{ ref('int_slo_periods_measured') }}
),

apis as (
    select * from {{ ref('dim_apis') }}
),

final as (
    select
        -- strings
        periods.api_name,
        coalesce(apis.api_family, 'UNKNOWN') as api_family,
        periods.owner_team,
        periods.slo_source,
        periods.status,
        periods.alert_severity,

        -- numbers
        periods.calls,
        periods.eligible_calls,
        periods.bad_calls,
        1 - {{ api_trust.safe_rate('periods.bad_calls', 'periods.eligible_calls') }} as availability,
        greatest(0.0, 1 - {{ api_trust.safe_rate('periods.bad_calls_upper', 'periods.eligible_calls') }})
            as availability_ci_lower,
        1 - {{ api_trust.safe_rate('periods.bad_calls_lower', 'periods.eligible_calls') }} as availability_ci_upper,
        periods.availability_target,
        periods.slo_period_days,
        periods.successful_calls,
        periods.latency_good_calls,
        {{ api_trust.safe_rate('periods.latency_good_calls', 'periods.successful_calls') }} as latency_good_rate,
        cast({{ latency_target }} as double) as latency_target,
        periods.latency_slo_ms,
        periods.error_budget_calls,
        {{ api_trust.safe_rate('periods.bad_calls', 'periods.error_budget_calls') }} as budget_consumed,
        1 - {{ api_trust.safe_rate('periods.bad_calls', 'periods.error_budget_calls') }} as budget_remaining_ratio,
        periods.eligible_calls_1h,
        periods.bad_calls_1h,
        {{ api_trust.safe_rate(
            api_trust.safe_rate('periods.bad_calls_1h', 'periods.eligible_calls_1h'),
            '(1 - periods.availability_target)'
        ) }} as burn_rate_1h,
        periods.eligible_calls_6h,
        periods.bad_calls_6h,
        {{ api_trust.safe_rate(
            api_trust.safe_rate('periods.bad_calls_6h', 'periods.eligible_calls_6h'),
            '(1 - periods.availability_target)'
        ) }} as burn_rate_6h,

        -- booleans
        1 - {{ api_trust.safe_rate('periods.bad_calls', 'periods.eligible_calls') }} >= periods.availability_target
            as is_availability_attained,
        periods.is_over_budget,
        periods.is_breached as is_breach_significant,
        {{ api_trust.safe_rate('periods.latency_good_calls', 'periods.successful_calls') }} >= {{ latency_target }}
            as is_latency_slo_attained,

        -- timestamps
        periods.period_started_at,
        periods.ended_at as measured_at
    from periods
    left join apis
        on periods.api_name = apis.api_name
)

select * from final
