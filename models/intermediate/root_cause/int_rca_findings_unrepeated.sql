{#
    Every significant candidate once (doc rca_findings): described (the reason carrying
    its excess, whether it is new, its projection), scored by impact and surprise, and
    with every finding that only repeats a more surprising one of the same metric left
    out; an incident's failures and slowness are one finding, whose impact adds both.
    Each finding also lists the strongest segments it speaks for. rca_findings groups,
    caps, routes and advises these. A model of its own so that the mart is planned over a
    table (Spark copies a CTE into every place it is read).
#}
{%- set slow_weight = var('rca_slow_call_weight', 0.5) -%}

with

candidates as (
    select * from {{ ref('int_rca_candidates_tested') }}
    where is_significant
),

dated as (
    select * from {{ ref('int_rca_findings_dated') }}
),

attributed as (
    select * from {{ ref('int_rca_findings_attributed') }}
),

localised as (
    select * from {{ ref('int_rca_incidents_localised') }}
),

leaves as (
    select * from {{ ref('int_rca_leaves_counted') }}
),

data_days as (
    -- the days that hold calls, counted from each to the last: a window with gaps (an old
    -- log loaded beside this month's) projects over the days it has data for, not the
    -- calendar between its first and last call
    select
        called_on,
        count(*) over (order by called_on desc rows between unbounded preceding and current row)
            as days_to_end
    from (select distinct called_on from leaves) as distinct_days
),

data_window as (
    select
        max(called_on) as last_day,
        count(*) as days  -- noqa: RF04
    from data_days
),

described as (
    select
        candidates.*,
        {{ api_trust.rca_segment_columns('candidates.segment', skip=['api_name']) }},
        coalesce(candidates.error_reason, attributed.error_reason) as carried_reason,
        coalesce(candidates.failure_class, attributed.failure_class) as carried_class,
        attributed.reason_share_of_excess,
        attributed.carrying_api_name,
        attributed.api_share_of_excess,
        coalesce(attributed.clients_affected, localised.clients_affected, 0) as clients_affected,
        coalesce(dated.is_new, false) or candidates.started_at is not null as is_new,
        coalesce(candidates.started_at, case when dated.is_new then dated.changed_at end) as changed_at,
        dated.lift_before,
        dated.lift_after,
        dated.confined_to_segment,
        dated.confined_to_metric,
        dated.confined_to_started_at,
        -- a new problem's impact projected over the whole window from its start, at the
        -- rate it ran at: from the day it started when it runs to the end, over the days it
        -- lasted (one at least) when it ended; a segment that first appeared during the
        -- window (a release, a new client) from its first day (doc rca_method)
        case
            when dated.is_new then data_window.days / greatest(dated.days_after, 1)
            when candidates.ended_at is null and coalesce(dated.first_seen_on, candidates.started_at) is not null
                then data_window.days / coalesce(seen_days.days_to_end, data_window.days)
            when candidates.started_at is not null
                then data_window.days / greatest({{ api_trust.seconds_between(
                    'candidates.started_at', 'candidates.ended_at'
                ) }} / 86400, 1)
            else 1
        end as projection
    from candidates
    cross join data_window
    left join dated
        on
            {{ api_trust.rca_same_finding('candidates', 'dated') }}
    left join data_days as seen_days
        on seen_days.called_on = coalesce(dated.first_seen_on, cast(candidates.started_at as date))
    left join attributed
        on
            {{ api_trust.rca_same_finding('candidates', 'attributed', 'started_at') }}
    left join localised
        on
            candidates.finding_type = 'incident'
            and candidates.api_name = localised.api_name
            and candidates.started_at = localised.started_at
),

scored as (
    select
        *,
        (greatest(excess_failures, 0) + {{ slow_weight }} * greatest(excess_slow_calls, 0)) * projection as impact,
        -- surprise on one scale for every producer: which of two nested findings holds the effect
        {{ api_trust.llr_z('observed', 'calls', 'expected') }} as surprise,
        -- identical segments: the more specific finding type speaks for them
        case finding_type when 'version_regression' then 1 else 2 end as type_rank
    from described
),

repeats as (
    -- a finding nested in (or around) a more surprising one of the same metric, over the
    -- same time, repeats it; so does an incident that began with a release (below)
    select
        weaker.finding_type,
        weaker.segment,
        weaker.metric,
        weaker.started_at,
        stronger.segment as stronger_segment,
        stronger.metric as stronger_metric,
        stronger.finding_type as stronger_finding_type,
        stronger.started_at as stronger_started_at,
        -- failures and slowness of one incident: the other metric's harm adds to it
        weaker.ended_at is not null and weaker.segment = stronger.segment and weaker.metric <> stronger.metric
            as is_other_metric
    from scored as weaker
    inner join scored as stronger
        on
            not ({{ api_trust.rca_same_finding('weaker', 'stronger', 'started_at') }})
            and (
                (
                    -- both whole-window, or both time-bounded with overlapping windows
                    (weaker.ended_at is null) = (stronger.ended_at is null)
                    and (weaker.ended_at is null or (
                        weaker.started_at < stronger.ended_at and weaker.ended_at > stronger.started_at
                    ))
                    and (
                        -- nested segments of one metric; of a time-bounded finding, failures and
                        -- slowness of one incident are one finding too
                        (
                            (weaker.metric = stronger.metric or weaker.ended_at is not null)
                            and (
                                {{ api_trust.rca_covers('weaker', 'stronger') }}
                                or {{ api_trust.rca_covers('stronger', 'weaker') }}
                            )
                        )
                        -- time-bounded findings have no explain-away: overlapping segments of one
                        -- metric that started within a day of each other are one incident
                        or (
                            weaker.ended_at is not null and weaker.metric = stronger.metric
                            and {{ api_trust.rca_overlaps('weaker', 'stronger') }}
                            and abs({{ api_trust.seconds_between('weaker.started_at', 'stronger.started_at') }})
                            <= 86400
                        )
                    )
                )
                -- an incident of a release's calls (a segment nested in or around the version's)
                -- on its metric that began when the release did repeats the version regression,
                -- its cause: a cutover makes the whole API slower from that day, and both found it
                or (
                    stronger.finding_type = 'version_regression' and weaker.finding_type = 'incident'
                    and weaker.metric = stronger.metric
                    and (
                        {{ api_trust.rca_covers('weaker', 'stronger') }}
                        or {{ api_trust.rca_covers('stronger', 'weaker') }}
                    )
                    and abs({{ api_trust.seconds_between('weaker.started_at', 'stronger.started_at') }}) <= 86400
                )
            )
            and (
                stronger.type_rank < weaker.type_rank
                or (stronger.type_rank = weaker.type_rank and stronger.surprise > weaker.surprise)
                or (
                    stronger.type_rank = weaker.type_rank and stronger.surprise = weaker.surprise
                    and stronger.segment < weaker.segment
                )
            )

    union all

    -- a whole-window finding confined to an incident's days repeats the incident
    -- (int_rca_findings_dated)
    select
        finding_type,
        segment,
        metric,
        started_at,
        confined_to_segment as stronger_segment,
        confined_to_metric as stronger_metric,
        'incident' as stronger_finding_type,
        confined_to_started_at as stronger_started_at,
        false as is_other_metric
    from scored
    where confined_to_segment is not null
),

absorbed as (
    -- the other metric of an incident kept under this one (its excess is harm of its own)
    select
        repeats.stronger_finding_type,
        repeats.stronger_segment,
        repeats.stronger_metric,
        repeats.stronger_started_at,
        sum(scored.excess_failures) as excess_failures,
        sum(scored.excess_slow_calls) as excess_slow_calls,
        sum(scored.impact) as impact
    from repeats
    inner join scored
        on
            {{ api_trust.rca_same_finding('repeats', 'scored', 'started_at') }}
    where repeats.is_other_metric
    group by
        repeats.stronger_finding_type, repeats.stronger_segment, repeats.stronger_metric, repeats.stronger_started_at
),

unrepeated as (
    select
        {{ api_trust.star_except('scored', ['impact', 'excess_failures', 'excess_slow_calls']) }},
        scored.impact + coalesce(absorbed.impact, 0) as impact,
        scored.excess_failures + coalesce(absorbed.excess_failures, 0) as excess_failures,
        scored.excess_slow_calls + coalesce(absorbed.excess_slow_calls, 0) as excess_slow_calls
    from scored
    left join absorbed
        on
            scored.finding_type = absorbed.stronger_finding_type
            and scored.segment = absorbed.stronger_segment
            and scored.metric = absorbed.stronger_metric
            and scored.started_at is not distinct from absorbed.stronger_started_at
    where not exists (
            select 1 as is_repeat from repeats
            where
                {{ api_trust.rca_same_finding('repeats', 'scored', 'started_at') }}
        )
),

related as (
    -- the five strongest segments each finding speaks for, and how many more
    select
        repeats.stronger_segment,
        repeats.stronger_metric,
        {{ api_trust.ordered_string_agg(
            "case when repeats.related_rank <= 5 then repeats.segment end", '; ', 'repeats.related_rank'
        ) }}
        || case when count(*) > 5 then ' and ' || cast(count(*) - 5 as string) || ' more' else '' end
            as related_segments
    from (
        select
            distinct_repeats.*,
            row_number() over (
                partition by distinct_repeats.stronger_segment, distinct_repeats.stronger_metric
                order by distinct_repeats.impact desc, distinct_repeats.segment asc
            ) as related_rank
        from (
            select distinct
                repeats.stronger_segment,
                repeats.stronger_metric,
                repeats.segment,
                scored.impact
            from repeats
            inner join scored
                on
                    {{ api_trust.rca_same_finding('repeats', 'scored', 'started_at') }}
            -- the same segment under another finding type is not another segment
            where repeats.segment <> repeats.stronger_segment
        ) as distinct_repeats
    ) as repeats
    group by repeats.stronger_segment, repeats.stronger_metric
),

final as (
    select
        unrepeated.*,
        related.related_segments as repeated_segments
    from unrepeated
    left join related
        on
            unrepeated.segment = related.stronger_segment
            and unrepeated.metric = related.stronger_metric
)

select * from final
