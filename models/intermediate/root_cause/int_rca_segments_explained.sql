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
    The rounds are models (int_rca_explain_round_0 to _4, macro
    rca_explain_round); this model takes the last round's state.
#}
{%- set dims = api_trust.rca_dimensions() -%}
{%- set base = api_trust.rca_explain_base_columns() -%}
{%- set scores = api_trust.rca_explain_scores() -%}
{%- set llr, z, lift_lower, p_value = scores.llr, scores.z, scores.lift_lower, scores.p_value -%}

with

by_metric as (
    select * from {{ ref('int_rca_segments_measured') }}
),

last_round as (
    select * from {{ ref('int_rca_explain_round_4') }}
),

tests as (
    select
        {%- for column in base %}
            {{ column }},
        {%- endfor %}
        expected as current_expected
    from by_metric
    where is_in_test_family
),

explained as (
    select
        {%- for column in base %}
            tests.{{ column }},
        {%- endfor %}
        coalesce(state.current_expected, tests.expected) as current_expected,
        coalesce(state.is_accepted, false) as is_accepted,
        state.accepted_round
    from tests
    left join last_round as state
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
