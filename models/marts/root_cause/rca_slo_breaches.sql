{#
    Which SLO breaches are chronic? An API's bad calls minus the excess of its
    incidents (rca_incidents, findings of their own): the breach is chronic when
    what remains is still significantly above the error budget (Wilson lower
    bound of the remaining bad-call rate above 1 - target).
#}

with

slo as (
    select * from {{ ref('agg_slo_status') }}
),

incidents as (
    select * from {{ ref('rca_incidents') }}
),

incident_totals as (
    select
        api_name,
        sum(excess_failures) as excess_failures
    from incidents
    group by api_name
),

remaining as (
    select
        slo.*,
        coalesce(incident_totals.excess_failures, 0) as incident_excess_failures,
        greatest(slo.bad_calls - coalesce(incident_totals.excess_failures, 0), 0) as chronic_bad_calls
    from slo
    left join incident_totals
        on slo.api_name = incident_totals.api_name
),

final as (
    select
        -- strings
        api_name,
        owner_team,
        status,

        -- numbers
        eligible_calls,
        bad_calls,
        availability,
        availability_target,
        error_budget_calls,
        cast(incident_excess_failures as double) as incident_excess_failures,
        cast(chronic_bad_calls as double) as chronic_bad_calls,
        1 - {{ api_trust.safe_rate('chronic_bad_calls', 'eligible_calls') }} as chronic_availability,
        cast(chronic_bad_calls - error_budget_calls as double) as chronic_excess_bad_calls,
        {{ api_trust.safe_rate('bad_calls', 'error_budget_calls') }} as budget_consumed,

        -- booleans
        coalesce(
            status = 'breached'
            and {{ api_trust.wilson_lower('chronic_bad_calls', 'eligible_calls') }} > 1 - availability_target,
            false
        ) as is_chronic_breach,

        -- timestamps
        measured_at
    from remaining
)

select * from final
