{#
    What to fix first (doc rca_findings): every candidate that passed the one
    Benjamini-Hochberg pass and the effect-size floor, with the reason carrying
    its excess, the day it started when it is new, no finding repeating its
    parent or child, at most rca_max_findings_per_api per API, ranked by impact
    (projected from its start when new), routed and advised by seed
    rca_playbook, and flagged when acknowledged (seed rca_acknowledged_findings).
#}
{%- set wide = ['api_name', 'api_version', 'region', 'document_type', 'client_type', 'client_id'] -%}
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

playbook as (
    select * from {{ ref('rca_playbook') }}
),

acknowledged as (
    select * from {{ ref('rca_acknowledged_findings') }}
),

apis as (
    select * from {{ ref('dim_apis') }}
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
            candidates.finding_type = dated.finding_type
            and candidates.segment = dated.segment
            and candidates.metric = dated.metric
    left join data_days as seen_days
        on seen_days.called_on = coalesce(dated.first_seen_on, cast(candidates.started_at as date))
    left join attributed
        on
            candidates.finding_type = attributed.finding_type
            and candidates.segment = attributed.segment
            and candidates.metric = attributed.metric
            and candidates.started_at is not distinct from attributed.started_at
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
    -- same time, repeats it
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
            -- both whole-window, or both time-bounded with overlapping windows
            (weaker.ended_at is null) = (stronger.ended_at is null)
            and (weaker.ended_at is null or (
                weaker.started_at < stronger.ended_at and weaker.ended_at > stronger.started_at
            ))
            and not (
                weaker.finding_type = stronger.finding_type and weaker.segment = stronger.segment
                and weaker.metric = stronger.metric
                and weaker.started_at is not distinct from stronger.started_at
            )
            and (
                -- nested segments of one metric; of a time-bounded finding, failures and slowness
                -- of one incident are one finding too
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
            repeats.finding_type = scored.finding_type
            and repeats.segment = scored.segment
            and repeats.metric = scored.metric
            and repeats.started_at is not distinct from scored.started_at
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
                repeats.finding_type = scored.finding_type
                and repeats.segment = scored.segment
                and repeats.metric = scored.metric
                and repeats.started_at is not distinct from scored.started_at
        )
),

chronic as (
    -- chronic hotspots (whole window, not new) that may share a cause
    select *
    from unrepeated
    where ended_at is null and not is_new and finding_type in ('failure_segment', 'slow_calls')
),

parents as (
    -- whole-window segments whose q-value passes the one BH pass, whatever their lift: an
    -- effect spread thin over a large segment (an SDK release adding a few points of
    -- missing_field on every API) is real even where its lift is under the floor
    select
        finding_type,
        segment,
        metric,
        {{ api_trust.rca_segment_columns('segment') }}
    from {{ ref('int_rca_candidates_tested') }}
    where
        finding_type in ('failure_segment', 'slow_calls') and ended_at is null
        and q_value <= {{ var('rca_fdr_q') }}
),

shared_values as (
    -- what chronic hotspots may share, and how many hotspots of one type, metric and
    -- carried reason share it: a parent segment above (`parent sdk_version=mobile-sdk-6.0`),
    -- or the hotspot with one of its dimensions left open (`, api_name=*, region=Rural,`:
    -- siblings that differ in one dimension's value)
    select
        *,
        count(*) over (partition by finding_type, metric, carried_reason, shared_value) as holders
    from (
        select
            chronic.finding_type,
            chronic.segment,
            chronic.metric,
            coalesce(chronic.carried_reason, '') as carried_reason,
            'parent ' || parents.segment as shared_value
        from chronic
        inner join parents
            on
                chronic.finding_type = parents.finding_type
                and chronic.metric = parents.metric
                and chronic.segment <> parents.segment
                and {{ api_trust.rca_covers('parents', 'chronic') }}
        union all
        {%- for dim in api_trust.rca_dimensions() %}
            select
                finding_type,
                segment,
                metric,
                coalesce(carried_reason, '') as carried_reason,
                replace(', ' || segment || ',', ', {{ dim }}=' || {{ dim }} || ',', ', {{ dim }}=*,')
                    as shared_value
            from chronic
            where {{ dim }} is not null
            {{- ' union all' if not loop.last }}
        {%- endfor %}
    ) as patterns
),

linked as (
    -- two chronic hotspots of one type, metric and carried reason that share a pattern
    -- (held by two hotspots at least) are linked
    select distinct
        one.finding_type,
        one.metric,
        one.segment,
        other.segment as other_segment
    from shared_values as one
    inner join shared_values as other
        on
            one.finding_type = other.finding_type
            and one.metric = other.metric
            and one.carried_reason = other.carried_reason
            and one.shared_value = other.shared_value
    where one.holders >= 2
),

{#- connected hotspots are one cause: each takes the smallest segment it reaches, in as many
    rounds as rca_group_rounds (a chain longer than that splits into two groups) #}
-- the linter cannot indent the unrolled rounds
-- noqa: disable=LT02
{%- for round in range(var('rca_group_rounds')) %}

reached_{{ round + 1 }} as (
    select
        linked.finding_type,
        linked.metric,
        linked.segment,
        min({{ 'linked.other_segment' if round == 0 else 'reached_' ~ round ~ '.common_cause' }})
            as common_cause
    from linked
    {%- if round > 0 %}
        inner join reached_{{ round }}
            on
                linked.finding_type = reached_{{ round }}.finding_type
                and linked.metric = reached_{{ round }}.metric
                and linked.other_segment = reached_{{ round }}.segment
    {%- endif %}
    group by linked.finding_type, linked.metric, linked.segment
),
{%- endfor %}
-- noqa: enable=LT02

common_causes as (
    select
        finding_type,
        segment,
        metric,
        common_cause
    from reached_{{ var('rca_group_rounds') }}
),

grouped as (
    -- chronic sibling hotspots (one dimension's value differs) with the same reason carrying
    -- their excess, and the hotspots linked to them, are one finding (PAN_OCR and AADHAAR_OCR
    -- in Rural and Tier2, all carried by blurry images; API after API on one SDK release, all
    -- carried by missing_field: one fix each)
    select
        unrepeated.*,
        case
            when common_causes.common_cause is not null
                then unrepeated.finding_type || '|' || unrepeated.metric || '|' || common_causes.common_cause
            else unrepeated.finding_type || '|' || unrepeated.metric || '|' || unrepeated.segment || '|'
                || coalesce(cast(unrepeated.started_at as string), '')
        end as group_key
    from unrepeated
    left join common_causes
        on
            unrepeated.finding_type = common_causes.finding_type
            and unrepeated.segment = common_causes.segment
            and unrepeated.metric = common_causes.metric
            and unrepeated.ended_at is null
            and not unrepeated.is_new
),

members as (
    select
        *,
        row_number() over (partition by group_key order by impact desc, segment asc) as member_rank,
        count(*) over (partition by group_key) as group_size,
        sum(impact) over (partition by group_key) as group_impact,
        sum(excess_failures) over (partition by group_key) as group_excess_failures,
        sum(excess_slow_calls) over (partition by group_key) as group_excess_slow_calls,
        sum(calls) over (partition by group_key) as group_calls,
        sum(observed) over (partition by group_key) as group_observed,
        sum(expected) over (partition by group_key) as group_expected
    from grouped
),

siblings as (
    select
        group_key,
        {{ api_trust.ordered_string_agg(
            "case when member_rank > 1 then segment end", '; ', 'member_rank'
        ) }} as sibling_segments
    from members
    where group_size > 1
    group by group_key
),

kept as (
    select
        {{ api_trust.star_except(
            'members', ['impact', 'excess_failures', 'excess_slow_calls', 'calls', 'observed', 'expected', 'lift']
        ) }},
        members.group_impact as impact,
        members.group_excess_failures as excess_failures,
        members.group_excess_slow_calls as excess_slow_calls,
        members.group_calls as calls,
        members.group_observed as observed,
        members.group_expected as expected,
        {{ api_trust.safe_rate('members.group_observed', 'members.group_expected') }} as lift,
        siblings.sibling_segments,
        row_number() over (
            partition by members.api_name order by members.group_impact desc, members.p_value asc, members.segment asc
        ) as api_rank
    from members
    left join siblings
        on members.group_key = siblings.group_key
    where members.member_rank = 1
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
                    repeats.finding_type = scored.finding_type
                    and repeats.segment = scored.segment
                    and repeats.metric = scored.metric
                    and repeats.started_at is not distinct from scored.started_at
            -- the same segment under another finding type is not another segment
            where repeats.segment <> repeats.stronger_segment
        ) as distinct_repeats
    ) as repeats
    group by repeats.stronger_segment, repeats.stronger_metric
),

capped as (
    select *
    from kept
    where api_name is null or api_rank <= {{ var('rca_max_findings_per_api', 3) }}
),

advised as (
    -- the first playbook rule that fits the finding's type, failure class and dimensions
    select
        capped.finding_type,
        capped.segment,
        capped.metric,
        capped.started_at,
        playbook.owner_team,
        playbook.recommendation,
        {{ api_trust.rca_value_of('capped', 'playbook.dimension') }} as rule_value,
        row_number() over (
            partition by capped.finding_type, capped.segment, capped.metric, capped.started_at
            order by playbook.rule_no
        ) as rule_rank
    from capped
    inner join playbook
        on
            playbook.finding_type in (capped.finding_type, '*')
            and playbook.failure_class in (coalesce(capped.carried_class, '*'), '*')
            and (playbook.dimension = '*' or {{ api_trust.rca_value_of('capped', 'playbook.dimension') }} is not null)
),

identified as (
    select
        capped.*,
        -- a digest spelled in letters (digits 0-9 as g-p): stable across builds, and never
        -- twelve digits in a row that a PII scan would take for an Aadhaar number
        translate(substr(md5(
            capped.finding_type || '|' || capped.segment || '|' || capped.metric || '|'
            || coalesce(cast(capped.started_at as string), '')
        ), 1, 16), '0123456789', 'ghijklmnop') as finding_id,
        coalesce(nullif(advised.owner_team, ''), apis.owner_team, '{{ var("default_owner_team") }}') as owner_team,
        replace(replace(replace(replace(
            coalesce(advised.recommendation, 'Investigate {segment}.'),
            '{segment}', capped.segment
        ),
        '{api_name}', coalesce(capped.api_name, 'the platform')),
        '{value}', coalesce(advised.rule_value, capped.segment)),
        '{error_reason}', coalesce(capped.carried_reason, 'failures')) as recommendation,
        nullif(concat_ws('; ', capped.sibling_segments, related.related_segments), '') as related_segments
    from capped
    left join advised
        on
            capped.finding_type = advised.finding_type
            and capped.segment = advised.segment
            and capped.metric = advised.metric
            and capped.started_at is not distinct from advised.started_at
            and advised.rule_rank = 1
    left join apis
        on capped.api_name = apis.api_name
    left join related
        on
            capped.segment = related.stronger_segment
            and capped.metric = related.stronger_metric
),

final as (
    select
        -- ids
        identified.finding_id,
        cast(row_number() over (
            order by
                case when acknowledged.finding_id is null then 0 else 1 end,
                identified.impact desc, identified.p_value asc, identified.segment asc
        ) as integer) as finding_rank,

        -- strings
        identified.finding_type,
        case
            when identified.finding_type = 'slo_breach' then 'api_health'
            when identified.is_new then 'change'
            else 'hotspot'
        end as finding_tier,
        identified.segment,
        {%- for dim in wide %}
            identified.{{ dim }},
        {%- endfor %}
        identified.owner_team,
        identified.metric,
        identified.carried_reason as dominant_error_reason,
        identified.carried_class as failure_class,
        identified.related_segments,
        identified.evidence
        || case
            when identified.carried_reason is not null and identified.reason_share_of_excess is not null
                then ' The excess is carried by ' || identified.carried_reason || ' ('
                    || {{ api_trust.fmt_pct('least(identified.reason_share_of_excess, 1)', 0) }} || ').'
            else ''
        end
        || case
            when identified.is_new and identified.lift_after is not null
                then ' New since ' || substr(cast(identified.changed_at as string), 1, 10) || ': '
                    || {{ api_trust.fmt_x('identified.lift_before') }} || ' its usual rate before, '
                    || {{ api_trust.fmt_x('identified.lift_after') }} || ' after.'
            else ''
        end
        -- the text above is the top member's; the numbers of a grouped finding are the group's
        || case
            when identified.group_size > 1
                then ' One cause with ' || cast(identified.group_size - 1 as string) || ' linked segment'
                    || case when identified.group_size > 2 then 's' else '' end || ' (related_segments): '
                    || case identified.metric
                        when 'failure_rate'
                            then {{ api_trust.fmt_int('identified.excess_failures') }} || ' excess failures'
                        else {{ api_trust.fmt_int('identified.excess_slow_calls') }} || ' excess slow calls'
                    end || ' in all.'
            else ''
        end as evidence,
        identified.recommendation,

        -- numbers
        {{ api_trust.safe_rate('identified.observed', 'identified.calls') }} as segment_value,
        {{ api_trust.safe_rate('identified.expected', 'identified.calls') }} as baseline_value,
        identified.lift,
        identified.lift_lower,
        cast(round(identified.calls) as bigint) as calls,
        cast(identified.excess_failures as double) as excess_failures,
        cast(identified.excess_slow_calls as double) as excess_slow_calls,
        cast(identified.impact as double) as impact,
        cast(
            identified.impact
            / nullif(sum(case when acknowledged.finding_id is null then identified.impact end) over (), 0)
            as double
        ) as share_of_excess,
        cast(identified.clients_affected as bigint) as clients_affected,
        identified.p_value,
        identified.q_value,

        -- booleans
        identified.is_significant,
        identified.is_new,
        acknowledged.finding_id is not null as is_acknowledged,

        -- timestamps
        identified.changed_at as started_at,
        identified.ended_at
    from identified
    left join acknowledged
        on identified.finding_id = acknowledged.finding_id
)

select * from final
