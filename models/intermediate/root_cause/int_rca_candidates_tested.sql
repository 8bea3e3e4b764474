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

timed as (
    -- everything time-bounded or timed: incidents of an API (hourly or over days) get narrowed
    select * from windows
    union all
    select * from time_candidates
),

narrowed_timed as (
    select
        timed.finding_type,
        timed.api_name,
        coalesce(localised.segment, timed.segment) as segment,
        timed.started_at,
        timed.ended_at,
        timed.metric,
        timed.calls,
        timed.observed,
        timed.expected,
        timed.excess_failures,
        timed.excess_slow_calls,
        timed.lift,
        timed.lift_lower,
        timed.p_value,
        timed.error_reason,
        timed.failure_class,
        timed.evidence || case
            when localised.is_narrowed
                then '. Concentrated in ' || localised.segment || ' ('
                    || {{ api_trust.fmt_pct('least(localised.share_of_incident_excess, 1)', 0) }}
                    || ' of the excess).'
            else ''
        end as evidence
    from timed
    left join localised
        on
            timed.finding_type = 'incident'
            and timed.metric = 'failure_rate'
            and timed.api_name = localised.api_name
            and timed.started_at = localised.started_at
),

unioned as (
    select * from segments
    union all
    select * from versions
    union all
    -- an hourly incident and a run of days of one API that start together and narrow to
    -- one segment are one candidate: the stronger
    select {{ api_trust.star_except('narrowed_timed', ['candidate_rank']) }}
    from (
        select
            *,
            row_number() over (
                partition by finding_type, segment, metric, started_at order by p_value asc, ended_at desc
            ) as candidate_rank
        from narrowed_timed
    ) as narrowed_timed
    where candidate_rank = 1
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
