{#
    The explain-away's starting state (doc rca_method): the segments and
    metrics Benjamini-Hochberg calls significant over every test before
    explain-away, with more failures (or slow calls) than expected. Folding
    raises expectations, so no other segment can become significant in a
    later round; each round (int_rca_explain_round_<r>) rescores these.
#}
{%- set base = api_trust.rca_explain_base_columns() -%}
{%- set p_value = api_trust.rca_explain_scores().p_value -%}

with

by_metric as (
    select * from {{ ref('int_rca_segments_measured') }}
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

scored as (
    select
        tests.*,
        {{ p_value }} as p_value
    from tests
),

adjusted as (
    {{ api_trust.bh_q_values('scored') }}
),

cutoff as (
    -- the p-value Benjamini-Hochberg would accept up to before explain-away
    select
        coalesce(max(case when q_value <= {{ var('rca_fdr_q') }} then p_value end), 0) as p_cutoff
    from adjusted
),

final as (
    select
        {%- for column in base %}
            scored.{{ column }},
        {%- endfor %}
        scored.current_expected,
        false as is_accepted,
        cast(null as integer) as accepted_round
    from scored
    cross join cutoff
    where scored.p_value <= cutoff.p_cutoff and scored.observed > scored.expected
)

select * from final
