{#
    Which SLO alerts would have paged or opened a ticket, and when would they
    have fired and resolved? The multiwindow, multi-burn-rate rules
    (vars.slo_alert_rules, doc slo_alerting) replayed every 5 minutes over the
    history: one row per alert, from the first step a rule of its severity
    holds to the first step none does.
#}
{%- set rules = var('slo_alert_rules') -%}
{%- set severities = rules | map(attribute='severity') | unique | list -%}

with

replayed as (
    select * from {{ ref('int_slo_burn_rates_replayed') }}
),

slos as (
    select * from {{ ref('int_api_slos_resolved') }}
),

buckets as (
    select * from {{ ref('int_rca_calls_bucketed') }}
),

-- the last step of the data (an alert still firing there has not resolved)
last_step as (
    select max({{ api_trust.time_step_number('bucket_at', 5) }}) as step_no from buckets
),

firing as (
    {%- for severity in severities %}
        {%- set severity_rules = rules | selectattr('severity', 'equalto', severity) | list %}
        select
            api_name,
            '{{ severity }}' as severity,
            step_no,
            evaluated_at,
            {%- for rule in rules %}
                {{ 'is_' ~ rule.rule ~ '_firing' if rule.severity == severity else 'false' }}
                    as is_{{ rule.rule }}_firing,
            {%- endfor %}
            {%- set burn_rates, bad_calls = [], [] %}
            {%- for rule in severity_rules %}
                {%- set firing = 'case when is_' ~ rule.rule ~ '_firing then ' %}
                {%- do burn_rates.append(firing ~ 'burn_rate_' ~ rule.long_window_minutes ~ 'm end') %}
                {%- do bad_calls.append(firing ~ 'bad_calls_' ~ rule.long_window_minutes ~ 'm end') %}
            {%- endfor %}
            {{ api_trust.greatest_of(burn_rates) }} as burn_rate,
            {{ api_trust.greatest_of(bad_calls) }} as bad_calls,
            step_no - row_number() over (partition by api_name order by step_no) as episode
        from replayed
        where is_{{ severity }}_alerting
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

episodes as (
    select
        api_name,
        severity,
        episode,
        min(step_no) as first_step_no,
        max(step_no) as last_step_no,
        count(*) as steps,
        min(evaluated_at) as fired_at,
        max(evaluated_at) as last_firing_at,
        max(burn_rate) as peak_burn_rate,
        max(bad_calls) as peak_bad_calls,
        concat_ws(
            ', ',
            {%- for rule in rules %}
                case when max(case when is_{{ rule.rule }}_firing then 1 else 0 end) = 1 then '{{ rule.rule }}' end
                {{- ',' if not loop.last }}
            {%- endfor %}
        ) as rules_fired
    from firing
    group by api_name, severity, episode
),

final as (
    select
        -- ids
        episodes.api_name || '#' || episodes.severity || '#' || cast(episodes.first_step_no as string) as alert_id,

        -- strings
        episodes.api_name,
        slos.owner_team,
        episodes.severity,
        episodes.rules_fired,

        -- numbers
        cast(episodes.steps * 5 as bigint) as firing_minutes,
        episodes.peak_burn_rate,
        cast(episodes.peak_bad_calls as bigint) as peak_bad_calls,
        slos.availability_target,
        slos.slo_period_days,

        -- booleans
        episodes.last_step_no = last_step.step_no as is_firing_at_end,

        -- timestamps
        episodes.fired_at,
        case
            when episodes.last_step_no < last_step.step_no
                then {{ api_trust.add_minutes('episodes.last_firing_at', 5) }}
        end as resolved_at
    from episodes
    inner join slos
        on episodes.api_name = slos.api_name
    cross join last_step
)

select * from final
