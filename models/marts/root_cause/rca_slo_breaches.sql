{#
    Which SLO breaches are chronic? Every API over its error budget, its bad
    calls, the excess bad calls of its incidents beyond chance (only the
    failure classes that count against availability; an incident of rejected
    images spends no budget), and whether what remains is still a breach
    beyond doubt (doc slo_alerting).
#}

with

periods as (
    select * from {{ ref('int_slo_periods_measured') }}
),

final as (
    select
        -- strings
        api_name,
        owner_team,
        status,
        error_reason,

        -- numbers
        eligible_calls,
        bad_calls,
        1 - {{ api_trust.safe_rate('bad_calls', 'eligible_calls') }} as availability,
        availability_target,
        slo_period_days,
        error_budget_calls,
        incident_excess_bad_calls,
        chronic_bad_calls,
        1 - {{ api_trust.safe_rate('chronic_bad_calls', 'eligible_calls') }} as chronic_availability,
        chronic_bad_calls - error_budget_calls as chronic_excess_bad_calls,
        {{ api_trust.safe_rate('bad_calls', 'error_budget_calls') }} as budget_consumed,
        chronic_p_value,

        -- booleans
        is_breached,
        is_chronic_breach,

        -- timestamps
        period_started_at,
        ended_at as measured_at
    from periods
    where is_over_budget or is_breached
)

select * from final
