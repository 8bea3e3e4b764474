{#
    The SLO alert rules replayed every 5 minutes over the history (doc
    slo_alerting): per API and evaluation step, eligible and bad calls and the
    burn rate over each rule window ending at the step, and which rules and
    severities fire. Only steps that can fire are evaluated: every rule needs
    a bad call in its short window, so steps more than the longest short
    window after a bad call cannot fire and are left out.
#}
{%- set rules = var('slo_alert_rules') -%}
{%- set long_windows = rules | map(attribute='long_window_minutes') | list -%}
{%- set short_windows = rules | map(attribute='short_window_minutes') | list -%}
{%- set windows = (long_windows + short_windows) | unique | sort -%}
{%- set longest_short = rules | map(attribute='short_window_minutes') | max -%}
{%- set z = var('slo_alert_bound_z') -%}
{%- set severities = rules | map(attribute='severity') | unique | list -%}
{#- each rule's condition and each severity's, as SQL text (doc slo_alerting) -#}
{%- set rule_conditions = [] -%}
{%- for rule in rules -%}
    {%- set long = rule.long_window_minutes -%}
    {%- set short = rule.short_window_minutes -%}
    {%- set allowed = rule.budget_share ~ ' * slo_period_days * 1440 / ' ~ long ~ ' * (1 - availability_target)' -%}
    {%- set long_bad = 'bad_calls_' ~ long ~ 'm' -%}
    {%- set long_bad = api_trust.poisson_lower_bound(long_bad, z) if z > 0 else long_bad -%}
    {%- do rule_conditions.append({
        'rule': rule.rule,
        'sql': long_bad ~ ' >= ' ~ allowed ~ ' * eligible_calls_' ~ long ~ 'm and eligible_calls_' ~ long ~ 'm > 0'
            ~ ' and bad_calls_' ~ long ~ 'm >= ' ~ var('slo_alert_min_bad_calls')
            ~ ' and bad_calls_' ~ short ~ 'm >= ' ~ allowed ~ ' * eligible_calls_' ~ short ~ 'm'
            ~ ' and eligible_calls_' ~ short ~ 'm > 0'
    }) -%}
{%- endfor -%}
{%- set severity_conditions = [] -%}
{%- for severity in severities -%}
    {%- set columns = [] -%}
    {%- for rule in rules if rule.severity == severity -%}
        {%- do columns.append('is_' ~ rule.rule ~ '_firing') -%}
    {%- endfor -%}
    {%- do severity_conditions.append({'severity': severity, 'sql': columns | join(' or ')}) -%}
{%- endfor -%}

with

buckets as (
    select * from {{ ref('int_rca_calls_bucketed') }}
),

slos as (
    select * from {{ ref('int_api_slos_resolved') }}
),

steps as (
    select
        api_name,
        {{ api_trust.time_step_number('bucket_at', 5) }} as step_no,
        -- auth failures never reached the service: not eligible
        sum(case when coalesce(failure_class, '') <> 'auth' then calls else 0 end) as eligible_calls,
        sum(case
            when failure_class in {{ api_trust.sql_list(var('availability_failure_classes')) }} then calls else 0
        end) as bad_calls
    from buckets
    group by api_name, {{ api_trust.time_step_number('bucket_at', 5) }}
),

last_step as (
    select max(step_no) as step_no from steps
),

-- Only APIs with a bad call can fire, and only up to the longest short window after their
-- last one: their steps made dense, so every window is a difference of running totals.
spans as (
    select
        steps.api_name,
        min(steps.step_no) as first_step_no,
        least(max(steps.step_no) + {{ longest_short // 5 - 1 }}, max(last_step.step_no)) as last_step_no
    from steps
    cross join last_step
    group by steps.api_name
    having sum(steps.bad_calls) > 0
),

dense_steps as (
    select
        api_name,
        {{ api_trust.integer_range('first_step_no', 'last_step_no') }} as step_no
    from spans
),

series as (
    select
        dense_steps.api_name,
        dense_steps.step_no,
        coalesce(steps.eligible_calls, 0) as eligible_calls,
        coalesce(steps.bad_calls, 0) as bad_calls
    from dense_steps
    left join steps
        on
            dense_steps.api_name = steps.api_name
            and dense_steps.step_no = steps.step_no
),

running as (
    select
        *,
        sum(eligible_calls) over step_order as running_eligible_calls,
        sum(bad_calls) over step_order as running_bad_calls
    from series
    window step_order as (partition by api_name order by step_no rows unbounded preceding)
),

windowed as (
    select
        {%- for minutes in windows %}
            running_eligible_calls - coalesce(lag(running_eligible_calls, {{ minutes // 5 }}) over step_order, 0)
                as eligible_calls_{{ minutes }}m,
            running_bad_calls - coalesce(lag(running_bad_calls, {{ minutes // 5 }}) over step_order, 0)
                as bad_calls_{{ minutes }}m,
        {%- endfor %}
        api_name,
        step_no
    from running
    window step_order as (partition by api_name order by step_no)
),

evaluated as (
    select
        windowed.*,
        slos.availability_target,
        slos.slo_period_days
    from windowed
    inner join slos
        on windowed.api_name = slos.api_name
    -- a step can fire only with a bad call in its longest short window
    where windowed.bad_calls_{{ longest_short }}m > 0
),

rules_applied as (
    select
        {%- for condition in rule_conditions %}
            coalesce({{ condition.sql }}, false) as is_{{ condition.rule }}_firing,
        {%- endfor %}
        *
    from evaluated
),

final as (
    select
        -- strings
        api_name,

        -- numbers
        step_no,
        availability_target,
        slo_period_days,
        {%- for minutes in windows %}
            cast(eligible_calls_{{ minutes }}m as bigint) as eligible_calls_{{ minutes }}m,
            cast(bad_calls_{{ minutes }}m as bigint) as bad_calls_{{ minutes }}m,
            {{ api_trust.safe_rate(
                api_trust.safe_rate('bad_calls_' ~ minutes ~ 'm', 'eligible_calls_' ~ minutes ~ 'm'),
                '(1 - availability_target)'
            ) }} as burn_rate_{{ minutes }}m,
        {%- endfor %}

        -- booleans
        {%- for rule in rules %}
            is_{{ rule.rule }}_firing,
        {%- endfor %}
        {%- for condition in severity_conditions %}
            ({{ condition.sql }}) as is_{{ condition.severity }}_alerting,
        {%- endfor %}

        -- timestamps: a step is evaluated at the end of its 5-minute bucket
        {{ api_trust.add_minutes("cast('2000-01-01 00:00:00' as timestamp)", '(step_no + 1) * 5') }} as evaluated_at
    from rules_applied
)

select * from final
