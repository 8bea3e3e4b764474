{#
    Greedy explain-away across all dimensions (doc rca_method): every tested
    segment, for failures and for slow calls, scored by surprise (binomial
    log-likelihood ratio G, its signed-root z and the one-sided p-value
    exp(-G / inflation), a Chernoff bound valid at any count) and effect size
    (lift's lower bound). Each round accepts the segments that beat every
    overlapping candidate on G, folds their effect into the expected counts of
    every segment they overlap (an iterative-proportional-fitting step: the
    overlap's expectation scaled by the accepted segment's observed/expected),
    and rescores the rest, so a segment that only looked bad because it
    overlaps an accepted one (a client type routed through a failing region,
    the region holding a failing API) is not reported on its own.
    Only segments significant before explain-away are rescored: folding raises
    expectations, so no other segment can become significant.
#}
{%- set dims = api_trust.rca_dimensions() -%}
{%- set rounds = var('rca_explain_rounds', 4) -%}
{%- set scaled = ['observed * scale', 'trials * scale', 'current_expected * scale'] -%}
{%- set llr = api_trust.binomial_llr(scaled[0], scaled[1], scaled[2]) -%}
{%- set z = api_trust.llr_z(scaled[0], scaled[1], scaled[2], 'inflation') -%}
{%- set lift_lower = api_trust.lift_lower(scaled[0], scaled[1], scaled[2], 'inflation') -%}
{%- set p_value = api_trust.llr_p(scaled[0], scaled[1], scaled[2], 'inflation') -%}
{#- Overlap keys when the cube holds no joint segment: condition on all of a candidate's own
    values but one (suffix ''), or on one alone ('_only'). -#}
{%- set conditionings = ['', '_only'] -%}
{%- set base = ['metric', 'segment'] + dims + ['depth', 'records', 'trials', 'observed', 'expected', 'inflation', 'scale'] -%}
{%- set state_columns = base + ['current_expected', 'is_accepted', 'accepted_round'] -%}

-- the rounds unrolled exceed sqlfluff's parse-node limit (its other rules still run on the rest)
with  -- noqa: PRS

cells as (
    select * from {{ ref('int_rca_cells_counted') }}
),

by_metric as (
    -- one row per segment and metric; scale turns weighted counts into effective ones
    {%- for metric, trials, observed, expected in [
        ('failure_rate', 'calls', 'failures', 'expected_failures'),
        ('slow_call_share', 'timed_successes', 'slow_calls', 'expected_slow_calls'),
    ] %}
        select
            '{{ metric }}' as metric,
            segment,
            {%- for dim in dims %}
                {{ dim }},
            {%- endfor %}
            depth,
            records,
            {{ trials }} as trials,
            {{ observed }} as observed,
            {{ expected }} as expected,
            {{ 'inflation * retry_design_effect' if metric == 'failure_rate' else 'inflation' }} as inflation,
            records / calls as scale,
            is_tested
        from cells
        where {{ trials }} > 0
        {%- if loop.first %}
            union all
        {%- endif %}
    {%- endfor %}
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

tests as (
    select
        {%- for column in base %}
            {{ column }},
        {%- endfor %}
        expected as current_expected
    from by_metric
    where is_tested and expected > 0
),

scored_0 as (
    select
        tests.*,
        {{ p_value }} as p_value
    from tests
),

adjusted_0 as (
    {{ api_trust.bh_q_values('scored_0') }}
),

cutoff as (
    -- the p-value Benjamini-Hochberg would accept up to before explain-away
    select
        coalesce(max(case when q_value <= {{ var('rca_fdr_q') }} then p_value end), 0) as p_cutoff,
        count(*) as tests
    from adjusted_0
),

state_0 as (
    select
        {%- for column in base %}
            scored_0.{{ column }},
        {%- endfor %}
        scored_0.current_expected,
        false as is_accepted,
        cast(null as integer) as accepted_round
    from scored_0
    cross join cutoff
    where scored_0.p_value <= cutoff.p_cutoff and scored_0.observed > scored_0.expected
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
                {{ api_trust.rca_segment('state_0', dims | reject('equalto', dim) | list) }} as parent_segment
            from state_0
            where {{ dim }} is not null and depth > 1
            {%- if not loop.last %}
                union all
            {%- endif %}
        {%- endfor %}
    ) as children
    inner join state_0 as parents
        on
            children.metric = parents.metric
            and children.parent_segment = parents.segment
),

{%- for r in range(1, rounds + 1) %}

scored_{{ r }} as (
    select
        {%- for column in state_columns %}
            state.{{ column }},
        {%- endfor %}
        {{ llr }} as llr,
        {{ p_value }} as p_value,
        {{ lift_lower }} as lift_lower
    from state_{{ r - 1 }} as state
),

cutoff_{{ r }} as (
    -- the Benjamini-Hochberg level over every test, as explained segments drop out
    select coalesce(max(case when ranked.p_value <= {{ var('rca_fdr_q') }} * ranked.p_rank / cutoff.tests
        then ranked.p_value end), 0) as p_cutoff
    from (
        select
            p_value,
            row_number() over (order by p_value) as p_rank
        from scored_{{ r }}
    ) as ranked
    cross join cutoff
),

eligible_{{ r }} as (
    select scored_{{ r }}.*
    from scored_{{ r }}
    cross join cutoff_{{ r }} as cutoff
    where
        not scored_{{ r }}.is_accepted
        and scored_{{ r }}.p_value <= cutoff.p_cutoff
        and scored_{{ r }}.lift_lower >= {{ var('rca_min_lift') }}
        and scored_{{ r }}.observed > scored_{{ r }}.current_expected
),

beaten_{{ r }} as (
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
    inner join eligible_{{ r }} as child
        on
            family.metric = child.metric
            and family.child_segment = child.segment
    inner join eligible_{{ r }} as parent
        on
            family.metric = parent.metric
            and family.parent_segment = parent.segment
),

survivors_{{ r }} as (
    select eligible_{{ r }}.*
    from eligible_{{ r }}
    left join beaten_{{ r }}
        on
            eligible_{{ r }}.metric = beaten_{{ r }}.metric
            and eligible_{{ r }}.segment = beaten_{{ r }}.segment
    where beaten_{{ r }}.segment is null
),

outscored_{{ r }} as (
    -- survivors some other overlapping candidate outscores
    select distinct
        survivor.metric,
        survivor.segment
    from survivors_{{ r }} as survivor
    inner join eligible_{{ r }} as rival
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

winners_{{ r }} as (
    -- the best of every group of overlapping candidates
    select survivors_{{ r }}.*
    from survivors_{{ r }}
    left join outscored_{{ r }}
        on
            survivors_{{ r }}.metric = outscored_{{ r }}.metric
            and survivors_{{ r }}.segment = outscored_{{ r }}.segment
    where outscored_{{ r }}.segment is null
),

pairs_{{ r }} as (
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
    from scored_{{ r }} as segment
    inner join winners_{{ r }} as winner
        on
            segment.metric = winner.metric
            and segment.segment <> winner.segment
            and {{ api_trust.rca_overlaps('segment', 'winner') }}
    where not segment.is_accepted
),

overlaps_{{ r }} as (
    -- the share of a segment's expectation inside a winner when the cube holds no joint
    -- segment: P(winner's own values | the segment's own values, or the most telling of them
    -- the cube holds: all but one, or one alone), from their own segments' expectations
    select
        keys.pair_no,
        least(1.0, max(given_both.expected / given_segment.expected)) as share_inside
    from (
        select pair_no, metric, given_both_key as both_key, given_segment_key as segment_key from pairs_{{ r }}
        {%- for dim in dims %}
            {%- set i = loop.index %}
            {%- for suffix in conditionings %}
                union all
                select
                    pair_no,
                    metric,
                    given_both_key{{ suffix }}_{{ i }},
                    given_segment_key{{ suffix }}_{{ i }}
                from pairs_{{ r }}
                where given_both_key{{ suffix }}_{{ i }} is not null
            {%- endfor %}
        {%- endfor %}
    ) as keys
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

folds_{{ r }} as (
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
    from pairs_{{ r }} as pairs
    left join by_metric as joint
        on
            pairs.metric = joint.metric
            and pairs.joint_key = joint.segment
    left join overlaps_{{ r }} as inside
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

state_{{ r }} as (
    select
        {%- for column in base %}
            scored.{{ column }},
        {%- endfor %}
        scored.current_expected + case
            when winner.segment is null then coalesce(folds.added_expected, 0) else 0
        end as current_expected,
        scored.is_accepted or winner.segment is not null as is_accepted,
        coalesce(scored.accepted_round, case when winner.segment is not null then {{ r }} end) as accepted_round
    from scored_{{ r }} as scored
    left join winners_{{ r }} as winner
        on
            scored.metric = winner.metric
            and scored.segment = winner.segment
    left join folds_{{ r }} as folds
        on
            scored.metric = folds.metric
            and scored.segment = folds.segment
),
{%- endfor %}

explained as (
    select
        {%- for column in base %}
            tests.{{ column }},
        {%- endfor %}
        coalesce(state.current_expected, tests.expected) as current_expected,
        coalesce(state.is_accepted, false) as is_accepted,
        state.accepted_round
    from tests
    left join state_{{ rounds }} as state
        on
            tests.metric = state.metric
            and tests.segment = state.segment
),

final as (
    select
        -- strings
        metric,
        segment,
        {%- for dim in dims %}
            {{ dim }},
        {%- endfor %}

        -- numbers
        depth,
        records,
        trials,
        observed,
        current_expected as expected,
        expected as expected_before_explain_away,
        observed - current_expected as excess,
        {{ api_trust.safe_rate('observed', 'current_expected') }} as lift,
        {{ lift_lower }} as lift_lower,
        {{ llr }} as llr,
        {{ z }} as z_score,
        {{ p_value }} as p_value,
        accepted_round,

        -- booleans
        is_accepted
    from explained
)

select * from final
