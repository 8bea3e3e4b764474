{#
    What to fix first (doc rca_findings): every candidate that passed the one
    Benjamini-Hochberg pass and the effect-size floor, with the reason carrying
    its excess, the day it started when it is new, no finding repeating its
    parent or child, at most rca_max_findings_per_api per API, ranked by impact
    (projected from its start when new), routed and advised by seed
    rca_playbook, and flagged when acknowledged (seed rca_acknowledged_findings).
#}
{#- the dimension columns of this mart, as its yml (the contract) marks them (meta.dimension);
    other analysis dimensions are in `segment` only, and one that vars.analysis_dimensions
    leaves out is null (a team whose logs have no client ids drops client_id from the list) #}
{%- set wide = [] -%}
{%- for name, column in model.columns.items() if (column.meta or {}).get('dimension') -%}
    {%- do wide.append(name) -%}
{%- endfor -%}

with

unrepeated as (
    select * from {{ ref('int_rca_findings_unrepeated') }}
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
        -- one row per hotspot and dimension it names (a cross join reads chronic once; a
        -- select per dimension read it once each, and Spark plans each read anew)
        select
            finding_type,
            segment,
            metric,
            carried_reason,
            shared_value
        from (
            select
                hotspot.finding_type,
                hotspot.segment,
                hotspot.metric,
                coalesce(hotspot.carried_reason, '') as carried_reason,
                case dimensions.dimension_no
                    {%- for dim in api_trust.rca_dimensions() %}
                        when {{ loop.index }}
                            then replace(hotspot.padded, ', {{ dim }}=' || hotspot.{{ dim }} || ',', ', {{ dim }}=*,')
                    {%- endfor %}
                end as shared_value
            from (
                select
                    *,
                    ', ' || segment || ',' as padded
                from chronic
            ) as hotspot
            cross join (
                {%- for dim in api_trust.rca_dimensions() %}
                    select {{ loop.index }} as dimension_no
                    {{- ' union all' if not loop.last }}
                {%- endfor %}
            ) as dimensions
        ) as dimension_patterns
        -- a dimension the hotspot leaves open shares nothing
        where shared_value is not null
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
            {{ api_trust.rca_same_finding('unrepeated', 'common_causes') }}
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

capped as (
    select
        *,
        -- a finding across APIs whose excess one API's calls mostly carry is that API's
        -- owner's to act on (a document type failing on one OCR API only)
        case
            when api_name is null and api_share_of_excess > {{ var('rca_owner_api_share') }}
                then carrying_api_name
        end as owning_api_name
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
        -- without a reason that carries the excess: what the finding counts
        '{error_reason}', coalesce(
            capped.carried_reason,
            case when capped.metric = 'slow_call_share' then 'slow calls' else 'failures' end
        )) as recommendation,
        nullif(concat_ws('; ', capped.sibling_segments, capped.repeated_segments), '') as related_segments
    from capped
    left join advised
        on
            {{ api_trust.rca_same_finding('capped', 'advised', 'started_at') }}
            and advised.rule_rank = 1
    left join apis
        on apis.api_name = coalesce(capped.api_name, capped.owning_api_name)
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
            {{ 'identified.' ~ dim if dim in api_trust.rca_dimensions() else 'cast(null as string) as ' ~ dim }},
        {%- endfor %}
        identified.owner_team,
        identified.owning_api_name as carrying_api_name,
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
            when identified.owning_api_name is not null
                then ' ' || identified.owning_api_name || '''s calls carry '
                    || {{ api_trust.fmt_pct('identified.api_share_of_excess', 0) }} || ' of the excess.'
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
        -- a rate; a count of calls (a traffic drop) as seen and as expected, where a rate per
        -- call would read 1 against 11, or nothing for a window without calls
        case when identified.metric = 'calls' then cast(identified.observed as double)
            else {{ api_trust.safe_rate('identified.observed', 'identified.calls') }}
        end as segment_value,
        case when identified.metric = 'calls' then cast(identified.expected as double)
            else {{ api_trust.safe_rate('identified.expected', 'identified.calls') }}
        end as baseline_value,
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
        cast(case when identified.owning_api_name is not null then identified.api_share_of_excess end as double)
            as carrying_api_share,
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
