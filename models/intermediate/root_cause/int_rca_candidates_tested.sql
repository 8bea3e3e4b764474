{#
    One false-discovery budget (doc rca_method): every candidate finding of
    every producer, segments, versions, segment incidents across APIs and the
    time side (incidents, traffic
    drops, SLO alerts; incidents narrowed to the segment that differs), in one
    Benjamini-Hochberg pass at var('rca_fdr_q'). A candidate is significant
    when its q-value passes and its lift's lower bound clears the effect-size
    floor var('rca_min_lift').
#}

with

segments as (
    select * from {{ ref('int_rca_segment_candidates') }}
),

versions as (
    select * from {{ ref('int_rca_version_candidates') }}
),

windows as (
    select * from {{ ref('int_rca_window_candidates') }}
),

time_candidates as (
    select * from {{ ref('int_rca_time_candidates') }}
),

localised as (
    select * from {{ ref('int_rca_incidents_localised') }}
),

narrowed_time_candidates as (
    select
        time_candidates.finding_type,
        time_candidates.api_name,
        coalesce(localised.segment, time_candidates.segment) as segment,
        time_candidates.started_at,
        time_candidates.ended_at,
        time_candidates.metric,
        time_candidates.calls,
        time_candidates.observed,
        time_candidates.expected,
        time_candidates.excess_failures,
        time_candidates.excess_slow_calls,
        time_candidates.lift,
        time_candidates.lift_lower,
        time_candidates.p_value,
        time_candidates.error_reason,
        time_candidates.failure_class,
        time_candidates.evidence || case
            when localised.is_narrowed
                then ' Concentrated in ' || localised.segment || ' ('
                    || {{ api_trust.fmt_pct('least(localised.share_of_incident_excess, 1)', 0) }}
                    || ' of the excess).'
            else ''
        end as evidence
    from time_candidates
    left join localised
        on
            time_candidates.finding_type = 'incident'
            and time_candidates.api_name = localised.api_name
            and time_candidates.started_at = localised.started_at
),

unioned as (
    select * from segments
    union all
    select * from versions
    union all
    select * from windows
    union all
    select * from narrowed_time_candidates
),

adjusted as (
    {{ api_trust.bh_q_values('unioned') }}
),

final as (
    select
        -- strings
        finding_type,
        api_name,
        segment,
        metric,
        error_reason,
        failure_class,
        evidence,

        -- numbers
        calls,
        observed,
        expected,
        excess_failures,
        excess_slow_calls,
        lift,
        lift_lower,
        p_value,
        q_value,

        -- booleans
        coalesce(q_value <= {{ var('rca_fdr_q') }} and lift_lower >= {{ var('rca_min_lift') }}, false)
            as is_significant,

        -- timestamps
        started_at,
        ended_at
    from adjusted
)

select * from final
