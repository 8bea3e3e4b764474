-- depends_on: {{ ref('int_rca_leaves_summed') }}
{#
    When did each significant segment finding start (doc rca_method, "new")?
    Its daily observed and expected counts (the API's usual rate per call)
    are split at every day; the split with the largest likelihood ratio of
    "one lift before, another after" against "one lift throughout" is tested
    with overdispersion estimated from the days themselves (day-to-day
    variation is not a change) and Bonferroni over the splits. A finding is
    new when p <= var('rca_change_p') and its lift after is at least
    var('rca_min_lift') times its lift before: it started on that day.
#}
{%- set dims = api_trust.rca_dimensions() -%}
{#- the leaf cube's value counts, read once for the speed choices below #}
{%- set counts = api_trust.rca_dimension_value_counts() -%}
{%- set heavy = api_trust.rca_heaviest_dimension(dims[1:], counts) -%}
{#- the cube's ENUM types, so that the joins to it compare ENUMs (macro rca_typed_dimension_columns) -#}
{%- set types = api_trust.rca_cube_value_types() -%}

with

candidates as (
    select * from {{ ref('int_rca_candidates_tested') }}
    where is_significant and finding_type in ('failure_segment', 'slow_calls')
),

leaves as (
    select * from {{ ref('int_rca_leaves_counted') }}
),

api_rates as (
    select
        api_name,
        (sum(failures) + 0.375) / (sum(calls) + 0.75) as failure_rate,
        (sum(slow_calls) + 0.375) / (sum(timed_successes) + 0.75) as slow_rate
    from leaves
    group by api_name
),

findings as (
    select
        finding_type,
        segment,
        metric,
        expected as finding_expected,
        {{ api_trust.rca_segment_columns('segment') }}
    from candidates
),

typed_findings as (
    -- the findings typed as the cube's columns for the join to it below, which keeps those
    -- whose values are all the cube's (macro rca_typed_dimension_columns)
    select
        findings.finding_type,
        findings.segment,
        findings.metric,
        findings.finding_expected,
        {{ api_trust.rca_typed_dimension_columns('findings', types) }}
    from findings
),

incidents as (
    -- significant time-bounded findings (incidents of an API or of a segment across APIs)
    select
        segment,
        metric,
        started_at,
        ended_at,
        {{ api_trust.rca_segment_columns('segment') }}
    from {{ ref('int_rca_candidates_tested') }}
    where is_significant and ended_at is not null
),

{#- (source, whether its findings name the heavy dimension: none when either) #}
{%- set sources = [('leaves', none)] %}
{%- if heavy is not none %}
    {%- set sources = [('leaves', true), ('light_leaves', false)] %}

light_leaves as (
    -- the day leaves of every finding that does not name the dimension with the most
    -- values: a cross-API finding naming a client type met a sixth of all leaves
    {{ api_trust.rca_light_leaves('leaves', heavy, ['calls', 'failures', 'timed_successes', 'slow_calls'], ['called_on']) }}
),
{%- endif %}

matched as (
    -- each finding's leaves: equi-joins on the API and the first other dimension it names
    {%- for (source, naming_heavy), keys in api_trust.rca_leaf_join_branches('findings', sources, heavy, counts) %}
        select
            findings.finding_type,
            findings.segment,
            findings.metric,
            findings.finding_expected,
            {{ source }}.called_on,
            case when findings.metric = 'failure_rate' then {{ source }}.failures else {{ source }}.slow_calls end
                as observed,
            case
                when findings.metric = 'failure_rate' then {{ source }}.calls * api_rates.failure_rate
                else {{ source }}.timed_successes * api_rates.slow_rate
            end as expected
        from typed_findings as findings
        inner join {{ source }}
            on
                {{ keys }}
                and findings.is_in_cube
                and {{ api_trust.rca_covers('findings', source) }}
        inner join api_rates
            on {{ source }}.api_name = api_rates.api_name
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

daily as (
    select
        finding_type,
        segment,
        metric,
        called_on,
        sum(observed) as observed,
        -- scaled so that the days add up to the finding's own expectation (after explain-away)
        sum(expected) * min(finding_expected) / sum(sum(expected)) over (partition by finding_type, segment, metric)
            as expected
    from matched
    group by finding_type, segment, metric, called_on
),

cumulated as (
    select
        *,
        row_number() over running as day_no,
        sum(observed) over running as observed_before,
        sum(expected) over running as expected_before,
        count(*) over finding as days,  -- noqa: RF04
        min(called_on) over finding as first_called_on,
        sum(observed) over finding as total_observed,
        sum(expected) over finding as total_expected
    from daily
    window
        finding as (partition by finding_type, segment, metric),
        running as (
            partition by finding_type, segment, metric order by called_on
            rows between unbounded preceding and current row
        )
),

splits as (
    select
        *,
        total_observed - observed_before as observed_after,
        total_expected - expected_before as expected_after,
        case when observed_before > 0
                then observed_before * ln(observed_before * total_expected / (expected_before * total_observed))
            else 0
        end
        + case when total_observed - observed_before > 0
                then (total_observed - observed_before)
                    * ln(
                        (total_observed - observed_before) * total_expected
                        / ((total_expected - expected_before) * total_observed)
                    )
            else 0
        end as llr
    from cumulated
    where day_no < days and total_observed > 0
),

best as (
    select *
    from (
        select
            *,
            row_number()
                over (partition by finding_type, segment, metric order by llr desc, called_on asc)
                as split_rank
        from splits
    ) as ranked
    where split_rank = 1
),

dispersion as (
    -- Pearson chi-square of the days around the two-lift model, per degree of freedom
    select
        best.finding_type,
        best.segment,
        best.metric,
        sum(
            power(
                daily.observed - daily.expected * case
                    when daily.called_on <= best.called_on then best.observed_before / best.expected_before
                    else best.observed_after / best.expected_after
                end, 2
            ) / greatest(daily.expected * case
                when daily.called_on <= best.called_on then best.observed_before / best.expected_before
                else best.observed_after / best.expected_after
            end, 0.5)
        ) / greatest(min(best.days) - 2, 1) as dispersion
    from best
    inner join daily
        on
            {{ api_trust.rca_same_finding('best', 'daily') }}
    group by best.finding_type, best.segment, best.metric
),

tested as (
    select
        best.*,
        greatest(dispersion.dispersion, 1) as dispersion,
        least(1.0, (best.days - 1) * {{ api_trust.two_sided_p(
            'sqrt(2 * greatest(best.llr, 0) / greatest(dispersion.dispersion, 1))'
        ) }}) as change_p_value
    from best
    inner join dispersion
        on
            {{ api_trust.rca_same_finding('best', 'dispersion') }}
),

confined as (
    -- a whole-window finding on a segment overlapping an incident's, with no effect worth
    -- reporting outside the incident's days, is that incident seen through a dimension
    -- whose traffic moved with time (an SDK adopted the week a carrier failed); of either
    -- metric: a carrier's failure slows calls and times some out
    select *
    from (
        select
            outside.*,
            row_number() over (
                partition by outside.finding_type, outside.segment, outside.metric
                order by
                    outside.excess_inside desc, outside.incident_metric = outside.metric desc,
                    outside.incident_segment asc, outside.incident_metric asc,
                    -- two incidents of one segment over the same days (a window of hours
                    -- and a run of days) tie on all else: the earlier, never either
                    outside.incident_started_at asc
            ) as incident_rank
        from (
            select
                finding_type,
                segment,
                metric,
                incident_segment,
                incident_metric,
                incident_started_at,
                sum(case when is_inside then observed - expected else 0 end) as excess_inside,
                sum(case when is_inside then 0 else observed end) as observed_outside,
                sum(case when is_inside then 0 else expected end) as expected_outside
            from (
                select
                    daily.*,
                    incidents.segment as incident_segment,
                    incidents.metric as incident_metric,
                    incidents.started_at as incident_started_at,
                    daily.called_on >= cast(incidents.started_at as date)
                    and cast(daily.called_on as timestamp) < incidents.ended_at as is_inside
                from daily
                inner join findings
                    on
                        {{ api_trust.rca_same_finding('daily', 'findings') }}
                inner join incidents
                    on {{ api_trust.rca_overlaps('findings', 'incidents') }}
            ) as days_by_incident
            group by finding_type, segment, metric, incident_segment, incident_metric, incident_started_at
        ) as outside
        where
            outside.excess_inside > 0
            and outside.observed_outside <= {{ var('rca_min_lift') }} * outside.expected_outside
    ) as ranked
    where incident_rank = 1
),

final as (
    select
        -- strings
        tested.finding_type,
        tested.segment,
        tested.metric,
        confined.incident_segment as confined_to_segment,
        confined.incident_metric as confined_to_metric,

        -- numbers
        cast(tested.days as integer) as days,  -- noqa: RF04
        cast(tested.days - tested.day_no as integer) as days_after,
        {{ api_trust.safe_rate('tested.observed_before', 'tested.expected_before') }} as lift_before,
        {{ api_trust.safe_rate('tested.observed_after', 'tested.expected_after') }} as lift_after,
        tested.observed_after - tested.expected_after as excess_after,
        tested.dispersion,
        tested.change_p_value,

        -- booleans
        coalesce(
            tested.change_p_value <= {{ var('rca_change_p') }}
            and tested.observed_after * tested.expected_before
            >= {{ var('rca_min_lift') }} * tested.observed_before * tested.expected_after,
            false
        ) as is_new,

        -- dates
        tested.first_called_on as first_seen_on,

        -- timestamps
        {{ api_trust.add_hours('cast(tested.called_on as timestamp)', 24) }} as changed_at,
        confined.incident_started_at as confined_to_started_at
    from tested
    left join confined
        on
            {{ api_trust.rca_same_finding('tested', 'confined') }}
)

select * from final
