{#
    Per API: availability and latency against the API's SLO over the whole
    window, error budget left and burn rates over the last 1 and 6 hours
    (measured at the last call time in the data). Definitions and the status
    rule: doc blocks slo_availability, slo_latency, error_budget, burn_rate,
    slo_status.
#}
{%- set min_calls = var('rca_min_calls') -%}
{%- set latency_target = var('latency_slo_target', 0.95) -%}

with

calls as (
    select * from {{ ref('fct_api_calls') }}
    -- API traffic only: health checks, static assets, bots and probes stay in facts
    where is_api_traffic is not false
),

apis as (
    select * from {{ ref('dim_apis') }}
),

measured as (
    select max(called_at) as measured_at from calls
),

classified as (
    select
        calls.api_name,
        calls.called_at,
        -- auth failures never reached the service: not eligible for the SLIs
        coalesce(calls.failure_class, '') <> 'auth' as is_eligible,
        coalesce(calls.failure_class in {{ api_trust.sql_list(var('availability_failure_classes')) }}, false)
            as is_bad,
        calls.is_success,
        calls.is_success and calls.latency_ms <= apis.latency_slo_ms as is_latency_good,
        calls.called_at > {{ api_trust.add_hours('measured.measured_at', -1) }} as is_last_1h,
        calls.called_at > {{ api_trust.add_hours('measured.measured_at', -6) }} as is_last_6h
    from calls
    inner join apis
        on calls.api_name = apis.api_name
    cross join measured
    where apis.availability_target is not null
),

counted as (
    select
        api_name,
        count(*) as calls,
        sum(case when is_eligible then 1 else 0 end) as eligible_calls,
        sum(case when is_bad then 1 else 0 end) as bad_calls,
        sum(case when is_success then 1 else 0 end) as successful_calls,
        sum(case when is_latency_good then 1 else 0 end) as latency_good_calls,
        sum(case when is_eligible and is_last_1h then 1 else 0 end) as eligible_calls_1h,
        sum(case when is_bad and is_last_1h then 1 else 0 end) as bad_calls_1h,
        sum(case when is_eligible and is_last_6h then 1 else 0 end) as eligible_calls_6h,
        sum(case when is_bad and is_last_6h then 1 else 0 end) as bad_calls_6h
    from classified
    group by api_name
),

scored as (
    select
        counted.*,
        apis.api_family,
        apis.owner_team,
        apis.availability_target,
        apis.latency_slo_ms,
        1 - {{ api_trust.safe_rate('counted.bad_calls', 'counted.eligible_calls') }} as availability,
        1 - {{ api_trust.wilson_upper('counted.bad_calls', 'counted.eligible_calls') }} as availability_ci_lower,
        1 - {{ api_trust.wilson_lower('counted.bad_calls', 'counted.eligible_calls') }} as availability_ci_upper,
        {{ api_trust.safe_rate('counted.latency_good_calls', 'counted.successful_calls') }} as latency_good_rate,
        (1 - apis.availability_target) * counted.eligible_calls as error_budget_calls,
        {{ api_trust.safe_rate(
            api_trust.safe_rate('counted.bad_calls_1h', 'counted.eligible_calls_1h'),
            '(1 - apis.availability_target)'
        ) }} as burn_rate_1h,
        {{ api_trust.safe_rate(
            api_trust.safe_rate('counted.bad_calls_6h', 'counted.eligible_calls_6h'),
            '(1 - apis.availability_target)'
        ) }} as burn_rate_6h
    from counted
    inner join apis
        on counted.api_name = apis.api_name
),

final as (
    select
        -- strings
        scored.api_name,
        scored.api_family,
        scored.owner_team,
        case
            when scored.bad_calls >= scored.error_budget_calls and scored.bad_calls > 0 then 'breached'
            when
                (scored.eligible_calls_1h >= {{ min_calls }} and scored.burn_rate_1h >= 14.4)
                or (scored.eligible_calls_6h >= {{ min_calls }} and scored.burn_rate_6h >= 6)
                or (scored.bad_calls > 0 and scored.bad_calls >= 0.75 * scored.error_budget_calls)
                then 'at_risk'
            else 'ok'
        end as status,

        -- numbers
        cast(scored.calls as bigint) as calls,
        cast(scored.eligible_calls as bigint) as eligible_calls,
        cast(scored.bad_calls as bigint) as bad_calls,
        scored.availability,
        scored.availability_ci_lower,
        scored.availability_ci_upper,
        scored.availability_target,
        cast(scored.successful_calls as bigint) as successful_calls,
        cast(scored.latency_good_calls as bigint) as latency_good_calls,
        scored.latency_good_rate,
        cast({{ latency_target }} as double) as latency_target,
        scored.latency_slo_ms,
        scored.error_budget_calls,
        {{ api_trust.safe_rate('scored.bad_calls', 'scored.error_budget_calls') }} as budget_consumed,
        1 - {{ api_trust.safe_rate('scored.bad_calls', 'scored.error_budget_calls') }} as budget_remaining_ratio,
        cast(scored.eligible_calls_1h as bigint) as eligible_calls_1h,
        cast(scored.bad_calls_1h as bigint) as bad_calls_1h,
        scored.burn_rate_1h,
        cast(scored.eligible_calls_6h as bigint) as eligible_calls_6h,
        cast(scored.bad_calls_6h as bigint) as bad_calls_6h,
        scored.burn_rate_6h,

        -- booleans
        scored.availability >= scored.availability_target as is_availability_attained,
        scored.availability_ci_upper < scored.availability_target as is_breach_significant,
        scored.latency_good_rate >= {{ latency_target }} as is_latency_slo_attained,

        -- timestamps
        measured.measured_at
    from scored
    cross join measured
)

select * from final
