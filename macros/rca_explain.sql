{#
    Greedy explain-away (doc rca_method), one round per model: int_rca_explain_round_0
    holds the segments significant before explain-away, each int_rca_explain_round_<r>
    the state after round r, and int_rca_segments_explained the state after the last.
    One model per round so that every round is planned over a table: Spark copies a
    CTE into every place it is read, and four rounds chained in one query (each
    reading the last some 200 times) never finish planning there.
#}

{# The columns every round's state carries after `metric` and `segment`. #}
{% macro rca_explain_base_columns() -%}
    {{ return(['metric', 'segment'] + api_trust.rca_dimensions() + [
        'depth', 'records', 'trials', 'observed', 'expected', 'inflation', 'scale'
    ]) }}
{%- endmacro %}

{#
    A segment's scores against its current expectation, on effective counts
    (`scale` turns weighted counts into effective ones): the binomial
    log-likelihood ratio G, its signed root z, lift's lower bound and the
    one-sided p-value exp(-G / inflation).
#}
{% macro rca_explain_scores() -%}
    {%- set scaled = ['observed * scale', 'trials * scale', 'current_expected * scale'] -%}
    {{ return({
        'llr': api_trust.binomial_llr(scaled[0], scaled[1], scaled[2]),
        'z': api_trust.llr_z(scaled[0], scaled[1], scaled[2], 'inflation'),
        'lift_lower': api_trust.lift_lower(scaled[0], scaled[1], scaled[2], 'inflation'),
        'p_value': api_trust.llr_p(scaled[0], scaled[1], scaled[2], 'inflation'),
    }) }}
{%- endmacro %}

{#
    Round r of the explain-away: the segments of round r - 1's state rescored,
    the winners of this round accepted, and their effect folded into the
    expectation of every segment they overlap. The whole of a round model.
#}
{% macro rca_explain_round(r) -%}
{%- set dims = api_trust.rca_dimensions() -%}
{%- set scores = api_trust.rca_explain_scores() -%}
{%- set llr, p_value, lift_lower = scores.llr, scores.p_value, scores.lift_lower -%}
{#- Overlap keys when the cube holds no joint segment: condition on all of a candidate's own
    values but one (suffix ''), or on one alone ('_only'). -#}
{%- set conditionings = ['', '_only'] -%}
{%- set base = api_trust.rca_explain_base_columns() -%}
{%- set state_columns = base + ['current_expected', 'is_accepted', 'accepted_round'] -%}

with

by_metric as (
    select * from {{ ref('int_rca_segments_measured') }}
),

previous as (
    select * from {{ ref('int_rca_explain_round_' ~ (r - 1)) }}
),

candidates as (
    -- the segments significant before explain-away: the only ones a round can accept
    select * from {{ ref('int_rca_explain_round_0') }}
),

scopes as (
    -- trials of each API and of the whole traffic, per metric (independence fallback below)
    select
        metric,
        api_name,
        trials
    from by_metric
    where depth = 1 and api_name is not null
    union all
    select
        metric,
        cast(null as string) as api_name,
        sum(trials) as trials
    from by_metric
    where depth = 1 and api_name is not null
    group by metric
),

test_count as (
    -- the Benjamini-Hochberg family: every tested segment and metric
    select count(*) as tests
    from by_metric
    where is_in_test_family
),

family as (
    -- pool segments one dimension apart (parent, child): most rivals are these
    select
        children.metric,
        children.segment as child_segment,
        parents.segment as parent_segment
    from (
        {%- for dim in dims %}
            select
                metric,
                segment,
                {{ api_trust.rca_segment('candidates', dims | reject('equalto', dim) | list) }} as parent_segment
            from candidates
            where {{ dim }} is not null and depth > 1
            {%- if not loop.last %}
                union all
            {%- endif %}
        {%- endfor %}
    ) as children
    inner join candidates as parents
        on
            children.metric = parents.metric
            and children.parent_segment = parents.segment
),

scored as (
    select
        {%- for column in state_columns %}
            state.{{ column }},
        {%- endfor %}
        {{ llr }} as llr,
        {{ p_value }} as p_value,
        {{ lift_lower }} as lift_lower
    from previous as state
),

round_cutoff as (
    -- the Benjamini-Hochberg level over every test, as explained segments drop out
    select coalesce(max(case when ranked.p_value <= {{ var('rca_fdr_q') }} * ranked.p_rank / cutoff.tests
        then ranked.p_value end), 0) as p_cutoff
    from (
        select
            p_value,
            row_number() over (order by p_value) as p_rank
        from scored
    ) as ranked
    cross join test_count as cutoff
),

eligible as (
    select scored.*
    from scored
    cross join round_cutoff as cutoff
    where
        not scored.is_accepted
        and scored.p_value <= cutoff.p_cutoff
        and scored.lift_lower >= {{ var('rca_min_lift') }}
        and scored.observed > scored.current_expected
),

beaten as (
    -- candidates a parent or child outscores (ties: the shorter text)
    select distinct
        family.metric,
        case
            when (
                parent.llr > child.llr
                or (parent.llr = child.llr and length(parent.segment) < length(child.segment))
            ) then child.segment
            else parent.segment
        end as segment
    from family
    inner join eligible as child
        on
            family.metric = child.metric
            and family.child_segment = child.segment
    inner join eligible as parent
        on
            family.metric = parent.metric
            and family.parent_segment = parent.segment
),

survivors as (
    select eligible.*
    from eligible
    left join beaten
        on
            eligible.metric = beaten.metric
            and eligible.segment = beaten.segment
    where beaten.segment is null
),

outscored as (
    -- survivors some other overlapping candidate outscores
    select distinct
        survivor.metric,
        survivor.segment
    from survivors as survivor
    inner join eligible as rival
        on
            survivor.metric = rival.metric
            and survivor.segment <> rival.segment
            and {{ api_trust.rca_overlaps('rival', 'survivor') }}
            and (
                rival.llr > survivor.llr
                or (rival.llr = survivor.llr and length(rival.segment) < length(survivor.segment))
                or (rival.llr = survivor.llr and length(rival.segment) = length(survivor.segment) and rival.segment < survivor.segment)
            )
),

winners as (
    -- the best of every group of overlapping candidates
    select survivors.*
    from survivors
    left join outscored
        on
            survivors.metric = outscored.metric
            and survivors.segment = outscored.segment
    where outscored.segment is null
),

pairs as (
    -- each segment and each winner it overlaps
    select
        row_number() over (order by segment.metric, segment.segment, winner.segment) as pair_no,
        segment.metric,
        segment.segment,
        segment.expected,
        segment.current_expected,
        winner.observed / winner.current_expected - 1 as winner_effect,
        winner.current_expected as winner_expected,
        winner.expected as winner_expected_before,
        winner.trials as winner_trials,
        {{ api_trust.rca_covers('segment', 'winner') }} as holds_winner,
        {{ api_trust.rca_covers('winner', 'segment') }} as is_inside_winner,
        case when segment.api_name = winner.api_name then segment.api_name end as shared_api_name,
        {{ api_trust.rca_union_segment('segment', 'winner') }} as joint_key,
        {{ api_trust.rca_difference_segment('segment', 'winner', also_b=true) }} as given_both_key,
        {{ api_trust.rca_difference_segment('segment', 'winner') }} as given_segment_key
        {%- for dim in dims %}
            {%- set i = loop.index %}
            {%- for suffix in conditionings %},
                case when segment.{{ dim }} is not null and winner.{{ dim }} is null
                    then {{ api_trust.rca_difference_segment(
                        'segment', 'winner', also_b=true,
                        skip=dim if suffix == '' else none, only=dim if suffix == '_only' else none
                    ) }}
                end as given_both_key{{ suffix }}_{{ i }},
                case when segment.{{ dim }} is not null and winner.{{ dim }} is null
                    then {{ api_trust.rca_difference_segment(
                        'segment', 'winner',
                        skip=dim if suffix == '' else none, only=dim if suffix == '_only' else none
                    ) }}
                end as given_segment_key{{ suffix }}_{{ i }}
            {%- endfor %}
        {%- endfor %}
    from scored as segment
    inner join winners as winner
        on
            segment.metric = winner.metric
            and segment.segment <> winner.segment
            and {{ api_trust.rca_overlaps('segment', 'winner') }}
    where not segment.is_accepted
),

conditioning_keys as (
    -- each pair's candidate keys, one row per conditioning: a cross join with the
    -- conditionings reads pairs once (a union of one select per conditioning read it
    -- 1 + 2 x dimensions times, and Spark plans each read anew)
    select
        pairs.pair_no,
        pairs.metric,
        {%- for side in ['both', 'segment'] %}
            case conditionings.conditioning
                when 0 then pairs.given_{{ side }}_key
                {%- for dim in dims %}
                    {%- set i = loop.index %}
                    {%- for suffix in conditionings %}
                        when {{ 2 * i - 1 + loop.index0 }} then pairs.given_{{ side }}_key{{ suffix }}_{{ i }}
                    {%- endfor %}
                {%- endfor %}
            end as {{ side }}_key{{ ',' if loop.first }}
        {%- endfor %}
    from pairs
    cross join (
        {%- for conditioning in range(2 * (dims | length) + 1) %}
            select {{ conditioning }} as conditioning
            {%- if not loop.last %}
                union all
            {%- endif %}
        {%- endfor %}
    ) as conditionings
),

overlap_shares as (
    -- the share of a segment's expectation inside a winner when the cube holds no joint
    -- segment: P(winner's own values | the segment's own values, or the most telling of them
    -- the cube holds: all but one, or one alone), from their own segments' expectations
    select
        keys.pair_no,
        least(1.0, max(given_both.expected / given_segment.expected)) as share_inside
    from conditioning_keys as keys
    inner join by_metric as given_both
        on
            keys.metric = given_both.metric
            and keys.both_key = given_both.segment
    inner join by_metric as given_segment
        on
            keys.metric = given_segment.metric
            and keys.segment_key = given_segment.segment
    where given_segment.expected > 0
    group by keys.pair_no
),

folds as (
    -- expected failures each segment gains from the winners it overlaps (one IPF step each)
    select
        pairs.metric,
        pairs.segment,
        sum(
            pairs.winner_effect * case
                when pairs.holds_winner then pairs.winner_expected
                when pairs.is_inside_winner then pairs.current_expected
                -- the joint segment's own expectation, adjusted as its two sides were (the smaller)
                when joint.segment is not null
                    then joint.expected * least(
                        pairs.current_expected / pairs.expected, pairs.winner_expected / pairs.winner_expected_before
                    )
                when inside.share_inside is not null then pairs.current_expected * inside.share_inside
                else pairs.current_expected * pairs.winner_trials / coalesce(api_scope.trials, total_scope.trials)
            end
        ) as added_expected
    from pairs
    left join by_metric as joint
        on
            pairs.metric = joint.metric
            and pairs.joint_key = joint.segment
    left join overlap_shares as inside
        on pairs.pair_no = inside.pair_no
    left join scopes as api_scope
        on
            pairs.metric = api_scope.metric
            and pairs.shared_api_name = api_scope.api_name
    left join scopes as total_scope
        on
            pairs.metric = total_scope.metric
            and total_scope.api_name is null
    group by pairs.metric, pairs.segment
),

final as (
    select
        {%- for column in base %}
            scored.{{ column }},
        {%- endfor %}
        scored.current_expected + case
            when winner.segment is null then coalesce(folds.added_expected, 0) else 0
        end as current_expected,
        scored.is_accepted or winner.segment is not null as is_accepted,
        coalesce(scored.accepted_round, case when winner.segment is not null then {{ r }} end) as accepted_round
    from scored
    left join winners as winner
        on
            scored.metric = winner.metric
            and scored.segment = winner.segment
    left join folds
        on
            scored.metric = folds.metric
            and scored.segment = folds.segment
)

select * from final
{%- endmacro %}
